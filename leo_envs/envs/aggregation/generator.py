"""Instances of Aggregation-v2: the service cluster at a random time (sgp4, the core's ``Network`` for
line of sight and Shannon capacity), each satellite's module powers, the businesses that arrived at each
satellite, CDSSQ's working set, and every possible transfer's delay and energy."""

from __future__ import annotations

import math

import numpy as np
from gymnasium.utils import seeding

from ...core import Constellation, Network, RadioLink, propagation_delay_s
from ...core.compute import compute_delay_s
from .batch import prefix_sum
from .config import AggregationConfig
from .types import AggregationInstance, InstanceArrays

REDRAWS = 100  # traffic with no business at all is drawn again (at most this often)


def fits_first_fit_decreasing(items_bits: np.ndarray, room_bits: np.ndarray) -> bool:
    """Whether first-fit decreasing packs every item into the rooms (a sufficient test that the working
    satellites can take every business of the sleeping ones without exceeding C_max). Python floats: a few
    comparisons per item, where numpy would pay its call overhead on arrays of a dozen rooms."""
    room = np.asarray(room_bits, float).tolist()
    for size in sorted(np.asarray(items_bits, float).tolist(), reverse=True):
        for j, left in enumerate(room):
            if left >= size:
                room[j] = left - size
                break
        else:
            return False
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

    def links(self, times_s: np.ndarray):
        """(K, M+1, M+1) line of sight, length and capacity at K times, the control satellite last, and the
        (K, M+1, 3) positions: one sgp4 call for every time."""
        pos = self.network.constellation.positions_ecef(times_s)
        up, length, capacity = self.network.isl_state(pos, np.isfinite(pos).all(axis=-1))
        k, n = len(pos), self.m + 1
        a, b = self.network.isl_pairs[:, 0], self.network.isl_pairs[:, 1]
        los, dist, cap = np.zeros((k, n, n), bool), np.zeros((k, n, n)), np.zeros((k, n, n))
        for arr, values in ((los, up), (dist, length), (cap, capacity)):
            arr[:, a, b] = arr[:, b, a] = values
        return pos, los, dist, cap

    def draw(self, rng: np.random.Generator) -> tuple:
        """One instance's random draws, in order: start time, module powers (transmit, receive, compute of the
        M service satellites and the control satellite), then the businesses (origins, sizes, deadlines)."""
        cfg, m, n = self.cfg, self.m, self.m + 1
        t = float(rng.uniform(0.0, cfg.max_start_s))
        p_tx = rng.uniform(cfg.p_tx_min_w, cfg.p_tx_max_w, n)
        p_rx = rng.uniform(cfg.p_rx_min_w, cfg.p_rx_max_w, n)
        p_comp = rng.uniform(cfg.p_comp_min_w, cfg.p_comp_max_w, n)
        weight = np.ones(m)
        if cfg.traffic_pattern == "hotspot":
            weight[self.plane == 0] = cfg.hotspot_factor
            weight *= m / weight.sum()
        for _ in range(REDRAWS):  # traffic with no business at all is drawn again
            counts = rng.poisson(cfg.businesses_per_sat * weight)
            origin = np.repeat(np.arange(m), counts)
            bits = rng.uniform(cfg.business_bits_min, cfg.business_bits_max, origin.size)
            deadline = rng.uniform(cfg.deadline_min_s, cfg.deadline_max_s, origin.size)
            if origin.size:
                return t, p_tx, p_rx, p_comp, origin, bits, deadline
        raise ValueError(f"businesses_per_sat: {cfg.businesses_per_sat} gave no business in {REDRAWS} draws")

    def generate(self, rng: np.random.Generator, working_sats: int | None = None) -> AggregationInstance:
        return self.assemble([self.draw(rng)], working_sats).instance(0)

    def assemble(self, draws: list[tuple], working_sats: int | None = None) -> InstanceArrays:
        """The instances of K draws (``draw``'s tuples), computed for all K at once."""
        cfg, m, k = self.cfg, self.m, len(draws)
        ctrl, rows = m, np.arange(k)
        times = np.array([d[0] for d in draws], float)
        p_tx, p_rx, p_comp = (np.stack([d[i] for d in draws]) for i in (1, 2, 3))
        sizes = np.array([len(d[4]) for d in draws])
        width = int(sizes.max())
        real = np.arange(width)[None, :] < sizes[:, None]
        origin, bits, deadline = np.zeros((k, width), np.int64), np.zeros((k, width)), np.zeros((k, width))
        for c, d in enumerate(draws):
            origin[c, : sizes[c]], bits[c, : sizes[c]], deadline[c, : sizes[c]] = d[4], d[5], d[6]
        pos, los, dist, cap = self.links(times)
        comp = compute_delay_s(bits, cfg.cycles_per_bit, cfg.cpu_hz)
        # each satellite runs its own businesses first-in first-out from t = 0: a running sum per satellite
        # (in arrival order, as the recurrence of core.fifo_finish_times adds them)
        slot = np.where(real, origin, m)  # padding goes to a spare row
        order = np.argsort(slot, axis=1, kind="stable")
        sorted_slot = np.take_along_axis(slot, order, axis=1)
        counts = np.bincount((rows[:, None] * (m + 1) + slot).ravel(), minlength=k * (m + 1)).reshape(k, m + 1)
        first = np.cumsum(counts, axis=1) - counts  # where each satellite's run starts in sorted order
        place = np.empty_like(order)
        np.put_along_axis(place, order, np.arange(width)[None, :] - np.take_along_axis(first, sorted_slot, axis=1),
                          axis=1)
        depth = int(place.max()) + 1  # the longest queue
        queues = np.zeros((2, k, m + 1, depth))  # (compute | bits, copy, satellite, place in its queue)
        queues[:, rows[:, None], slot, place] = comp, bits
        running = np.cumsum(queues[:, :, :m], axis=-1)
        own_finish = np.where(real, running[0, rows[:, None], np.minimum(slot, m - 1), place], 0.0)
        own_load, volume = running[0, :, :, -1], running[1, :, :, -1]
        if working_sats is None:
            chosen = [cdssq(volume[c], bits[c, : sizes[c]], origin[c, : sizes[c]], cfg.max_volume_bits)
                      for c in range(k)]
            working, v0 = np.array([w for w, _ in chosen]), np.array([v for _, v in chosen])
        else:  # the override: the V busiest work, whatever the capacity says
            v0 = np.full(k, int(working_sats))
            working = np.argsort(np.argsort(-volume, axis=1, kind="stable"), axis=1) < int(working_sats)
        # PowerModel.state_energy_j(IDLE, sleep_s) of every satellite, plus what each computes of its own
        awake = np.full((k, m), (cfg.p_idle_w + 0.0) * cfg.sleep_s).sum(axis=1)
        e_noagg = awake + prefix_sum(np.take_along_axis(p_comp, origin, axis=1) * comp, sizes)
        # the businesses of sleeping satellites, in arrival order, padded to the longest list
        sleeping = real & ~np.take_along_axis(working, origin, axis=1)
        num_transfers = sleeping.sum(axis=1)
        t_width = max(int(num_transfers.max()), 1)
        transfer = np.zeros((k, t_width), np.int64)
        in_list = np.arange(t_width)[None, :] < num_transfers[:, None]
        transfer[in_list] = np.nonzero(sleeping)[1]
        src = np.take_along_axis(origin, transfer, axis=1)
        t_bits = np.take_along_axis(bits, transfer, axis=1)[:, :, None]
        t_comp = np.take_along_axis(comp, transfer, axis=1)
        kk = rows[:, None]
        direct = los[kk, src][:, :, :m]
        relay = ~direct & los[kk, src, ctrl][:, :, None] & los[:, ctrl, :m][:, None, :]
        link = (direct | relay) & working[:, None, :] & in_list[:, :, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            hop1_direct = t_bits / cap[kk, src][:, :, :m]
            hop1_relay = t_bits / cap[kk, src, ctrl][:, :, None]
            hop2_relay = t_bits / cap[:, ctrl, :m][:, None, :]
        send = np.where(direct, hop1_direct, np.where(relay, hop1_relay, 0.0))
        tx = np.where(direct, hop1_direct, np.where(relay, hop1_relay + hop2_relay, 0.0))
        relay_path = dist[kk, src, ctrl][:, :, None] + dist[:, ctrl, :m][:, None, :]
        path = np.where(direct, dist[kk, src][:, :, :m], np.where(relay, relay_path, 0.0))
        # each hop costs the transmit power of its sender and the receive power of its receiver
        p_tx_src = np.take_along_axis(p_tx, src, axis=1)[:, :, None]
        e_direct = (p_tx_src + p_rx[:, None, :m]) * hop1_direct
        e_relay = ((p_tx_src + p_rx[:, ctrl, None, None]) * hop1_relay
                   + (p_tx[:, ctrl, None, None] + p_rx[:, None, :m]) * hop2_relay)
        energy = np.where(direct, e_direct, np.where(relay, e_relay, 0.0))
        extra_comp = (p_comp[:, None, :m] * t_comp[:, :, None]
                      - (np.take_along_axis(p_comp, src, axis=1) * t_comp)[:, :, None])
        zero = ~link
        send, tx, path, energy, extra_comp = (np.where(zero, 0.0, x) for x in (send, tx, path, energy, extra_comp))
        same = (src[:, :, None] == src[:, None, :]) & in_list[:, None, :]
        to_reassign = np.zeros((k, m + 1), np.int64)
        np.add.at(to_reassign, (kk, np.where(in_list, src, m)), 1)
        stays = real & np.take_along_axis(working, origin, axis=1)
        return InstanceArrays(
            num_businesses=sizes, num_transfers=num_transfers, t_s=times, sat_position_m=pos[:, :m],
            control_position_m=pos[:, m], p_tx_w=p_tx, p_rx_w=p_rx, p_comp_w=p_comp, p_idle_w=cfg.p_idle_w,
            p_sleep_w=cfg.p_sleep_w, period_s=cfg.sleep_s, capacity_bits=cfg.max_volume_bits, bits=bits,
            deadline_s=deadline, origin=origin, comp_s=comp, own_finish_s=own_finish, own_load_s=own_load,
            volume_bits=volume, working=working, cdssq_v=v0, transfer=transfer, link=link, relayed=relay & link,
            send_s=send, tx_s=tx, prop_s=propagation_delay_s(path), distance_m=path, transfer_energy_j=energy,
            extra_comp_j=extra_comp, t_before_s=own_load.max(axis=1), e_noagg_j=e_noagg,
            sender=np.where(in_list, src, 0), transfer_bits=np.where(in_list, t_bits[:, :, 0], 0.0),
            transfer_comp_s=np.where(in_list, t_comp, 0.0),
            transfer_deadline_s=np.where(in_list, np.take_along_axis(deadline, transfer, axis=1), 0.0),
            sender_total=np.where(in_list, same.sum(axis=2), 1),
            sender_after=np.where(in_list, np.triu(same).sum(axis=2), 0), to_reassign=to_reassign[:, :m],
            own_violations=np.count_nonzero(stays & (own_finish > deadline), axis=1),
        )


class InstanceSupply:
    """The next instance of each of K copies, each drawn from the copy's own random stream in the order the
    single env would draw them, and assembled in batches: when a copy that starts an episode has none ready,
    every copy without one gets its next drawn, and all are assembled at once."""

    def __init__(self, generator: InstanceGenerator, num_copies: int) -> None:
        self.generator = generator
        self.rngs: list[np.random.Generator | None] = [None] * num_copies
        self.ready: list[tuple | None] = [None] * num_copies  # (draw, arrays, row) of each copy's next instance

    def seed(self, c: int, seed: int | None) -> None:
        """Copy c's stream from ``seed`` (None: fresh entropy); a next instance already drawn is dropped."""
        self.rngs[c], _ = seeding.np_random(seed)
        self.ready[c] = None

    def take(self, copies, working_sats: int | None) -> list[tuple[list[int], InstanceArrays, list[int]]]:
        """The next instance of each of ``copies``, as groups (copies, arrays, their rows in the arrays);
        ``working_sats`` other than the config's assembles the same draws with that working set."""
        default = self.generator.cfg.working_sats
        copies = [int(c) for c in copies]
        if any(self.ready[c] is None for c in copies):
            empty = [c for c, r in enumerate(self.ready) if r is None and self.rngs[c] is not None]
            draws = [self.generator.draw(self.rngs[c]) for c in empty]
            arrays = self.generator.assemble(draws, default)
            for i, c in enumerate(empty):
                self.ready[c] = (draws[i], arrays, i)
        taken = [self.ready[c] for c in copies]
        for c in copies:
            self.ready[c] = None
        if working_sats != default:
            return [(copies, self.generator.assemble([draw for draw, _, _ in taken], working_sats),
                     list(range(len(copies))))]
        groups: dict[int, tuple[list[int], InstanceArrays, list[int]]] = {}
        for c, (_, arrays, row) in zip(copies, taken):
            group = groups.setdefault(id(arrays), ([], arrays, []))
            group[0].append(c)
            group[2].append(row)
        return list(groups.values())
