"""The env registry: one :class:`EnvSpec` per environment, keyed by its name. ``train.py``, ``evaluate.py``,
``benchmarks/leaderboard.py`` and ``benchmarks/calibration.py`` loop over ``SPECS`` or look an env up in it.

Adding an environment: write its package under ``leo_envs/envs/`` (registering its ids), then a module
here defining ``SPEC = EnvSpec(...)`` (constructor, scenarios, primary metric and direction, baselines,
learners, ``run_episode``) and add it to ``SPECS`` below. Nothing else names an env.
"""

from __future__ import annotations

from agents.specs import aggregation, offload_routing
from agents.specs.base import EnvSpec, LearnerSpec

SPECS: dict[str, EnvSpec] = {spec.name: spec for spec in (offload_routing.SPEC, aggregation.SPEC)}


def get_spec(env_name: str) -> EnvSpec:
    """The spec of ``env_name``; ``ValueError`` naming the registered envs otherwise."""
    if env_name not in SPECS:
        raise ValueError(f"env: {env_name!r} is not one of {tuple(SPECS)}")
    return SPECS[env_name]


__all__ = ["SPECS", "EnvSpec", "LearnerSpec", "get_spec"]
