"""Service times of offload_routing_v3, in one place (the simulator, the baselines and MADQN use them)."""

from __future__ import annotations

import numpy as np

from ...core.compute import compute_delay_s
from .config import OffloadRoutingConfig


def local_s_per_bit(cfg: OffloadRoutingConfig) -> float:
    """Seconds per bit on an RS-Sat's small model."""
    return float(compute_delay_s(1.0, cfg.small_model_cycles_per_bit, cfg.rs_cpu_hz))


def remote_s_per_bit(cfg: OffloadRoutingConfig) -> float:
    """Seconds per bit on a C-Sat's large model."""
    return float(compute_delay_s(1.0, cfg.large_model_cycles_per_bit, cfg.cs_cpu_hz))


def local_service_s(bits, cfg: OffloadRoutingConfig) -> np.ndarray:
    return compute_delay_s(bits, cfg.small_model_cycles_per_bit, cfg.rs_cpu_hz)


def remote_service_s(bits, cfg: OffloadRoutingConfig) -> np.ndarray:
    return compute_delay_s(bits, cfg.large_model_cycles_per_bit, cfg.cs_cpu_hz)


def transmit_s(bits, capacity_bps: np.ndarray) -> np.ndarray:
    """Transmission time over links of ``capacity_bps``; inf where a link is down (capacity 0)."""
    cap = np.asarray(capacity_bps, float)
    up = cap > 0
    return np.where(up, np.asarray(bits, float) / np.where(up, cap, 1.0), np.inf)


def bundle_to_go_s(bits, hops, s_per_bit_hop: float, fixed_s_hop: float, csat_wait_s: float,
                   cfg: OffloadRoutingConfig) -> np.ndarray:
    """Estimated time a bundle of ``bits`` still needs from a satellite ``hops`` hops from the nearest
    C-Sat: per hop, transmission at ``s_per_bit_hop`` (seconds per bit at a typical link's capacity) plus
    ``fixed_s_hop`` (a typical link's propagation and backlog), then ``csat_wait_s`` of compute backlog and
    the large model's service time. An estimate that the per-agent credit charges for passing work on
    (``rewards.handover_credit``), not a bound."""
    bits = np.asarray(bits, float)
    return np.asarray(hops, float) * (bits * s_per_bit_hop + fixed_s_hop) + csat_wait_s + remote_service_s(bits, cfg)
