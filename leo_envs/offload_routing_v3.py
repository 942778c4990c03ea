"""offload_routing_v3 in PettingZoo's module form: ``parallel_env``, ``raw_env`` and ``env`` (AEC)."""

from __future__ import annotations

from pettingzoo.utils import parallel_to_aec, wrappers

from .envs.offload_routing import OffloadRoutingEnv

raw_env = OffloadRoutingEnv


def parallel_env(scenario="iridium", render_mode=None, **overrides) -> OffloadRoutingEnv:
    return OffloadRoutingEnv(scenario, render_mode=render_mode, **overrides)


def env(scenario="iridium", render_mode=None, **overrides):
    """The AEC form (``parallel_to_aec``) wrapped in PettingZoo's order enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(parallel_to_aec(parallel_env(scenario, render_mode, **overrides)))


__all__ = ["env", "parallel_env", "raw_env"]
