"""Aggregation-v2 in module form: ``aggregation_v2.env(scenario=..., **overrides)``."""

from __future__ import annotations

from .envs.aggregation import AggregationEnv


def env(scenario="medium_traffic", render_mode=None, **overrides) -> AggregationEnv:
    return AggregationEnv(scenario, render_mode=render_mode, **overrides)


__all__ = ["env", "AggregationEnv"]
