"""A trained MaskablePPO behind the policy interface: the greedy action among those the env's mask allows, or
(``mode="sampled"``) a draw from the policy's distribution over them, seeded by ``reset(seed)``."""

from __future__ import annotations

import numpy as np
from sb3_contrib import MaskablePPO

from agents.policy import masked_actions
from agents.sb3_training import trained_policy

from .config import MaskablePPOConfig


class MaskablePPOPolicy:
    name = "maskable_ppo"
    reset_options = None

    def __init__(self, env, policy, mode: str = "greedy"):
        self.env, self.policy, self.mode = env, policy, mode
        self.rng = np.random.default_rng(0)

    @classmethod
    def load(cls, env, weights: dict, cfg: MaskablePPOConfig, mode: str = "greedy") -> MaskablePPOPolicy:
        """The policy of a checkpoint: ``weights`` as saved in its model.pt, ``cfg`` from its meta.json."""
        return cls(env, trained_policy(MaskablePPO, env.observation_space, env.action_space, cfg, weights), mode)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: dict) -> int:
        mask = np.asarray(observation["action_mask"], bool)
        if not mask.any():  # nothing to reassign: the env ignores the action
            return 0
        if self.mode == "greedy":
            action, _ = self.policy.predict(observation, action_masks=mask, deterministic=True)
            return int(action)
        import torch

        obs, _ = self.policy.obs_to_tensor(observation)
        with torch.no_grad():
            logits = self.policy.get_distribution(obs).distribution.logits.numpy()[0]
        return int(masked_actions(logits, mask, self.mode, self.rng))


def onnx_export(policy: MaskablePPOPolicy):
    """``LearnerSpec.export``: the policy network's logits (its ``MultiInputPolicy`` reads observation and mask)."""
    from agents.sb3_training import SB3Logits

    return SB3Logits(policy.policy, dict_obs=True), "logits"
