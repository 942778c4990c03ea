"""The one small interface every agent and baseline implements.

``policy.act(observations) -> actions`` takes the dict an environment returned (PettingZoo: agent ->
observation; Gymnasium: one observation) and returns what its ``step`` takes. ``reset(seed)`` starts an
episode. Policies that need more than the observation (shortest-path baselines read the topology,
as the papers' baselines do) are constructed with the environment.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

EVAL_MODES = ("greedy", "sampled")
"""How a trained stochastic policy acts at evaluation: its most likely allowed action, or a draw from its
distribution over the allowed actions (how SB3's ``predict(deterministic=False)`` and RLlib's exploring
evaluation play)."""


class Policy(Protocol):
    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, observations: Any) -> Any: ...


def masked_actions(logits: np.ndarray, allowed: np.ndarray, mode: str, rng: np.random.Generator | None = None
                   ) -> np.ndarray:
    """Actions from ``logits`` (..., A) among the ``allowed`` ones (bool, same shape): the largest allowed
    logit (``"greedy"``) or a draw from the softmax over the allowed logits (``"sampled"``, Gumbel-max with
    ``rng``, so a seeded generator replays the same draws). A row with nothing allowed gets action 0."""
    if mode not in EVAL_MODES:
        raise ValueError(f"mode: {mode!r} is not one of {EVAL_MODES}")
    z = np.where(allowed, np.asarray(logits, np.float64), -np.inf)
    if mode == "sampled":
        if rng is None:
            raise ValueError("mode: 'sampled' needs a random generator (rng)")
        z = z + rng.gumbel(size=z.shape)
    return np.where(allowed.any(axis=-1), z.argmax(axis=-1), 0)


def stacked_observations(observations: dict) -> tuple[list, np.ndarray, np.ndarray]:
    """A PettingZoo observation dict (agent -> {"observation", "action_mask"}) as its agents, in order, and their
    rows stacked: observations (N, D) and masks (N, A)."""
    agents = list(observations)
    obs = np.stack([observations[a]["observation"] for a in agents])
    mask = np.stack([observations[a]["action_mask"] for a in agents])
    return agents, obs, mask
