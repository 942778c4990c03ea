"""PPO from stable-baselines3 with SuperSuit parameter sharing on offload_routing_v2 (``train.py
offload_routing ppo_sb3``)."""

from .config import PPOSB3Config

__all__ = ["PPOSB3Config"]
