"""A trained MaskablePPO behind the policy interface: the greedy action among those the env's mask allows."""

from __future__ import annotations

import numpy as np
from sb3_contrib import MaskablePPO

from agents.sb3_training import trained_policy

from .config import MaskablePPOConfig


class MaskablePPOPolicy:
    name = "maskable_ppo"
    reset_options = None

    def __init__(self, env, policy):
        self.env, self.policy = env, policy

    @classmethod
    def load(cls, env, weights: dict, cfg: MaskablePPOConfig) -> MaskablePPOPolicy:
        """The policy of a checkpoint: ``weights`` as saved in its model.pt, ``cfg`` from its meta.json."""
        return cls(env, trained_policy(MaskablePPO, env.observation_space, env.action_space, cfg, weights))

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observation: dict) -> int:
        mask = np.asarray(observation["action_mask"], bool)
        if not mask.any():  # nothing to reassign: the env ignores the action
            return 0
        action, _ = self.policy.predict(observation, action_masks=mask, deterministic=True)
        return int(action)
