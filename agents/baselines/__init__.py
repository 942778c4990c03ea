"""Baselines behind the one policy interface of ``agents.policy``."""

from .offload_routing import (
    OFFLOAD_ROUTING_BASELINES,
    CongestionAwarePolicy,
    RandomPolicy,
    ShortestPathPolicy,
    bisect_ratio,
    make_offload_routing_baseline,
    routes_to_csat,
)

__all__ = ["OFFLOAD_ROUTING_BASELINES", "CongestionAwarePolicy", "RandomPolicy", "ShortestPathPolicy",
           "bisect_ratio", "make_offload_routing_baseline", "routes_to_csat"]
