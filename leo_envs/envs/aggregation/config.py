"""Scenario of Aggregation-v2: every field with its unit, and the traffic-level presets."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import Items, Range, resolve_scenario, validated


@dataclass(frozen=True)
class AggregationConfig:
    # service layer: a cluster of planes, one altitude each (500-1500 km), under one control satellite
    plane_altitudes_km: tuple = (600.0, 1000.0, 1400.0)  # altitude of each service plane, km
    sats_per_plane: int = 4  # service satellites per plane
    inclination_deg: float = 53.0  # all planes, deg
    plane_spacing_deg: float = 8.0  # RAAN step between planes, deg
    slot_spacing_deg: float = 8.0  # mean-anomaly step between satellites of a plane, deg
    control_altitude_km: float = 2000.0  # control satellite, km
    max_start_s: float = 600.0  # instances are drawn at a random time in [0, this] after the epoch, s
    # traffic
    businesses_per_sat: float = 20.0  # mean businesses arriving per service satellite (Poisson)
    traffic_pattern: str = "uniform"  # "uniform", or "hotspot": one plane gets `hotspot_factor` times more
    hotspot_factor: float = 3.0  # traffic multiplier of the hotspot plane
    business_bits_min: float = 0.4e6  # smallest business, bit (sizes uniform in [min, max])
    business_bits_max: float = 1.2e6  # largest business, bit
    deadline_min_s: float = 0.05  # shortest max tolerable delay, s (uniform in [min, max])
    deadline_max_s: float = 0.25  # longest max tolerable delay, s
    # computing and links
    cpu_hz: float = 3e9  # service satellite CPU, cycles/s
    cycles_per_bit: float = 2.0  # compute demand of the businesses, cycles/bit
    max_volume_bits: float = 26.5e6  # C_max: business volume one satellite can process, bit
    working_sats: int | None = None  # override CDSSQ's V (None: CDSSQ; M: no aggregation)
    isl_frequency_hz: float = 26e9  # ISL carrier, Hz
    isl_bandwidth_hz: float = 300e6  # ISL bandwidth, Hz
    isl_tx_power_w: float = 20.0  # radiated ISL power in the link budget, W
    isl_antenna_gain_dbi: float = 30.0  # each end, dBi
    isl_noise_temp_k: float = 500.0  # receiver system noise temperature, K
    # power of each satellite's modules, drawn per satellite and instance from [min, max] (the paper,
    # section 5.1: transmit 10-50 W, receive 5-25 W, compute 60-415 W); min = max fixes a power
    p_tx_min_w: float = 10.0  # transmitting, lower bound, W
    p_tx_max_w: float = 50.0  # transmitting, upper bound, W
    p_rx_min_w: float = 5.0  # receiving, lower bound, W
    p_rx_max_w: float = 25.0  # receiving, upper bound, W
    p_comp_min_w: float = 60.0  # computing, on top of idle, lower bound, W
    p_comp_max_w: float = 415.0  # computing, on top of idle, upper bound, W
    p_idle_w: float = 120.0  # platform on, every satellite, W
    p_sleep_w: float = 30.0  # compute off, communications on, W
    # accounting period and episode length
    sleep_s: float = 600.0  # T_sleep: the accounting period; a sleeping satellite sleeps from the end of
    #                         its last transfer until it ends, s
    step_limit_factor: float = 2.0  # the episode is truncated after ceil(this x businesses to reassign) steps
    # rewards (highway-env style: named terms, weights here). The return is exactly
    #   edr_weight EDR / edr_scale - deadline_weight violations - invalid_weight masked actions;
    # the delay and energy terms are potential-based shaping that sums to 0 over every episode
    edr_weight: float = 1.0  # at the end: EDR / edr_scale
    edr_scale: float = 1e7  # EDR that the terminal reward counts as 1, J/s
    deadline_weight: float = 0.001  # at the end, per deadline violation (unassigned businesses included)
    invalid_weight: float = 0.1  # per masked action
    delay_weight: float = 1.0  # shaping: potential -(max finish time - t_before) / delay_scale_s
    delay_scale_s: float = 0.01  # scale of the delay potential, s
    energy_weight: float = 1.0  # shaping: potential -(transfer + extra compute energy) / energy_scale_j
    energy_scale_j: float = 10.0  # scale of the energy potential, J
    log_edr_weight: float = 0.0  # per step: the change of log(E / max(dT, 1 ms)) (sums to log EDR - a constant)
    shaping_gamma: float = 1.0  # the shaping pays shaping_gamma phi(s') - phi(s): set a discounting learner's gamma


RANGES: dict[str, Range | Items] = {
    "plane_altitudes_km": Items(Range(300.0, 3000.0)),
    "sats_per_plane": Range(1, 64, integer=True),
    "inclination_deg": Range(0.0, 180.0),
    "plane_spacing_deg": Range(0.0, 60.0),
    "slot_spacing_deg": Range(0.0, 60.0),
    "control_altitude_km": Range(300.0, 40_000.0),
    "max_start_s": Range(0.0, 1e6),
    "businesses_per_sat": Range(0.0, 1e4, low_open=True),
    "traffic_pattern": Range(choices=("uniform", "hotspot")),
    "hotspot_factor": Range(1.0, 100.0),
    "business_bits_min": Range(1.0, 1e12),
    "business_bits_max": Range(1.0, 1e12),
    "deadline_min_s": Range(0.0, 1e6, low_open=True),
    "deadline_max_s": Range(0.0, 1e6, low_open=True),
    "cpu_hz": Range(0.0, 1e13, low_open=True),
    "cycles_per_bit": Range(0.0, 1e6, low_open=True),
    "max_volume_bits": Range(0.0, 1e15, low_open=True),
    "working_sats": Range(1, 10_000, integer=True, optional=True),
    "isl_frequency_hz": Range(1e6, 1e15),
    "isl_bandwidth_hz": Range(1e3, 1e12),
    "isl_tx_power_w": Range(0.0, 1e4, low_open=True),
    "isl_antenna_gain_dbi": Range(-20.0, 80.0),
    "isl_noise_temp_k": Range(1.0, 1e5),
    "p_tx_min_w": Range(0.0, 1e4),
    "p_tx_max_w": Range(0.0, 1e4),
    "p_rx_min_w": Range(0.0, 1e4),
    "p_rx_max_w": Range(0.0, 1e4),
    "p_comp_min_w": Range(0.0, 1e5),
    "p_comp_max_w": Range(0.0, 1e5),
    "p_idle_w": Range(0.0, 1e5),
    "p_sleep_w": Range(0.0, 1e5),
    "sleep_s": Range(0.0, 1e7, low_open=True),
    "step_limit_factor": Range(1.0, 1e3),
    "energy_weight": Range(0.0, 1e6),
    "delay_weight": Range(0.0, 1e6),
    "deadline_weight": Range(0.0, 1e6),
    "invalid_weight": Range(0.0, 1e6),
    "edr_weight": Range(0.0, 1e6),
    "log_edr_weight": Range(0.0, 1e6),
    "shaping_gamma": Range(0.0, 1.0),
    "energy_scale_j": Range(0.0, 1e12, low_open=True),
    "delay_scale_s": Range(0.0, 1e6, low_open=True),
    "edr_scale": Range(0.0, 1e15, low_open=True),
}

SCENARIOS: dict[str, AggregationConfig] = {
    "low_traffic": AggregationConfig(businesses_per_sat=10.0),
    "medium_traffic": AggregationConfig(businesses_per_sat=20.0),
    "high_traffic": AggregationConfig(businesses_per_sat=30.0),
    # small instances (about 15-30 businesses to reassign, V >= 2 working satellites to choose from) on
    # which milp_optimal gives the exact optimum in seconds
    "sparse_traffic": AggregationConfig(businesses_per_sat=2.5, max_volume_bits=10e6),
    "tiny": AggregationConfig(plane_altitudes_km=(700.0, 1200.0), sats_per_plane=2, businesses_per_sat=4.0,
                              max_volume_bits=6e6),
}


def make_config(scenario: str | AggregationConfig, **overrides) -> AggregationConfig:
    """The named scenario (or a config) with ``overrides``, validated: unknown keys or values out of
    range raise ``ValueError`` naming the key, the value and what is allowed."""
    cfg = validated(resolve_scenario(scenario, AggregationConfig, SCENARIOS), RANGES, overrides)
    if cfg.business_bits_min > cfg.business_bits_max:
        raise ValueError(f"business_bits_min: {cfg.business_bits_min} exceeds "
                         f"business_bits_max={cfg.business_bits_max}")
    if cfg.deadline_min_s > cfg.deadline_max_s:
        raise ValueError(f"deadline_min_s: {cfg.deadline_min_s} exceeds deadline_max_s={cfg.deadline_max_s}")
    for name in ("p_tx", "p_rx", "p_comp"):
        lo, hi = getattr(cfg, f"{name}_min_w"), getattr(cfg, f"{name}_max_w")
        if lo > hi:
            raise ValueError(f"{name}_min_w: {lo} exceeds {name}_max_w={hi}")
    if cfg.p_sleep_w > cfg.p_idle_w:
        raise ValueError(f"p_sleep_w: {cfg.p_sleep_w} exceeds p_idle_w={cfg.p_idle_w}")
    m = len(cfg.plane_altitudes_km) * cfg.sats_per_plane
    if m < 2:
        raise ValueError(f"sats_per_plane: {cfg.sats_per_plane} with {len(cfg.plane_altitudes_km)} plane(s) gives "
                         f"{m} service satellite; at least 2 are needed")
    if cfg.working_sats is not None and cfg.working_sats > m:
        raise ValueError(f"working_sats: {cfg.working_sats} is out of range; expected an integer in [1, {m}] "
                         f"(M = {m} service satellites) or None")
    return cfg

