"""Baselines behind the one policy interface of ``agents.policy``."""

from .aggregation import AGGREGATION_BASELINES, make_aggregation_baseline
from .offload_routing import (
    OFFLOAD_ROUTING_BASELINES,
    CongestionAwarePolicy,
    RandomPolicy,
    ShortestPathPolicy,
    make_offload_routing_baseline,
    routes_to_csat,
)

__all__ = [
    "AGGREGATION_BASELINES",
    "OFFLOAD_ROUTING_BASELINES",
    "CongestionAwarePolicy",
    "RandomPolicy",
    "ShortestPathPolicy",
    "make_aggregation_baseline",
    "make_offload_routing_baseline",
    "routes_to_csat",
]
