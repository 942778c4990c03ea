"""Service times of offload_routing_v1, in one place (the simulator, the baselines and MADQN use them)."""

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
