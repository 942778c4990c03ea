"""Instances of Aggregation-v0: the service cluster at a random time, the businesses that arrived at
each satellite, CDSSQ's working set, and every transfer's delay and energy (core geometry + link budget)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core import (
    EARTH_RADIUS_M,
    GRAZING_ALTITUDE_M,
    Constellation,
    RadioLink,
    propagation_delay_s,
    segment_clearance_m,
)
from .config import AggregationConfig

REDRAWS = 100  # an instance with nothing to reassign is drawn again (at most this often)


@dataclass
class AggregationInstance:
    """One aggregation problem. M service satellites, B businesses, K of them to reassign."""

    t_s: float
    sat_position_m: np.ndarray  # (M, 3) ECEF
    control_position_m: np.ndarray  # (3,)
    bits: np.ndarray  # (B,)
    deadline_s: np.ndarray  # (B,) maximum tolerable delay
    origin: np.ndarray  # (B,) satellite the business arrived at
    own_finish_s: np.ndarray  # (B,) FIFO finish time at its own satellite
    own_load_s: np.ndarray  # (M,) compute time of each satellite's own businesses
    volume_bits: np.ndarray  # (M,)
    working: np.ndarray  # (M,) bool: CDSSQ's (or the override's) working set
    transfer: np.ndarray  # (K,) business indices to reassign, in order
    tx_s: np.ndarray  # (K, M) transmission time to each satellite (hop by hop)
    prop_s: np.ndarray  # (K, M) propagation delay
    energy_j: np.ndarray  # (K, M) transmit energy of the transfer
    comp_s: np.ndarray  # (K, M) compute time at each satellite
    distance_m: np.ndarray  # (K, M) path length
    feasible: np.ndarray  # (K, M) bool: a working satellite reachable directly or via the control satellite
    t_before_s: float  # max delay without aggregation
    e_noagg_j: float  # energy of all satellites over T_sleep without aggregation
    savings_j: float  # (P_idle - P_sleep) T_sleep summed over the sleeping satellites

    @property
    def num_sats(self) -> int:
        return len(self.working)


class InstanceGenerator:
    def __init__(self, cfg: AggregationConfig):
        self.cfg = cfg
        p = len(cfg.plane_altitudes_km)
        s = cfg.sats_per_plane
        plane = np.repeat(np.arange(p), s)
        slot = np.tile(np.arange(s), p)
        alts = np.array(cfg.plane_altitudes_km)[plane]
        raan = plane * cfg.plane_spacing_deg
        anomaly = (slot - (s - 1) / 2) * cfg.slot_spacing_deg + (plane - (p - 1) / 2) * 0.5 * cfg.slot_spacing_deg
        self.plane = plane
        # the control satellite sits above the middle of the cluster
        self.constellation = Constellation.from_elements(
            np.append(alts, cfg.control_altitude_km),
            np.full(p * s + 1, cfg.inclination_deg),
            np.append(raan, raan.mean()),
            np.append(anomaly, 0.0),
        )
        self.m = p * s
        self.link = RadioLink(
            frequency_hz=cfg.isl_frequency_hz, bandwidth_hz=cfg.isl_bandwidth_hz, tx_power_w=cfg.isl_tx_power_w,
            tx_gain_dbi=cfg.isl_antenna_gain_dbi, rx_gain_dbi=cfg.isl_antenna_gain_dbi,
            system_noise_temp_k=cfg.isl_noise_temp_k,
        )
        self.grazing_m = EARTH_RADIUS_M + GRAZING_ALTITUDE_M

    def _links(self, pos: np.ndarray):
        """Pairwise (M+1)x(M+1) line of sight, length and capacity, the control satellite last."""
        a = pos[:, None, :]
        b = pos[None, :, :]
        a_full, b_full = np.broadcast_arrays(a, b)
        dist = np.linalg.norm(b - a, axis=-1)
        los = segment_clearance_m(a_full, b_full) > self.grazing_m
        np.fill_diagonal(los, False)
        cap = np.where(los, self.link.capacity_bps(np.where(los, dist, 1.0)), 0.0)
        return los, dist, cap

    def businesses(self, rng: np.random.Generator):
        cfg, m = self.cfg, self.m
        weight = np.ones(m)
        if cfg.traffic_pattern == "hotspot":
            weight[self.plane == 0] = cfg.hotspot_factor
            weight *= m / weight.sum()
        counts = rng.poisson(cfg.businesses_per_sat * weight)
        b = int(counts.sum())
        origin = np.repeat(np.arange(m), counts)
        bits = rng.uniform(cfg.business_bits_min, cfg.business_bits_max, b)
        deadline = rng.uniform(cfg.deadline_min_s, cfg.deadline_max_s, b)
        return origin, bits, deadline

    def generate(self, rng: np.random.Generator, working_sats: int | str | None = None) -> AggregationInstance:
        cfg = self.cfg
        t = float(rng.uniform(0.0, cfg.max_start_s))
        pos = self.constellation.positions_ecef(np.array([t]))[0]
        los, dist, cap = self._links(pos)
        for _ in range(REDRAWS):
            origin, bits, deadline = self.businesses(rng)
            inst = self._assemble(t, pos, los, dist, cap, origin, bits, deadline, working_sats)
            if inst.transfer.size or working_sats == "all":
                return inst
        raise ValueError(f"businesses_per_sat: {cfg.businesses_per_sat} left nothing to reassign in {REDRAWS} draws")

    def _assemble(self, t, pos, los, dist, cap, origin, bits, deadline, working_sats) -> AggregationInstance:
        cfg, m = self.cfg, self.m
        per_bit = cfg.cycles_per_bit / cfg.cpu_hz
        comp = bits * per_bit
        # FIFO at the origin: finish = cumulative compute of the businesses before it, plus its own
        order = np.argsort(origin, kind="stable")
        csum = np.cumsum(comp[order])
        first = np.searchsorted(origin[order], origin[order], side="left")
        own_finish = np.empty_like(comp)
        own_finish[order] = csum - np.where(first > 0, csum[first - 1], 0.0)
        own_load = np.bincount(origin, weights=comp, minlength=m)
        volume = np.bincount(origin, weights=bits, minlength=m)
        # CDSSQ: V = ceil(volume / C_max), the V busiest satellites work
        if working_sats == "all":
            v = m
        elif working_sats is not None:
            v = int(working_sats)
        else:
            v = int(np.clip(math.ceil(volume.sum() / cfg.max_volume_bits), 1, m - 1))
        busiest = np.lexsort((np.arange(m), -volume))
        working = np.zeros(m, bool)
        working[busiest[:v]] = True
        transfer = np.flatnonzero(~working[origin])  # businesses of sleeping satellites, in arrival order
        src = origin[transfer]
        ctrl = m
        # direct link where there is line of sight, else relayed through the control satellite
        direct = los[src][:, :m]
        relay = los[src, ctrl][:, None] & los[ctrl, :m][None, :]
        kbits = bits[transfer][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            tx_direct = kbits / cap[src][:, :m]
            tx_relay = kbits / cap[src, ctrl][:, None] + kbits / cap[ctrl, :m][None, :]
        tx = np.where(direct, tx_direct, np.where(relay, tx_relay, np.inf))
        path = np.where(direct, dist[src][:, :m], dist[src, ctrl][:, None] + dist[ctrl, :m][None, :])
        feasible = (direct | relay) & working[None, :]
        tx = np.where(feasible, tx, 0.0)
        path = np.where(feasible, path, 0.0)
        energy = cfg.p_tx_w * tx  # the sender (and the relay) transmit for the whole transmission time
        comp_k = np.repeat(comp[transfer][:, None], m, axis=1) * feasible
        e_noagg = float(m * cfg.p_idle_w * cfg.sleep_s + cfg.p_comp_w * own_load.sum())
        return AggregationInstance(
            t_s=t, sat_position_m=pos[:m], control_position_m=pos[m], bits=bits, deadline_s=deadline,
            origin=origin, own_finish_s=own_finish, own_load_s=own_load, volume_bits=volume, working=working,
            transfer=transfer, tx_s=tx, prop_s=propagation_delay_s(path), energy_j=energy, comp_s=comp_k,
            distance_m=path, feasible=feasible, t_before_s=float(own_load.max()) if m else 0.0,
            e_noagg_j=e_noagg, savings_j=float((m - v) * (cfg.p_idle_w - cfg.p_sleep_w) * cfg.sleep_s),
        )
