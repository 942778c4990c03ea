"""ppo_rllib: RLlib's PPO on offload_routing_v3, every satellite on one shared policy with action masks
(``agents.rllib_support``), trained by ``train.py offload_routing ppo_rllib``; ``model.pt`` is the torch
state_dict of the RLModule, which ``PPORLlibPolicy`` rebuilds without a Ray runtime. Needs the ``rllib``
extra (``pip install 'leo-envs[rllib]'``)."""

from .config import PPORLlibConfig

__all__ = ["PPORLlibConfig"]
