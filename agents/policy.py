"""The one small interface every agent and baseline implements.

``policy.act(observations) -> actions`` takes the dict an environment returned (PettingZoo: agent ->
observation; Gymnasium: one observation) and returns what its ``step`` takes. ``reset(seed)`` starts an
episode. Policies that need more than the observation (shortest-path baselines read the topology,
as the papers' baselines do) are constructed with the environment.
"""

from __future__ import annotations

from typing import Any, Protocol


class Policy(Protocol):
    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, observations: Any) -> Any: ...
