"""Instances of Aggregation-v2: the service cluster at a random time (sgp4, the core's ``Network`` for
line of sight and Shannon capacity), each satellite's module powers, the businesses that arrived at each
satellite, CDSSQ's working set, and every possible transfer's delay and energy."""

from __future__ import annotations

import math

import numpy as np

from ...core import Constellation, Network, PowerModel, PowerState, RadioLink, fifo_finish_times, propagation_delay_s
from ...core.compute import compute_delay_s
from .config import AggregationConfig
from .types import AggregationInstance

REDRAWS = 100  # traffic with no business at all is drawn again (at most this often)


def fits_first_fit_decreasing(items_bits: np.ndarray, room_bits: np.ndarray) -> bool:
    """Whether first-fit decreasing packs every item into the rooms (a sufficient test that the working
    satellites can take every business of the sleeping ones without exceeding C_max)."""
    room = np.array(room_bits, float)
    for size in np.sort(items_bits)[::-1]:
        fit = np.flatnonzero(room >= size)
        if not fit.size:
            return False
        room[fit[0]] -= size
    return True


def cdssq(volume_bits: np.ndarray, bits: np.ndarray, origin: np.ndarray,
          capacity_bits: float) -> tuple[np.ndarray, int]:
    """The paper's Capacity-Driven Sleep Satellite Quantity: V = ceil(total volume / C_max), the V busiest
    satellites work. V grows while the working satellites cannot take the sleeping ones' businesses within
    C_max (first-fit decreasing), so nobody sleeps whom the others cannot cover; V = M: no aggregation.
    Returns the working set and CDSSQ's V before that check."""
    m = len(volume_bits)
    v0 = max(1, math.ceil(volume_bits.sum() / capacity_bits - 1e-12))
    busiest = np.lexsort((np.arange(m), -volume_bits))
    working = np.ones(m, bool)
    for v in range(min(v0, m), m):
        working = np.zeros(m, bool)
        working[busiest[:v]] = True
        room = np.maximum(capacity_bits - volume_bits[working], 0.0)
        if fits_first_fit_decreasing(bits[~working[origin]], room):
            return working, v0
    return np.ones(m, bool), v0


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
        self.m = p * s
        # the control satellite (index M) sits above the middle of the cluster
        constellation = Constellation.from_elements(
            np.append(alts, cfg.control_altitude_km),
            np.full(self.m + 1, cfg.inclination_deg),
            np.append(raan, raan.mean()),
            np.append(anomaly, 0.0),
        )
        link = RadioLink(
            frequency_hz=cfg.isl_frequency_hz, bandwidth_hz=cfg.isl_bandwidth_hz, tx_power_w=cfg.isl_tx_power_w,
            tx_gain_dbi=cfg.isl_antenna_gain_dbi, rx_gain_dbi=cfg.isl_antenna_gain_dbi,
            system_noise_temp_k=cfg.isl_noise_temp_k,
        )
        # every pair may link (line of sight decides); no polar cut-off inside one cluster
        pairs = np.array(np.triu_indices(self.m + 1, 1)).T
        self.network = Network(constellation, isls=pairs, isl_link=link, polar_cutoff_deg=90.0)

    @property
    def constellation(self) -> Constellation:
        return self.network.constellation

    def links(self, t_s: float):
        """(M+1) x (M+1) line of sight, length and capacity at ``t_s``, the control satellite last."""
        snap = self.network.at(t_s)
        n = self.m + 1
        los, dist, cap = np.zeros((n, n), bool), np.zeros((n, n)), np.zeros((n, n))
        a, b = snap.isl_pairs[:, 0], snap.isl_pairs[:, 1]
        for arr, values in ((los, snap.isl_up), (dist, snap.isl_length_m), (cap, snap.isl_capacity_bps)):
            arr[a, b] = arr[b, a] = values
        return snap.sat_position_m, los, dist, cap

    def powers(self, rng: np.random.Generator) -> PowerModel:
        cfg, n = self.cfg, self.m + 1
        return PowerModel(
            p_tx_w=rng.uniform(cfg.p_tx_min_w, cfg.p_tx_max_w, n),
            p_rx_w=rng.uniform(cfg.p_rx_min_w, cfg.p_rx_max_w, n),
            p_comp_w=rng.uniform(cfg.p_comp_min_w, cfg.p_comp_max_w, n),
            p_idle_w=cfg.p_idle_w, p_sleep_w=cfg.p_sleep_w,
        )

    def businesses(self, rng: np.random.Generator):
        cfg, m = self.cfg, self.m
        weight = np.ones(m)
        if cfg.traffic_pattern == "hotspot":
            weight[self.plane == 0] = cfg.hotspot_factor
            weight *= m / weight.sum()
        counts = rng.poisson(cfg.businesses_per_sat * weight)
        origin = np.repeat(np.arange(m), counts)
        bits = rng.uniform(cfg.business_bits_min, cfg.business_bits_max, origin.size)
        deadline = rng.uniform(cfg.deadline_min_s, cfg.deadline_max_s, origin.size)
        return origin, bits, deadline

    def generate(self, rng: np.random.Generator, working_sats: int | None = None) -> AggregationInstance:
        cfg = self.cfg
        t = float(rng.uniform(0.0, cfg.max_start_s))
        power = self.powers(rng)
        for _ in range(REDRAWS):
            origin, bits, deadline = self.businesses(rng)
            if origin.size:
                break
        else:
            raise ValueError(f"businesses_per_sat: {cfg.businesses_per_sat} gave no business in {REDRAWS} draws")
        return self.assemble(t, power, origin, bits, deadline, working_sats)

    def assemble(self, t: float, power: PowerModel, origin, bits, deadline, working_sats=None) -> AggregationInstance:
        """The instance of given businesses and powers at time ``t`` (also for hand-built test cases)."""
        cfg, m = self.cfg, self.m
        origin, bits, deadline = np.asarray(origin, np.int64), np.asarray(bits, float), np.asarray(deadline, float)
        pos, los, dist, cap = self.links(t)
        comp = compute_delay_s(bits, cfg.cycles_per_bit, cfg.cpu_hz)
        own_finish = np.empty_like(comp)
        for j in range(m):  # each satellite runs its own businesses first-in first-out from t = 0
            mine = np.flatnonzero(origin == j)
            own_finish[mine] = fifo_finish_times(np.zeros(mine.size), comp[mine])
        own_load = np.bincount(origin, weights=comp, minlength=m)
        volume = np.bincount(origin, weights=bits, minlength=m)
        if working_sats is None:
            working, v0 = cdssq(volume, bits, origin, cfg.max_volume_bits)
        else:  # the override: the V busiest work, whatever the capacity says
            v0 = int(working_sats)
            working = np.zeros(m, bool)
            working[np.lexsort((np.arange(m), -volume))[:v0]] = True
        transfer = np.flatnonzero(~working[origin])  # businesses of sleeping satellites, in arrival order
        src = origin[transfer]
        ctrl = m
        kbits = bits[transfer][:, None]
        direct = los[src][:, :m]
        relay = ~direct & los[src, ctrl][:, None] & los[ctrl, :m][None, :]
        link = (direct | relay) & working[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            hop1_direct = kbits / cap[src][:, :m]
            hop1_relay = kbits / cap[src, ctrl][:, None]
            hop2_relay = kbits / cap[ctrl, :m][None, :]
        send = np.where(direct, hop1_direct, np.where(relay, hop1_relay, 0.0))
        tx = np.where(direct, hop1_direct, np.where(relay, hop1_relay + hop2_relay, 0.0))
        relay_path = dist[src, ctrl][:, None] + dist[ctrl, :m][None, :]
        path = np.where(direct, dist[src][:, :m], np.where(relay, relay_path, 0.0))
        sender, receiver, control = power.at(src), power.at(np.arange(m)), power.at(ctrl)
        # each hop costs the transmit power of its sender and the receive power of its receiver
        e_direct = (sender.p_tx_w[:, None] + receiver.p_rx_w[None, :]) * hop1_direct
        e_relay = ((sender.p_tx_w[:, None] + control.p_rx_w) * hop1_relay
                   + (control.p_tx_w + receiver.p_rx_w[None, :]) * hop2_relay)
        energy = np.where(direct, e_direct, np.where(relay, e_relay, 0.0))
        comp_k = comp[transfer][:, None]
        extra_comp = receiver.compute_energy_j(comp_k) - sender.compute_energy_j(comp[transfer])[:, None]
        zero = ~link
        send, tx, path, energy = (np.where(zero, 0.0, x) for x in (send, tx, path, energy))
        extra_comp = np.where(zero, 0.0, extra_comp)
        all_sats = power.at(np.arange(m))
        awake = all_sats.state_energy_j(np.full(m, PowerState.IDLE), cfg.sleep_s)
        e_noagg = float(awake.sum() + power.at(origin).compute_energy_j(comp).sum())
        return AggregationInstance(
            t_s=t, sat_position_m=pos[:m], control_position_m=pos[m], power=power, period_s=cfg.sleep_s,
            capacity_bits=cfg.max_volume_bits, bits=bits, deadline_s=deadline, origin=origin, comp_s=comp,
            own_finish_s=own_finish, own_load_s=own_load, volume_bits=volume, working=working, cdssq_v=v0,
            transfer=transfer, link=link, relayed=relay & link, send_s=send, tx_s=tx, prop_s=propagation_delay_s(path),
            distance_m=path, transfer_energy_j=energy, extra_comp_j=extra_comp,
            t_before_s=float(own_load.max()), e_noagg_j=e_noagg,
        )
