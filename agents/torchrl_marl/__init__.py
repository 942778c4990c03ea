"""MAPPO, IPPO and QMIX on offload_routing_v2 with TorchRL's own losses (``ClipPPOLoss``, ``QMixerLoss``) and
BenchMARL 1.5.2's hyper-parameters (docs/marl_harness.md), on the native env ``agents.torchrl_env``.

Every satellite shares one policy network (parameter sharing), the reward is the team's, the env's action masks
are honoured when acting and in the losses, and satellites with nothing to decide (hold only) add no gradient.
``config`` holds the three configs, ``modules`` the networks, ``ppo`` and ``qmix`` the training loops, ``run``
what they share (env, logs, snapshots), ``policy`` what ``evaluate.py`` plays.
"""
