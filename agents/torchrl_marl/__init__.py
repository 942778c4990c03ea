"""MAPPO, IPPO and QMIX on offload_routing_v3 with TorchRL's own losses (``ClipPPOLoss``, ``QMixerLoss``),
starting from BenchMARL 1.5.2's hyper-parameters (every change measured in docs/marl_harness.md), on the native
env ``agents.torchrl_env``.

Every satellite shares one policy network (parameter sharing), the credit is the env's ``reward_mode`` (the PPO
learners train on per-satellite "hop" rewards, QMIX's mixer on the team's), the env's action masks
are honoured when acting and in the losses, and satellites with nothing to decide (hold only) add no gradient.
``config`` holds the three configs, ``modules`` the networks, ``ppo`` and ``qmix`` the training loops, ``run``
what they share (env, logs, snapshots), ``policy`` what ``evaluate.py`` plays.
"""
