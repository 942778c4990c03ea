"""The satellites of an offload_routing_v3 episode: the constellation (a preset or TLE sets) and which
satellites carry a large model (C-Sats)."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

from ...core import Constellation
from .config import PRESETS, OffloadRoutingConfig


def build_constellation(cfg: OffloadRoutingConfig) -> Constellation:
    """The preset named by ``cfg.constellation``, or its TLE sets with the layout inferred from them
    (``Constellation.from_tle``). Satellites without a +Grid slot are reported in a ``UserWarning``."""
    if cfg.constellation in PRESETS:
        if cfg.catalog_numbers is not None:
            raise ValueError(f"catalog_numbers: {cfg.catalog_numbers!r} selects satellites of a TLE set; "
                             f"constellation {cfg.constellation!r} is a preset (export it with "
                             f"Constellation.to_tle() to pick satellites from it)")
        return Constellation.from_preset(cfg.constellation)
    c = Constellation.from_tle(cfg.constellation, catalog_numbers=cfg.catalog_numbers,
                               unplaced=cfg.unplaced_satellites)
    if c.unplaced_reasons:
        warnings.warn(f"constellation: {len(c.unplaced_reasons)} of {len(c)} satellites have no +Grid slot and "
                      f"are kept without ISLs (unplaced_satellites='relay'): {_summary(c.unplaced_reasons)}",
                      stacklevel=3)
    if c.left_out:
        warnings.warn(f"constellation: {len(c.left_out)} satellites of the TLE set are left out "
                      f"(unplaced_satellites='drop'): {_summary(c.left_out)}", stacklevel=3)
    if not c.shells:
        raise ValueError(f"constellation: no two satellites of the TLE set share a plane, so there is no +Grid "
                         f"(the env routes over +Grid ISLs); {len(c)} satellites read")
    return c


def _summary(reasons: dict[int, str]) -> str:
    return "; ".join(f"{n} {why}" for why, n in Counter(reasons.values()).most_common())


def csat_mask(constellation: Constellation, cfg: OffloadRoutingConfig) -> np.ndarray:
    """(N,) True for C-Sats: the listed catalog numbers, or every ``csat_every``-th slot of each plane
    from ``csat_offset`` (satellites without a slot are never C-Sats by that rule)."""
    c = constellation
    if cfg.csat_catalog_numbers is not None:
        numbers = c.catalog_numbers
        missing = sorted(set(cfg.csat_catalog_numbers) - set(numbers.tolist()))
        if missing:
            raise ValueError(f"csat_catalog_numbers: {missing[:10]} are not satellites of the constellation "
                             f"({len(missing)} missing; its catalog numbers run {numbers.min()}..{numbers.max()})")
        return np.isin(numbers, cfg.csat_catalog_numbers)
    is_csat = (c.slot >= 0) & (((c.slot - cfg.csat_offset) % cfg.csat_every) == 0)
    if not is_csat.any():
        raise ValueError(f"csat_offset: {cfg.csat_offset} leaves no C-Sat with csat_every={cfg.csat_every}")
    return is_csat
