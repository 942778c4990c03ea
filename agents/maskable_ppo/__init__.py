"""sb3-contrib's MaskablePPO on Aggregation-v2 (``train.py aggregation maskable_ppo``)."""

from .config import MaskablePPOConfig

__all__ = ["MaskablePPOConfig"]
