"""A trained parameter-shared MaskablePPO behind the policy interface: every satellite's observation goes through
the one policy network. ``mode="greedy"`` (the default): each satellite plays the action of highest probability
among those its mask allows; ``mode="sampled"``: each draws from its masked distribution with a generator seeded
by ``reset(seed)`` (evaluate.py resets with the episode's seed: the same episodes, the same draws). A satellite
with nothing to decide (all-zero mask) holds (0), which the env ignores (``agents.policy.masked_actions``)."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import MaskablePPO

from agents.policy import EVAL_MODES, masked_actions, stacked_observations

from .config import PPOSB3Config


def policy_logits(policy, observation: np.ndarray) -> np.ndarray:
    """(N, A) unmasked action logits of the shared policy for (N, obs_dim) observations."""
    with torch.no_grad():
        obs, _ = policy.obs_to_tensor(np.asarray(observation, np.float32))
        return policy.get_distribution(obs).distribution.logits.numpy()


def shared_policy(observation_space: spaces.Box, action_space: spaces.Discrete, cfg: PPOSB3Config, weights: dict):
    """MaskablePPO's ``MlpPolicy`` as ``cfg`` built it, loaded with ``weights["policy"]``, in evaluation mode."""
    policy = MaskablePPO.policy_aliases["MlpPolicy"](observation_space, action_space, lambda _: cfg.lr,
                                                     **cfg.policy_kwargs())
    policy.load_state_dict(weights["policy"])
    policy.set_training_mode(False)
    return policy


class PPOSharedPolicy:
    name = "ppo_sb3"

    def __init__(self, env, policy, mode: str = "greedy"):
        if mode not in EVAL_MODES:
            raise ValueError(f"mode: {mode!r} is not one of {EVAL_MODES}")
        self.env, self.policy, self.mode = env, policy, mode
        self.rng = np.random.default_rng(0)

    @classmethod
    def load(cls, env, weights: dict, cfg: PPOSB3Config, mode: str = "greedy") -> PPOSharedPolicy:
        """The policy of a checkpoint: ``weights`` as saved in its model.pt, ``cfg`` from its meta.json."""
        agent = env.possible_agents[0]
        obs_space = env.observation_space(agent)["observation"]
        return cls(env, shared_policy(obs_space, env.action_space(agent), cfg, weights), mode)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act_arrays(self, observation: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(N,) actions for (N, obs_dim) observations and (N, A) env masks (the env's ``step_arrays`` path)."""
        return masked_actions(policy_logits(self.policy, observation), np.asarray(mask).astype(bool), self.mode,
                              self.rng)

    def act(self, observations: dict) -> dict:
        if not observations:
            return {}
        agents, obs, mask = stacked_observations(observations)
        return dict(zip(agents, self.act_arrays(obs, mask).tolist()))


def onnx_export(policy: PPOSharedPolicy) -> tuple[torch.nn.Module, str]:
    """``LearnerSpec.export``: the shared policy network's logits (its ``MlpPolicy`` reads the observation alone)."""
    from agents.sb3_training import SB3Logits

    return SB3Logits(policy.policy, dict_obs=False), "logits"
