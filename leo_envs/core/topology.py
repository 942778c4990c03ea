"""Inter-satellite-link topology (+Grid) and the geometry that decides whether a link can close."""

from __future__ import annotations

import numpy as np

from .constants import EARTH_RADIUS_M, GRAZING_ALTITUDE_M


def plus_grid_pairs(
    plane: np.ndarray, slot: np.ndarray, num_planes: int, sats_per_plane: int, pattern: str, phasing: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """+Grid links: each satellite to its two intra-plane neighbours and to the same slot in the two
    adjacent planes. Returns ``pairs`` (E, 2) with i < j and ``inter`` (E,) marking inter-plane links.

    In a delta pattern the last plane closes the ring to the first, where the Walker phasing shifts the
    nearest neighbour by ``phasing`` slots; a star pattern has a seam there (counter-rotating planes) and
    gets no links across it. Satellites with ``slot`` -1 (unplaced) get no links; an empty slot leaves
    its neighbours' links towards it out.
    """
    if num_planes < 1 or sats_per_plane < 1:
        raise ValueError("isls: 'plus_grid' needs a Walker constellation (plane/slot layout); pass an (E, 2) array")
    index = np.full((num_planes, sats_per_plane), -1, dtype=np.int64)
    placed = slot >= 0
    index[plane[placed], slot[placed]] = np.flatnonzero(placed)
    p, s = np.meshgrid(np.arange(num_planes), np.arange(sats_per_plane), indexing="ij")
    intra = np.stack([index[p, s], index[p, (s + 1) % sats_per_plane]], axis=-1).reshape(-1, 2)
    inter_parts = [np.stack([index[p[:-1], s[:-1]], index[p[:-1] + 1, s[:-1]]], axis=-1).reshape(-1, 2)]
    if pattern == "delta" and num_planes > 1:
        last = np.arange(sats_per_plane)
        inter_parts.append(np.stack([index[-1, last], index[0, (last + phasing) % sats_per_plane]], axis=-1))
    inter = np.concatenate(inter_parts)
    pairs = np.concatenate([intra, inter])
    kind = np.concatenate([np.zeros(len(intra), bool), np.ones(len(inter), bool)])
    pairs = np.sort(pairs, axis=1)
    keep = (pairs[:, 0] != pairs[:, 1]) & (pairs[:, 0] >= 0)  # -1: an empty slot (a hole) has no links
    pairs, kind = pairs[keep], kind[keep]
    _, first = np.unique(pairs, axis=0, return_index=True)
    first = np.sort(first)
    return pairs[first], kind[first]


def plus_grid(constellation) -> tuple[np.ndarray, np.ndarray]:
    """+Grid of every Walker shell of ``constellation`` (no links between shells)."""
    c = constellation
    if not c.shells:
        raise ValueError("isls: 'plus_grid' needs a Walker constellation (plane/slot layout); pass an (E, 2) array")
    pairs, inter = [], []
    for k, sh in enumerate(c.shells):
        idx = np.flatnonzero(c.shell == k)
        p, x = plus_grid_pairs(c.local_plane[idx], c.slot[idx], sh.planes, sh.sats_per_plane, sh.pattern, sh.phasing)
        pairs.append(idx[p])
        inter.append(x)
    return np.concatenate(pairs), np.concatenate(inter)


def grazing_limit_m(r1_m, r2_m, grazing_altitude_m: float = GRAZING_ALTITUDE_M) -> np.ndarray:
    """Longest line of sight between points at geocentric radii r1 and r2 that clears the Earth
    plus ``grazing_altitude_m`` (the line is tangent to that sphere)."""
    rg = EARTH_RADIUS_M + grazing_altitude_m
    r1 = np.asarray(r1_m, float)
    r2 = np.asarray(r2_m, float)
    return np.sqrt(np.maximum(r1**2 - rg**2, 0.0)) + np.sqrt(np.maximum(r2**2 - rg**2, 0.0))


def segment_clearance_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest distance from the Earth's centre to the segments a-b, each (..., 3) metres."""
    d = b - a
    dd = np.einsum("...i,...i->...", d, d)
    t = np.clip(-np.einsum("...i,...i->...", a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    closest = a + t[..., None] * d
    return np.linalg.norm(closest, axis=-1)


def elevation_deg(ground_ecef: np.ndarray, up: np.ndarray, sat_ecef: np.ndarray) -> np.ndarray:
    """Elevation (G, N) of satellites (N, 3) seen from ground points (G, 3) with local up vectors (G, 3)."""
    d = sat_ecef[None, :, :] - ground_ecef[:, None, :]
    rng = np.linalg.norm(d, axis=-1)
    sin_el = np.einsum("gnk,gk->gn", d, up) / rng
    return np.rad2deg(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
