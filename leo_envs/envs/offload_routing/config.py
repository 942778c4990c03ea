"""Scenario of offload_routing_v3: every field with its unit, and the named presets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ...config import Items, Range, resolve_scenario, validated
from ...core import CONSTELLATION_PRESETS, SHELL_PRESETS
from ...core.constellation import UNPLACED_CHOICES
from ...core.tle import parse_tle, read_tle_source

PRESETS = tuple(sorted(CONSTELLATION_PRESETS) + sorted(SHELL_PRESETS))


@dataclass(frozen=True)
class OffloadRoutingConfig:
    constellation: str = "iridium"  # a preset (PRESETS), or TLE sets: a path to a file or the text itself
    catalog_numbers: tuple[int, ...] | None = None  # TLE: keep only these NORAD catalog numbers; None: all
    unplaced_satellites: str = "relay"  # TLE satellites without a +Grid slot: "relay" (kept, no ISLs) or "drop"
    csat_every: int = 4  # every k-th slot of each plane carries a large model (C-Sat); others are RS-Sats
    csat_offset: int = 0  # slot index of the first C-Sat in each plane
    csat_catalog_numbers: tuple[int, ...] | None = None  # C-Sats by catalog number instead of every k-th slot
    dt_s: float = 0.05  # decision slot, s
    max_cycles: int = 1200  # slots per episode (truncation)
    topology_dt_s: float = 1.0  # refresh period of positions, link lengths and capacities, s
    start_time_s: float | None = None  # episode start after the constellation epoch, s; None: random in an orbit
    task_rate_hz: float = 0.65  # Poisson task arrivals per RS-Sat, tasks/s
    task_bits: float = 20e6  # task input size D, bit
    task_bits_spread: float = 0.0  # sizes drawn uniformly in D * (1 +- spread)
    ratio_levels: int = 11  # local share rho takes L levels 0, 1/(L-1), ..., 1
    rs_cpu_hz: float = 1e9  # RS-Sat processor, cycles/s
    small_model_cycles_per_bit: float = 50.0  # small on-board model, cycles/bit
    cs_cpu_hz: float = 20e9  # C-Sat processor, cycles/s
    large_model_cycles_per_bit: float = 300.0  # large model, cycles/bit
    isl_frequency_hz: float = 26e9  # ISL carrier, Hz
    isl_bandwidth_hz: float = 40e6  # ISL bandwidth, Hz
    isl_tx_power_w: float = 1.5  # ISL transmit power, W
    isl_antenna_gain_dbi: float = 33.0  # each end, dBi
    isl_noise_temp_k: float = 500.0  # receiver system noise temperature, K
    polar_cutoff_deg: float = 75.0  # inter-plane ISLs off above this |latitude|, deg
    buffer_bits: float = 400e6  # per-satellite queue limit (waiting + outgoing), bit
    ttl_s: float = 10.0  # a task not finished this long after arrival is dropped, s
    drop_penalty_s: float = 10.0  # cost of a dropped task on top of its TTL, s (a drop costs ttl_s + this)
    isl_mtbf_s: float | None = None  # mean time between failures of one ISL, s; None: no random ISL failures
    isl_mttr_s: float = 60.0  # mean time to repair an ISL, s
    sat_mtbf_s: float | None = None  # mean time between failures of one satellite, s; None: none
    sat_mttr_s: float = 600.0  # mean time to repair a satellite, s
    reward_mode: str = "team"  # "team": every agent the team reward; "hop": per-agent credit with hand-overs
    utilization_window_s: float = 10.0  # ISL utilisation is measured over windows of this length, s


@dataclass(frozen=True)
class ConstellationSource:
    """What ``constellation`` accepts: a preset name, or TLE sets (a path as ``str`` or ``os.PathLike``,
    kept as a ``str``; or the text). The TLE sets are read and checked here, so a bad file fails at once."""

    presets: tuple[str, ...] = PRESETS

    def describe(self) -> str:
        return f"one of {self.presets}, a path to a TLE file, or TLE text"

    def check(self, name: str, value: Any) -> str:
        if isinstance(value, str) and value in self.presets:
            return value
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
        try:
            parse_tle(read_tle_source(value))
        except ValueError as exc:
            raise ValueError(f"{name}: {str(value)[:80]!r} is not a preset (one of {self.presets}) and not "
                             f"readable TLE sets: {exc}") from None
        return os.fspath(value)


CATALOG_NUMBERS = Items(Range(1, 339_999, integer=True), optional=True, distinct=True)
RANGES: dict[str, Range | Items | ConstellationSource] = {
    "constellation": ConstellationSource(),
    "catalog_numbers": CATALOG_NUMBERS,
    "unplaced_satellites": Range(choices=UNPLACED_CHOICES),
    "csat_catalog_numbers": CATALOG_NUMBERS,
    "csat_every": Range(1, 1000, integer=True),
    "csat_offset": Range(0, 1000, integer=True),
    "dt_s": Range(0.0, 60.0, low_open=True),
    "max_cycles": Range(1, 10_000_000, integer=True),
    "topology_dt_s": Range(0.0, 3600.0, low_open=True),
    "start_time_s": Range(0.0, 1e9, optional=True),
    "task_rate_hz": Range(0.0, 1e3),
    "task_bits": Range(0.0, 1e12, low_open=True),
    "task_bits_spread": Range(0.0, 0.99),
    "ratio_levels": Range(2, 101, integer=True),
    "rs_cpu_hz": Range(0.0, 1e13, low_open=True),
    "small_model_cycles_per_bit": Range(0.0, 1e9, low_open=True),
    "cs_cpu_hz": Range(0.0, 1e13, low_open=True),
    "large_model_cycles_per_bit": Range(0.0, 1e9, low_open=True),
    "isl_frequency_hz": Range(1e6, 1e15),
    "isl_bandwidth_hz": Range(1e3, 1e12),
    "isl_tx_power_w": Range(0.0, 1e4, low_open=True),
    "isl_antenna_gain_dbi": Range(-20.0, 80.0),
    "isl_noise_temp_k": Range(1.0, 1e5),
    "polar_cutoff_deg": Range(0.0, 90.0, low_open=True),
    "buffer_bits": Range(0.0, 1e15, low_open=True),
    "ttl_s": Range(0.0, 1e6, low_open=True),
    "drop_penalty_s": Range(0.0, 1e6),
    "isl_mtbf_s": Range(0.0, 1e12, low_open=True, optional=True),
    "isl_mttr_s": Range(0.0, 1e9, low_open=True),
    "sat_mtbf_s": Range(0.0, 1e12, low_open=True, optional=True),
    "sat_mttr_s": Range(0.0, 1e9, low_open=True),
    "reward_mode": Range(choices=("hop", "team")),
    "utilization_window_s": Range(0.0, 1e6, low_open=True),
}

SCENARIOS: dict[str, OffloadRoutingConfig] = {
    "tiny": OffloadRoutingConfig(constellation="tiny", csat_every=3, max_cycles=800),
    "iridium": OffloadRoutingConfig(),
    # scale test: a third of the slots carry large models; 1056 RS-Sats sensing at a lighter rate each
    # (158 tasks/s in all, five times Iridium's) keep the mega-constellation out of saturation
    "starlink_shell1": OffloadRoutingConfig(constellation="starlink_shell1", csat_every=3, task_rate_hz=0.15,
                                            max_cycles=600),
}


def make_config(scenario: str | OffloadRoutingConfig, **overrides) -> OffloadRoutingConfig:
    """The named scenario (or a config) with ``overrides``, validated: unknown keys or values out of
    range raise ``ValueError`` naming the key, the value and what is allowed."""
    return validated(resolve_scenario(scenario, OffloadRoutingConfig, SCENARIOS), RANGES, overrides)
