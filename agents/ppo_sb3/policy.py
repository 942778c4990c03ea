"""A trained parameter-shared PPO behind the policy interface: every satellite's observation goes through
the one policy network, and each plays its greedy action among those its mask allows."""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3 import PPO

from agents.sb3_training import trained_policy

from .config import PPOSB3Config

HOLD = 0  # what an agent with an all-zero mask (nothing to decide) plays; the env ignores it


def masked_greedy(policy, observation: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the action of highest probability among the allowed ones (``HOLD`` where none is)."""
    with torch.no_grad():
        obs, _ = policy.obs_to_tensor({"observation": observation, "action_mask": mask})
        logits = policy.get_distribution(obs).distribution.logits.numpy()
    allowed = mask.astype(bool)
    actions = np.where(allowed, logits, -np.inf).argmax(axis=1)
    return np.where(allowed.any(axis=1), actions, HOLD)


class PPOSharedPolicy:
    name = "ppo_sb3"

    def __init__(self, env, policy):
        self.env, self.policy = env, policy

    @classmethod
    def load(cls, env, weights: dict, cfg: PPOSB3Config) -> PPOSharedPolicy:
        """The policy of a checkpoint: ``weights`` as saved in its model.pt, ``cfg`` from its meta.json."""
        agent = env.possible_agents[0]
        return cls(env, trained_policy(PPO, env.observation_space(agent), env.action_space(agent), cfg, weights))

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: dict) -> dict:
        agents = list(observations)
        if not agents:
            return {}
        obs = np.stack([observations[a]["observation"] for a in agents])
        mask = np.stack([observations[a]["action_mask"] for a in agents])
        return dict(zip(agents, masked_greedy(self.policy, obs, mask).tolist()))
