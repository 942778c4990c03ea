"""sb3-contrib's MaskablePPO with parameter sharing on offload_routing_v3 (``train.py offload_routing ppo_sb3``):
one policy for every satellite, each satellite a row of a native SB3 vector env
(``agents.sb3_offload_vec_env``) whose ``action_masks()`` MaskablePPO samples from; rows with nothing to decide
allow hold only and give no policy gradient. (``agents.supersuit_sb3`` is the unmasked SuperSuit path.)"""

from .config import PPOSB3Config

__all__ = ["PPOSB3Config"]
