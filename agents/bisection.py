"""Online bisection of the offload ratio: the local share rho at which the local part and the offloaded
part of a task are expected to finish together (shared by MADQN and the congestion-aware baseline)."""

from __future__ import annotations

import numpy as np


def bisect_ratio(local_finish, offload_finish, count: int, iterations: int = 30) -> np.ndarray:
    """Local shares rho in [0, 1] (a batch of ``count``) where ``local_finish(rho) == offload_finish(rho)``.

    Both callables map (count,) ratios to (count,) finish times; the local finish grows with rho and the
    offloaded one shrinks, so bisection converges; rho ends at 0 or 1 when one side wins outright.
    """
    lo, hi = np.zeros(count), np.ones(count)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        local_slower = local_finish(mid) > offload_finish(mid)
        hi = np.where(local_slower, mid, hi)
        lo = np.where(local_slower, lo, mid)
    return 0.5 * (lo + hi)


def best_level(rho: np.ndarray, levels: int, finish) -> np.ndarray:
    """Of the two discrete levels around each continuous ``rho``, the one with the earlier expected
    ``finish(level_rho)`` (a (K,) -> (K,) callable); returns level ratios in [0, 1]."""
    lo = np.floor(np.asarray(rho) * (levels - 1) + 1e-9) / (levels - 1)
    hi = np.minimum(lo + 1.0 / (levels - 1), 1.0)
    return np.where(finish(lo) <= finish(hi), lo, hi)


def ratio_level(rho: np.ndarray, levels: int) -> np.ndarray:
    """Index of the nearest of the env's discrete levels 0, 1/(L-1), ..., 1."""
    return np.clip(np.rint(np.asarray(rho) * (levels - 1)), 0, levels - 1).astype(np.int64)
