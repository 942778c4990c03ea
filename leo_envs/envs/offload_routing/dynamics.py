"""The offload-and-route simulation: tasks, bundles, queues and links, advanced one slot at a time.

Everything is vectorised over satellites, links, tasks and bundles; there is no Python loop per agent.
Time ``t`` counts seconds since the episode began; the constellation sits at ``start + t``.

A task of D bits arrives at an RS-Sat (Poisson). Its RS-Sat picks a local share rho: rho*D joins the
small model's FIFO; (1-rho)*D becomes a bundle in the RS-Sat's waiting queue. Each slot, every
satellite decides for the head of its waiting queue: hold, send it over one of its four +Grid ISLs
(FIFO per directed link: transmission bits/C, then propagation d/c), or, on a C-Sat, compute it there
(FIFO on the large model). A task is done when both parts are; its delay is the later finish minus
its arrival. Data is dropped (and counted) on TTL expiry, full buffers or satellite failure; data
queued on a link that goes down returns to its sender for re-routing.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ...core import FaultModel, Network, RadioLink
from ...core.compute import fifo_remove
from .config import OffloadRoutingConfig
from .generator import build_constellation, csat_mask
from .rewards import REWARD_TERMS, handover_credit
from .service import bundle_to_go_s, local_service_s, remote_service_s, transmit_s
from .types import (
    ACTIVE,
    AT_NODE,
    BUFFER,
    BUNDLE_FIELDS,
    COMPUTE,
    COMPUTING,
    DONE,
    DROP_REASONS,
    DROPPED,
    FIRST_PORT,
    FIRST_RATIO,
    FREE,
    HOLD,
    HOP_CAP,
    NUM_PORTS,
    OBS,
    ON_LINK,
    PENDING,
    PORT_FEATURES,
    SAT_FAILURE,
    TASK_FIELDS,
    TRANSITION_FIELDS,
    TTL,
    OffloadRoutingState,
    SlotRecord,
    Table,
    Transitions,
)

_NO_ENTRY = np.iinfo(np.int64).max
POSITION_CHUNK = 64  # topology refreshes propagated per sgp4 call
_C = OBS.own  # own feature -> column
_P = {name: k for k, name in enumerate(PORT_FEATURES)}  # per-port feature -> index in a port's block


def _marked(idx: np.ndarray, size: int) -> np.ndarray:
    """(size,) bool, True at ``idx``."""
    out = np.zeros(size, bool)
    out[idx] = True
    return out


def port_tables(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) neighbour and ISL index of each satellite's fore/aft/left/right port (-1: none)."""
    c = network.constellation
    n = len(c)
    nbr = np.full((n, NUM_PORTS), -1, dtype=np.int64)
    edge = np.full((n, NUM_PORTS), -1, dtype=np.int64)
    i, j = network.isl_pairs[:, 0], network.isl_pairs[:, 1]
    e = np.arange(len(i))
    intra = ~network.isl_inter
    # intra-plane: j follows i when its slot is the next one
    fwd = intra & (c.slot[j] == (c.slot[i] + 1) % c.shell_sats_per_plane[i])
    bwd = intra & ~fwd
    inter = network.isl_inter
    right = inter & (c.local_plane[j] == (c.local_plane[i] + 1) % c.shell_planes[i])
    left = inter & ~right
    for mask, port_i, port_j in ((fwd, 0, 1), (bwd, 1, 0), (right, 3, 2), (left, 2, 3)):
        nbr[i[mask], port_i], edge[i[mask], port_i] = j[mask], e[mask]
        nbr[j[mask], port_j], edge[j[mask], port_j] = i[mask], e[mask]
    return nbr, edge


def percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear method, same value to the bit) for a non-empty 1-D array without
    NaN, at a fraction of numpy's wrapper cost."""
    n = x.size
    virtual = (n - 1) * (q / 100)
    lo = int(math.floor(virtual))
    hi = min(lo + 1, n - 1)
    part = np.partition(x, [lo, hi] if hi != lo else lo)
    a, b = part[lo], part[hi]
    gamma = virtual - lo
    diff = b - a
    return float(b - diff * (1 - gamma)) if gamma >= 0.5 else float(a + diff * gamma)  # numpy's _lerp


class OffloadRoutingSim:
    """The simulator behind ``offload_routing_v3`` (usable on its own, without PettingZoo).

    Read it through ``state`` (an ``OffloadRoutingState``), ``obs`` / ``mask``, ``reward``, ``terms``,
    ``metrics()`` and ``accounting()``; the other attributes are its working arrays."""

    def __init__(self, cfg: OffloadRoutingConfig):
        self.cfg = cfg
        self.constellation = build_constellation(cfg)
        link = RadioLink(
            frequency_hz=cfg.isl_frequency_hz, bandwidth_hz=cfg.isl_bandwidth_hz, tx_power_w=cfg.isl_tx_power_w,
            tx_gain_dbi=cfg.isl_antenna_gain_dbi, rx_gain_dbi=cfg.isl_antenna_gain_dbi,
            system_noise_temp_k=cfg.isl_noise_temp_k,
        )
        faults = None
        if cfg.isl_mtbf_s is not None or cfg.sat_mtbf_s is not None:
            faults = FaultModel(sat_mtbf_s=cfg.sat_mtbf_s, sat_mttr_s=cfg.sat_mttr_s,
                                isl_mtbf_s=cfg.isl_mtbf_s, isl_mttr_s=cfg.isl_mttr_s)
        self.network = Network(self.constellation, "plus_grid", polar_cutoff_deg=cfg.polar_cutoff_deg,
                               isl_link=link, faults=faults)
        self.n = n = len(self.constellation)
        self.is_csat = csat_mask(self.constellation, cfg)
        self.rs_nodes = np.flatnonzero(~self.is_csat)
        self.port_nbr, self.port_edge = port_tables(self.network)
        self._port_exists = self.port_nbr >= 0
        self._all_ports_exist = bool(self._port_exists.all())
        self._any_port_exists = bool(self._port_exists.any())
        self.n_actions = FIRST_RATIO + cfg.ratio_levels
        self.obs_dim = OBS.size
        self.horizon_s = cfg.max_cycles * cfg.dt_s
        self.topo_every = max(1, int(round(cfg.topology_dt_s / cfg.dt_s)))
        orbits = self.constellation.elements()
        self.period_s = float(np.median(orbits.period_s[~self.constellation.failed_at_epoch]))  # random start in it
        self._rows = np.arange(n)

    # ------------------------------------------------------------------ episode set-up
    def reset(self, rng: np.random.Generator) -> None:
        cfg, n = self.cfg, self.n
        self.rng = rng
        self.start_s = float(rng.uniform(0.0, self.period_s)) if cfg.start_time_s is None else cfg.start_time_s
        self.network.reset_faults(int(rng.integers(2**63 - 1)))
        self.t = 0.0
        self.steps = 0
        self._pos_cache_start = -1
        self._pos_cache = None
        self.tasks = Table(TASK_FIELDS, 1024)
        self.bundles = Table(BUNDLE_FIELDS, 512)
        self.open_tasks = np.zeros(0, dtype=np.int64)
        self.local_free = np.zeros(n)
        self.cpu_free = np.zeros(n)
        self.cpu_busy_s = np.zeros(n)
        self.link_free = np.zeros((n, NUM_PORTS))
        n_windows = int(math.ceil(self.horizon_s / cfg.utilization_window_s)) + 1
        self.link_busy = np.zeros((n_windows, n, NUM_PORTS))
        self._window_start_s = np.arange(n_windows) * cfg.utilization_window_s
        self.counts = {"arrived_tasks": 0, "finished_tasks": 0, "dropped_tasks": 0, "masked_actions": 0,
                       "rerouted_bundles": 0, "arrived_bits": 0.0, "done_bits": 0.0, "dropped_bits": 0.0}
        self.drops_by_reason = dict.fromkeys(DROP_REASONS, 0)
        self.masked_now = np.zeros(n, bool)
        self.link_up = np.zeros((n, NUM_PORTS), bool)
        self.sat_up = np.ones(n, bool)
        self._reset_step_outputs()
        self.slot = SlotRecord(0.0, 0.0)  # failures at the start are charged to no slot
        self._refresh_topology(0.0)
        self._observe()

    def _reset_step_outputs(self) -> None:
        self.reward = np.zeros(self.n)
        self.handover_cost = np.zeros(self.n)
        self.terms = {term.name: 0.0 for term in REWARD_TERMS}
        self._trans: list[tuple] = []
        self.finished_now = 0
        self.dropped_now = 0

    # ------------------------------------------------------------------ topology
    def _positions(self, k: int) -> np.ndarray:
        start = (k // POSITION_CHUNK) * POSITION_CHUNK
        if start != self._pos_cache_start:
            times = self.start_s + (start + np.arange(POSITION_CHUNK)) * self.topo_every * self.cfg.dt_s
            self._pos_cache = self.constellation.positions_ecef(times)
            self._pos_cache_start = start
        return self._pos_cache[k - start]

    def positions_ecef(self) -> np.ndarray:
        """(N, 3) positions of the last topology refresh, m (ECEF)."""
        return self._positions(int(round(self.t / (self.topo_every * self.cfg.dt_s))))

    def _refresh_topology(self, t: float) -> None:
        k = int(round(t / (self.topo_every * self.cfg.dt_s)))
        snap = self.network.snapshot(self.start_s + t, self._positions(k), fault_t_s=t)
        has = self.port_edge >= 0
        edge = np.where(has, self.port_edge, 0)
        link_up = has & snap.isl_up[edge]
        self.capacity = np.where(link_up, snap.isl_capacity_bps[edge], 0.0)
        self.prop_s = np.where(has, snap.isl_delay_s[edge], 0.0)
        old_up = self.link_up
        self.link_up = link_up
        newly_failed = self.sat_up & ~snap.sat_up
        self.sat_up = snap.sat_up
        if newly_failed.any():
            self._fail_satellites(newly_failed, t)
        went_down = old_up & ~link_up
        if went_down.any():
            self._return_from_down_links(went_down, t)
        if not np.array_equal(old_up, link_up) or not hasattr(self, "hops_to_csat"):
            self._hop_distances()
        if link_up.any():  # a typical hop of the moment, for the hand-over value's estimate
            self._s_per_bit_hop = float(np.mean(1.0 / self.capacity[link_up]))
            self._prop_s_hop = float(np.mean(self.prop_s[link_up]))
        else:
            self._s_per_bit_hop = self._prop_s_hop = 0.0
        self._static_features()

    def _hop_distances(self) -> None:
        src, port = np.nonzero(self.link_up)
        graph = csr_matrix((np.ones(src.size), (src, self.port_nbr[src, port])), shape=(self.n, self.n))
        csats = np.flatnonzero(self.is_csat & self.sat_up)
        if csats.size == 0:
            self.hops_to_csat = np.full(self.n, float(HOP_CAP))
            return
        # distances *to* the nearest C-Sat: run from the C-Sats on the reversed (here symmetric) graph
        d = dijkstra(graph.T, directed=True, indices=csats, unweighted=True, min_only=True)
        self.hops_to_csat = np.minimum(d, HOP_CAP)

    def _return_from_down_links(self, went_down: np.ndarray, t: float) -> None:
        b = self.bundles
        live = np.flatnonzero(b.state[: b.size] == ON_LINK)
        hit = live[went_down[b.node[live], b.port[live]] & (b.tx_finish[live] > t)]
        if hit.size:
            # the part of each transmission that will not happen is not busy time
            self._add_busy(b.node[hit], b.port[hit], np.maximum(b.tx_start[hit], t), b.tx_finish[hit], -1.0)
            b.state[hit] = AT_NODE
            b.ready[hit] = t
            b.port[hit] = -1
            self.counts["rerouted_bundles"] += int(hit.size)
        rows, ports = np.nonzero(went_down)
        self.link_free[rows, ports] = np.minimum(self.link_free[rows, ports], t)

    def _fail_satellites(self, failed: np.ndarray, t: float) -> None:
        b = self.bundles
        live = np.flatnonzero(b.state[: b.size] != FREE)
        at_failed = failed[b.node[live]]
        sending = (b.state[live] == ON_LINK) & (b.tx_finish[live] > t)
        lost = live[at_failed & ((b.state[live] != ON_LINK) | sending)]
        tk = self.tasks
        ot = self.open_tasks
        origin_failed = failed[tk.origin[ot]]
        # what a failed satellite holds is lost: its undecided tasks, its local parts, the bundles on it
        at_origin = ot[origin_failed & ((tk.status[ot] == PENDING) | tk.local_open[ot])]
        self._drop_tasks(np.concatenate([b.task[lost], at_origin]), SAT_FAILURE, t)
        self.local_free[failed] = np.minimum(self.local_free[failed], t)
        self.cpu_free[failed] = np.minimum(self.cpu_free[failed], t)

    # ------------------------------------------------------------------ accounting helpers
    def _add_busy(self, nodes, ports, start, finish, sign: float = 1.0, unique: bool = False) -> None:
        """Add busy time [start, finish) of directed links (nodes, ports) to the utilisation windows.
        ``unique``: no (node, port) repeats, so plain fancy-index addition is exact."""
        w_len = self.cfg.utilization_window_s
        n_w = self.link_busy.shape[0]
        s, f = np.asarray(start, float), np.minimum(np.asarray(finish, float), self.horizon_s)
        nodes, ports = np.asarray(nodes), np.asarray(ports)
        while s.size:
            ok = f > s
            s, f, nodes, ports = s[ok], f[ok], nodes[ok], ports[ok]
            w = np.minimum((s // w_len).astype(np.int64), n_w - 1)
            end = np.minimum(f, (w + 1) * w_len)
            if unique:
                self.link_busy[w, nodes, ports] += sign * (end - s)
            else:
                np.add.at(self.link_busy, (w, nodes, ports), sign * (end - s))
            if np.all(end >= f):  # the usual case: no interval crosses into the next window
                break
            s = end

    def holders(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The open parts of tasks ``idx``: (position in ``idx``, holder, equal share of the task)."""
        return self._parts(idx)[:3]

    def _parts(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``holders`` plus whether each part is a bundle (else the RS-Sat's undecided task or local part)."""
        tk, b = self.tasks, self.bundles
        pending = tk.status[idx] == PENDING
        local = tk.local_open[idx]
        bi = tk.bundle[idx]
        has_b = bi >= 0
        bsafe = np.where(has_b, bi, 0)
        has_b &= (b.state[bsafe] != FREE) & (b.task[bsafe] == idx)
        parts = pending.astype(np.int64) + local + has_b
        alone = parts == 0  # not reached for tasks in the system; charged to the RS-Sat if it were
        own = pending | local | alone
        pos = np.concatenate([np.flatnonzero(own), np.flatnonzero(has_b)])
        is_bundle = np.arange(pos.size) >= own.sum()
        agent = np.concatenate([tk.origin[idx[own]], b.node[bi[has_b]]])
        share = 1.0 / np.maximum(parts, 1)[pos]  # an undecided task has no local part: one share per part
        return pos, agent, share, is_bundle

    def _drop_tasks(self, idx: np.ndarray, reason: int, t: float, unique: bool = False) -> None:
        """Drop tasks ``idx`` (those still in the system) with every open part: undecided tasks, local
        parts (freeing the small model's queue), bundles wherever they are (waiting, queued or sent on a
        link, queued or running on a large model: the queue behind moves up). Their holders now share
        the drop charge."""
        if idx.size == 0:
            return
        tk, b = self.tasks, self.bundles
        if not unique:
            idx = np.unique(idx)
        idx = idx[tk.status[idx] <= ACTIVE]
        if idx.size == 0:
            return
        pos, agent, share = self._payers(idx)
        self.slot.drops.append((idx[pos], agent, share))
        dropped_bits = float(np.sum(np.where(tk.status[idx] == PENDING, tk.bits[idx], 0.0)))
        local = idx[tk.local_open[idx]]
        if local.size:
            dropped_bits += float(np.sum(tk.rho[local] * tk.bits[local]))
            self._remove_local(local, t)
        bi = tk.bundle[idx]
        safe = np.maximum(bi, 0)
        bi = bi[(bi >= 0) & (b.state[safe] != FREE) & (b.task[safe] == idx)]
        if bi.size:
            dropped_bits += float(b.bits[bi].sum())
            self._emit(bi, t, None, terminal_extra=self.cfg.drop_penalty_s)
            self._remove_from_links(bi[b.state[bi] == ON_LINK], t)
            self._remove_from_cpus(bi[b.state[bi] == COMPUTING], t)
            b.state[bi] = FREE
        self.counts["dropped_bits"] += dropped_bits
        tk.status[idx] = DROPPED
        tk.drop_reason[idx] = reason
        tk.finish[idx] = t
        tk.local_open[idx] = False
        self.counts["dropped_tasks"] += int(idx.size)
        self.drops_by_reason[DROP_REASONS[reason]] += int(idx.size)
        self.dropped_now += int(idx.size)

    def _remove_local(self, gone: np.ndarray, t: float) -> None:
        tk = self.tasks
        ot = self.open_tasks
        q = ot[tk.local_open[ot] & (tk.local_finish[ot] > t)]
        remove = _marked(gone, tk.size)[q]
        if not remove.any():
            return
        new_finish, freed = fifo_remove(tk.origin[q], tk.local_finish[q], tk.local_service[q], remove, t)
        tk.local_finish[q] = new_finish
        self.local_free -= np.bincount(tk.origin[q], weights=freed, minlength=self.n)

    def _remove_from_cpus(self, gone: np.ndarray, t: float) -> None:
        if gone.size == 0:
            return
        b, tk = self.bundles, self.tasks
        live = np.flatnonzero(b.state[: b.size] == COMPUTING)
        q = live[b.done_time[live] > t]
        remove = _marked(gone, b.size)[q]
        if not remove.any():
            return
        new_finish, freed = fifo_remove(b.node[q], b.done_time[q], b.service[q], remove, t)
        b.done_time[q] = new_finish
        keep = q[~remove]
        tk.off_finish[b.task[keep]] = b.done_time[keep]
        per_node = np.bincount(b.node[q], weights=freed, minlength=self.n)
        self.cpu_free -= per_node
        self.cpu_busy_s -= per_node

    def _remove_from_links(self, gone: np.ndarray, t: float) -> None:
        """Take bundles off the links they are queued or sent on; a bundle already propagating
        (fully sent) frees nothing."""
        b = self.bundles
        gone = gone[b.tx_finish[gone] > t]
        if gone.size == 0:
            return
        live = np.flatnonzero(b.state[: b.size] == ON_LINK)
        q = live[b.tx_finish[live] > t]
        key = b.node[q] * NUM_PORTS + b.port[q]
        on_hit_link = _marked(b.node[gone] * NUM_PORTS + b.port[gone], self.n * NUM_PORTS)[key]
        q, key = q[on_hit_link], key[on_hit_link]  # only the queues that lose a bundle change
        remove = _marked(gone, b.size)[q]
        service = b.tx_finish[q] - b.tx_start[q]
        new_finish, freed = fifo_remove(key, b.tx_finish[q], service, remove, t)
        shift = b.tx_finish[q] - new_finish
        changed = (freed > 0) | (shift > 0)
        if not changed.any():
            return
        # the removed transmissions' unsent part, and the moved ones' old slots, leave the busy time
        c = q[changed]
        self._add_busy(b.node[c], b.port[c], np.maximum(b.tx_start[c], t), b.tx_finish[c], -1.0)
        moved = q[shift > 0]
        shift = shift[shift > 0]
        b.tx_start[moved] -= shift
        b.tx_finish[moved] -= shift
        b.arrive[moved] -= shift
        self._add_busy(b.node[moved], b.port[moved], np.maximum(b.tx_start[moved], t), b.tx_finish[moved])
        per_link = np.bincount(key, weights=freed, minlength=self.n * NUM_PORTS).reshape(self.n, NUM_PORTS)
        self.link_free -= per_link

    def _emit(self, idx, t, next_agents, terminal_extra: float = 0.0) -> None:
        """Close the transition of bundles ``idx`` opened by their last decision: non-terminal to
        ``next_agents`` now deciding, or terminal (``next_agents`` None) whose delay for learners adds
        ``terminal_extra`` (the drop penalty, which rewards charge separately)."""
        b = self.bundles
        prior = b.last_agent[idx] >= 0
        idx = idx[prior]
        if idx.size == 0:
            return
        delay = t - b.last_time[idx] + terminal_extra
        agent = b.last_agent[idx]
        if next_agents is None:
            nxt = np.full(idx.size, -1)
            next_obs = np.zeros((idx.size, self.obs_dim), np.float32)
            next_mask = np.zeros((idx.size, self.n_actions), np.int8)
            done = np.ones(idx.size, bool)
        else:
            nxt = np.asarray(next_agents)[prior]
            next_obs = self.obs[nxt]
            next_mask = self.mask[nxt]
            done = np.zeros(idx.size, bool)
        self._trans.append((agent, b.last_obs[idx].copy(), b.last_action[idx], delay, nxt, next_obs, next_mask, done))

    # ------------------------------------------------------------------ one slot
    def step(self, actions: np.ndarray) -> None:
        cfg, t = self.cfg, self.t
        self._reset_step_outputs()
        valid = self.mask[self._rows, actions].astype(bool)
        self.masked_now = self.deciding & ~valid  # agents with nothing to decide are ignored, not masked
        self.counts["masked_actions"] += int(np.count_nonzero(self.masked_now))
        a = np.where(valid, actions, HOLD)
        self._decide_ratios(np.flatnonzero(a >= FIRST_RATIO), a, t)
        self._decide_routes(np.flatnonzero((a >= FIRST_PORT) & (a < FIRST_PORT + 4)), a, t)
        self._decide_compute(np.flatnonzero(a == COMPUTE), t)

        t2 = (self.steps + 1) * cfg.dt_s
        self.slot = slot = SlotRecord(t, t2)
        # who holds each task in the system during the slot: decided by the actions just applied
        in_system = self.open_tasks
        pos, slot.held_agent, slot.held_from, slot.held_until = self._holding_payers(in_system)
        slot.held_task = in_system[pos]
        self.steps += 1
        if self.steps % self.topo_every == 0:
            self._refresh_topology(t2)
        self._deliver(t2)
        self._finish(t2)
        self._expire(t2)
        new = self._arrivals(t, t2)
        if new.size:  # a new task is held by its RS-Sat until its split
            slot.held_task = np.concatenate([slot.held_task, new])
            slot.held_agent = np.concatenate([slot.held_agent, self.tasks.origin[new]])
            slot.held_from = np.concatenate([slot.held_from, np.full(new.size, -np.inf)])
            slot.held_until = np.concatenate([slot.held_until, np.full(new.size, np.inf)])
        self.t = t2
        self._observe()
        self._charge(slot)

    def _charge(self, slot: SlotRecord) -> None:
        """Rewards of the slot from the reward terms: per agent (``hop``) or the team total for all."""
        hop = self.cfg.reward_mode == "hop"
        cost = np.zeros(self.n) if hop else None
        terms = self.terms
        for term in REWARD_TERMS:
            agent, c = term(slot, self.tasks, self.cfg)
            terms[term.name] = -float(c.sum()) if c.size else 0.0
            if hop and c.size:
                cost += np.bincount(agent, weights=c, minlength=self.n)
        if hop:
            self.handover_cost = handover_credit(slot, self.n)  # kept apart for inspection (tests, analyses)
            cost += self.handover_cost
        self.reward = -cost if hop else np.full(self.n, sum(terms.values()))

    def _payers(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who pays for tasks ``idx``: their part holders with per-agent credit; in team mode, where only
        the total counts, one entry per task (its RS-Sat, the whole share)."""
        if self.cfg.reward_mode == "hop":
            return self.holders(idx)
        return np.arange(idx.size), self.tasks.origin[idx], np.ones(idx.size)

    def _holding_payers(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """Who pays the holding cost of tasks ``idx`` in this slot: (position in ``idx``, payer, window
        start, window end); each payer pays all of the task's time within its window. Per-agent credit:
        the RS-Sat alone while the task is undecided or its local part is open, then the bundle's holder.
        A task costs the later of its parts' finishes, so the bundle's holders pay only for the time the
        offloaded part outlasts the local one. Team credit: the RS-Sat, the whole slot."""
        if self.cfg.reward_mode != "hop":
            pos, agent, _ = self._payers(idx)  # one entry per task
            return pos, agent, np.full(pos.size, -np.inf), np.full(pos.size, np.inf)
        pos, agent, _, is_bundle = self._parts(idx)
        task = idx[pos]
        local = self.tasks.local_open[task]
        split = self.tasks.local_finish[task]
        end = np.where(local & ~is_bundle, split, np.inf)
        start = np.where(local & is_bundle, split, -np.inf)
        return pos, agent, start, end

    def _new_bundles(self, tasks_idx: np.ndarray, nodes: np.ndarray, bits: np.ndarray, t: float) -> None:
        b = self.bundles
        free = np.flatnonzero(b.state[: b.size] == FREE)
        k = tasks_idx.size
        if free.size < k:
            extra = k - free.size
            b.grow(b.size + extra)
            free = np.concatenate([free, np.arange(b.size, b.size + extra)])
            b.size += extra
        slot = free[:k]
        b.task[slot], b.bits[slot], b.node[slot] = tasks_idx, bits, nodes
        b.state[slot], b.ready[slot], b.port[slot] = AT_NODE, t, -1
        b.path_s[slot], b.hops[slot], b.last_agent[slot] = 0.0, 0, -1
        self.tasks.bundle[tasks_idx] = slot

    def _decide_ratios(self, nodes: np.ndarray, a: np.ndarray, t: float) -> None:
        if nodes.size == 0:
            return
        cfg, tk = self.cfg, self.tasks
        idx = self.head_task[nodes]
        rho = (a[nodes] - FIRST_RATIO) / (cfg.ratio_levels - 1)
        bits = tk.bits[idx]
        local_bits = rho * bits
        service = local_service_s(local_bits, cfg)
        start = np.maximum(t, self.local_free[nodes])
        has_local = local_bits > 0
        finish = np.where(has_local, start + service, t)
        self.local_free[nodes] = np.where(has_local, finish, self.local_free[nodes])
        tk.rho[idx] = rho
        tk.local_finish[idx] = finish
        tk.local_service[idx] = service
        tk.lower_bound[idx] = service
        tk.local_open[idx] = has_local
        tk.status[idx] = ACTIVE
        off_bits = bits - local_bits
        has_off = off_bits > 0
        tk.off_finish[idx] = np.where(has_off, np.inf, -np.inf)
        self._new_bundles(idx[has_off], nodes[has_off], off_bits[has_off], t)

    def _decide_routes(self, nodes: np.ndarray, a: np.ndarray, t: float) -> None:
        if nodes.size == 0:
            return
        b = self.bundles
        idx = self.head_bundle[nodes]
        port = a[nodes] - FIRST_PORT
        self._emit(idx, t, nodes)
        tx = transmit_s(b.bits[idx], self.capacity[nodes, port])
        start = np.maximum(t, self.link_free[nodes, port])
        finish = start + tx
        self.link_free[nodes, port] = finish
        self._add_busy(nodes, port, start, finish, unique=True)
        b.state[idx] = ON_LINK
        b.port[idx] = port
        b.tx_start[idx], b.tx_finish[idx] = start, finish
        b.arrive[idx] = finish + self.prop_s[nodes, port]
        b.path_s[idx] += tx + self.prop_s[nodes, port]
        b.hops[idx] += 1
        self._open_transition(idx, nodes, a[nodes], t)

    def _open_transition(self, idx, nodes, actions, t) -> None:
        b = self.bundles
        b.last_agent[idx] = nodes
        b.last_obs[idx] = self.obs[nodes]
        b.last_action[idx] = actions
        b.last_time[idx] = t

    def _decide_compute(self, nodes: np.ndarray, t: float) -> None:
        if nodes.size == 0:
            return
        cfg, b, tk = self.cfg, self.bundles, self.tasks
        idx = self.head_bundle[nodes]
        self._emit(idx, t, nodes)
        service = remote_service_s(b.bits[idx], cfg)
        start = np.maximum(t, self.cpu_free[nodes])
        finish = start + service
        self.cpu_free[nodes] = finish
        self.cpu_busy_s[nodes] += service
        b.state[idx] = COMPUTING
        b.done_time[idx] = finish
        b.service[idx] = service
        task = b.task[idx]
        tk.off_finish[task] = finish
        tk.lower_bound[task] = np.maximum(tk.lower_bound[task], b.path_s[idx] + service)
        # the C-Sat's decision ends the bundle's journey: a terminal transition with the compute time
        delay = finish - t
        self._trans.append((
            nodes, self.obs[nodes].copy(), np.full(idx.size, COMPUTE), delay, np.full(idx.size, -1),
            np.zeros((idx.size, self.obs_dim), np.float32), self._terminal_mask(idx.size), np.ones(idx.size, bool),
        ))
        b.last_agent[idx] = -1

    def _terminal_mask(self, k: int) -> np.ndarray:
        return np.zeros((k, self.n_actions), np.int8)

    def _deliver(self, t2: float) -> None:
        """Bundles whose last bit reaches the next satellite by t2 join its waiting queue, if it is up
        and its buffer has room (arrivals are admitted in time order)."""
        b = self.bundles
        live = np.flatnonzero(b.state[: b.size] == ON_LINK)
        due = live[b.arrive[live] <= t2]
        if due.size == 0:
            return
        nxt = self.port_nbr[b.node[due], b.port[due]]
        down = ~self.sat_up[nxt]
        self._drop_tasks(b.task[due[down]], SAT_FAILURE, t2)
        due, nxt = due[~down], nxt[~down]
        queued = self.held_bits  # occupancy at the start of the slot, plus this slot's arrivals
        incoming = np.bincount(nxt, weights=b.bits[due], minlength=self.n)
        full = np.zeros(due.size, bool)
        if np.any(queued + incoming > self.cfg.buffer_bits):  # rare: admit in arrival order until full
            order = np.lexsort((b.arrive[due], nxt))
            due, nxt = due[order], nxt[order]
            cum = np.cumsum(b.bits[due])
            first = np.searchsorted(nxt, nxt, side="left")
            before = cum - b.bits[due] - np.where(first > 0, cum[first - 1], 0.0)  # earlier arrivals, same node
            full = queued[nxt] + before + b.bits[due] > self.cfg.buffer_bits
            self._drop_tasks(b.task[due[full]], BUFFER, t2)
        ok = due[~full]
        if self.cfg.reward_mode == "hop" and ok.size:
            receiver = nxt[~full]
            self.slot.handovers.append((b.node[ok].copy(), receiver, self._handover_value(ok, receiver, t2)))
        b.state[ok] = AT_NODE
        b.node[ok] = nxt[~full]
        b.ready[ok] = b.arrive[ok]
        b.port[ok] = -1

    def _handover_value(self, bi: np.ndarray, receiver: np.ndarray, t: float) -> np.ndarray:
        """What the receivers of bundles ``bi`` will pay for them (``reward_mode="hop"``): the estimated time
        the offloaded part outlasts the local one. The estimate is the time to go from the receiver at the
        moment's typical hop (``bundle_to_go_s``): the mean transmission time, propagation and backlog of
        the up links per hop, then the C-Sats' mean compute backlog and the large model's service time."""
        b, tk = self.bundles, self.tasks
        up = self.link_up
        link_wait = float(np.mean(np.maximum(self.link_free[up] - t, 0.0))) if up.any() else 0.0
        cpu_wait = float(np.mean(np.maximum(self.cpu_free[self.is_csat] - t, 0.0))) if self.is_csat.any() else 0.0
        to_go = bundle_to_go_s(b.bits[bi], self.hops_to_csat[receiver], self._s_per_bit_hop,
                               self._prop_s_hop + link_wait, cpu_wait, self.cfg)
        task = b.task[bi]
        local_left = np.where(tk.local_open[task], np.maximum(tk.local_finish[task] - b.arrive[bi], 0.0), 0.0)
        return np.maximum(to_go - local_left, 0.0)

    def queued_bits(self, t: float) -> np.ndarray:
        """Bits each satellite holds at ``t``: waiting for a decision plus not yet sent on its links."""
        b = self.bundles
        live = np.flatnonzero(b.state[: b.size] != FREE)
        held = live[(b.state[live] == AT_NODE) | (b.state[live] == ON_LINK)]
        duration = np.maximum(b.tx_finish[held] - b.tx_start[held], 1e-12)
        unsent = np.where(b.state[held] == AT_NODE, 1.0, np.clip((b.tx_finish[held] - t) / duration, 0.0, 1.0))
        return np.bincount(b.node[held], weights=b.bits[held] * unsent, minlength=self.n)

    def _finish(self, t2: float) -> None:
        b, tk = self.bundles, self.tasks
        live = np.flatnonzero(b.state[: b.size] == COMPUTING)
        done = live[b.done_time[live] <= np.minimum(t2, tk.arrival[b.task[live]] + self.cfg.ttl_s)]
        if done.size:
            self.counts["done_bits"] += float(b.bits[done].sum())
            b.state[done] = FREE
        ot = self.open_tasks
        deadline = tk.arrival[ot] + self.cfg.ttl_s  # work done after its task's TTL does not count
        local_done = ot[tk.local_open[ot] & (tk.local_finish[ot] <= np.minimum(t2, deadline))]
        if local_done.size:
            self.counts["done_bits"] += float(np.sum(tk.rho[local_done] * tk.bits[local_done]))
            tk.local_open[local_done] = False
        active = ot[tk.status[ot] == ACTIVE]
        fin_time = np.maximum(tk.local_finish[active], tk.off_finish[active])
        finished = active[fin_time <= np.minimum(t2, tk.arrival[active] + self.cfg.ttl_s)]
        if finished.size:
            tk.status[finished] = DONE
            tk.finish[finished] = np.maximum(tk.local_finish[finished], tk.off_finish[finished])
            self.counts["finished_tasks"] += int(finished.size)
            self.finished_now += int(finished.size)

    def _expire(self, t2: float) -> None:
        """The TTL holds for every part of a task wherever it is; then the finished and dropped tasks
        leave the list of tasks in the system."""
        tk = self.tasks
        ot = self.open_tasks
        in_system = tk.status[ot] <= ACTIVE
        expired = in_system & (t2 - tk.arrival[ot] > self.cfg.ttl_s)
        if expired.any():
            self._drop_tasks(ot[expired], TTL, t2, unique=True)
            in_system &= ~expired
        self.open_tasks = ot[in_system]

    def _arrivals(self, t: float, t2: float) -> np.ndarray:
        """New tasks of the slot (t, t2]; returns their rows."""
        cfg, tk = self.cfg, self.tasks
        src = self.rs_nodes[self.sat_up[self.rs_nodes]]
        counts = self.rng.poisson(cfg.task_rate_hz * (t2 - t), src.size)
        k = int(counts.sum())
        if k == 0:
            return np.zeros(0, np.int64)
        origin = np.repeat(src, counts)
        arrival = t + self.rng.uniform(0.0, t2 - t, k)
        bits = cfg.task_bits * (1.0 + cfg.task_bits_spread * self.rng.uniform(-1.0, 1.0, k))
        start = tk.size
        tk.grow(start + k)
        sl = slice(start, start + k)
        tk.arrival[sl], tk.bits[sl], tk.origin[sl], tk.status[sl] = arrival, bits, origin, PENDING
        tk.size += k
        self.open_tasks = np.concatenate([self.open_tasks, np.arange(start, start + k)])
        self.counts["arrived_tasks"] += k
        self.counts["arrived_bits"] += float(bits.sum())
        return np.arange(start, start + k)

    # ------------------------------------------------------------------ observations
    def _first_per_node(self, idx: np.ndarray, node: np.ndarray, time: np.ndarray) -> np.ndarray:
        """(N,) per node, the entry of ``idx`` with the earliest ``time`` (ties: lowest index); -1 if none."""
        if idx.size == 0:
            return np.full(self.n, -1, dtype=np.int64)
        earliest = np.full(self.n, np.inf)
        np.minimum.at(earliest, node, time)
        cand = time == earliest[node]
        head = np.full(self.n, _NO_ENTRY, dtype=np.int64)
        np.minimum.at(head, node[cand], idx[cand])
        head[head == _NO_ENTRY] = -1
        return head

    def _static_features(self) -> None:
        """Observation columns that change only with the topology (refreshed with it)."""
        cfg, n = self.cfg, self.n
        obs = np.zeros((n, self.obs_dim), np.float32)
        hops = self.hops_to_csat / HOP_CAP
        nbr = np.where(self.port_nbr >= 0, self.port_nbr, 0)
        exists = self.port_nbr >= 0
        obs[:, _C["is_csat"]] = self.is_csat
        obs[:, _C["hops_to_csat"]] = hops
        port = OBS.port_block(obs)
        port[:, :, _P["link_up"]] = self.link_up
        port[:, :, _P["tx_time"]] = np.where(self.link_up, transmit_s(cfg.task_bits, self.capacity), 0.0)
        port[:, :, _P["prop_delay"]] = self.prop_s * 100.0  # in units of 10 ms
        port[:, :, _P["nbr_hops_to_csat"]] = np.where(exists, hops[nbr], 1.0)
        port[:, :, _P["nbr_is_csat"]] = np.where(exists, self.is_csat[nbr], 0.0)
        self._static_obs = obs
        self._nbr_pad = np.where(exists, self.port_nbr, n)
        mask = np.zeros((n, self.n_actions), np.int8)
        mask[:, FIRST_PORT : FIRST_PORT + NUM_PORTS] = self.link_up
        mask[:, COMPUTE] = self.is_csat
        self._route_mask = mask

    def _observe(self) -> None:
        cfg, n, t = self.cfg, self.n, self.t
        tk, b = self.tasks, self.bundles
        # heads: the oldest new task of each RS-Sat and the oldest waiting bundle of each satellite
        ot = self.open_tasks
        pend = ot[tk.status[ot] == PENDING]
        self.head_task = self._first_per_node(pend, tk.origin[pend], tk.arrival[pend])
        live = np.flatnonzero(b.state[: b.size] == AT_NODE)
        self.head_bundle = self._first_per_node(live, b.node[live], b.ready[live])
        waiting_bits = np.bincount(b.node[live], weights=b.bits[live], minlength=n)
        link_backlog = np.maximum(self.link_free - t, 0.0)
        self.held_bits = waiting_bits + np.einsum("ij,ij->i", link_backlog, self.capacity)
        waiting = waiting_bits / cfg.task_bits
        has_task = self.head_task >= 0
        has_bundle = self.head_bundle >= 0
        hb = self.head_bundle[has_bundle]
        ht = self.head_task[has_task]
        cpu_backlog = np.maximum(self.cpu_free - t, 0.0)

        obs = self._static_obs.copy()
        obs[has_task, _C["has_task"]] = 1.0
        obs[has_task, _C["task_bits"]] = tk.bits[ht] / cfg.task_bits
        obs[has_bundle, _C["head_bits"]] = b.bits[hb] / cfg.task_bits
        obs[has_bundle, _C["head_age"]] = (t - tk.arrival[b.task[hb]]) / cfg.ttl_s
        obs[:, _C["waiting_bits"]] = waiting
        obs[:, _C["local_backlog_s"]] = np.maximum(self.local_free - t, 0.0)
        obs[:, _C["cpu_backlog_s"]] = cpu_backlog
        port = OBS.port_block(obs)
        port[:, :, _P["link_backlog_s"]] = link_backlog
        # a missing neighbour reads the 0 at index n
        port[:, :, _P["nbr_waiting_bits"]] = np.append(waiting, 0.0)[self._nbr_pad]
        port[:, :, _P["nbr_cpu_backlog_s"]] = np.append(cpu_backlog, 0.0)[self._nbr_pad]
        self.obs = obs

        has_task &= self.sat_up
        route = has_bundle & ~has_task & self.sat_up
        mask = np.zeros((n, self.n_actions), np.int8)
        mask[route] = self._route_mask[route]
        mask[has_task, FIRST_RATIO:] = 1
        self.deciding = route | has_task
        mask[self.deciding, HOLD] = 1  # an agent with nothing to decide has an all-zero mask
        mask.flags.writeable = False  # actions are validated against it: users get it read-only
        self.mask = mask

    # ------------------------------------------------------------------ outputs
    @property
    def state(self) -> OffloadRoutingState:
        """The simulation now, as one typed object (the simulator's own arrays, not copies)."""
        if not hasattr(self, "tasks"):
            raise ValueError("state: the simulation has not been reset yet; call reset() first")
        return OffloadRoutingState(
            t_s=self.t, is_csat=self.is_csat, sat_up=self.sat_up, port_nbr=self.port_nbr, link_up=self.link_up,
            capacity_bps=self.capacity, prop_s=self.prop_s, link_free_s=self.link_free,
            local_free_s=self.local_free, cpu_free_s=self.cpu_free, hops_to_csat=self.hops_to_csat,
            head_task=self.head_task, head_bundle=self.head_bundle, tasks=self.tasks, bundles=self.bundles,
        )

    def task_costs(self) -> np.ndarray:
        """(tasks,) what each task has cost so far (s): its time in the system up to now (to its finish,
        its drop or ``t``); a dropped task ``ttl_s + drop_penalty_s`` in all."""
        tk, cfg = self.tasks, self.cfg
        k = tk.size
        status = tk.status[:k]
        arrival = tk.arrival[:k]
        ended = status >= DONE
        cost = np.where(ended, tk.finish[:k], self.t) - arrival
        return np.where(status == DROPPED, cfg.ttl_s + cfg.drop_penalty_s, cost)

    def transitions(self) -> Transitions:
        if not self._trans:
            z = np.zeros(0)
            cols = (z.astype(np.int64), np.zeros((0, self.obs_dim), np.float32), z.astype(np.int64), z,
                    z.astype(np.int64), np.zeros((0, self.obs_dim), np.float32),
                    np.zeros((0, self.n_actions), np.int8), z.astype(bool))
        else:
            cols = tuple(np.concatenate(c) for c in zip(*self._trans))
        return Transitions(zip(TRANSITION_FIELDS, cols))

    def accounting(self) -> dict[str, float]:
        """Tasks and bits by where they are now, counted from the tables (not from the counters)."""
        tk, b = self.tasks, self.bundles
        status = tk.status[: tk.size]
        live = b.state[: b.size] != FREE
        pending_bits = float(tk.bits[: tk.size][status == PENDING].sum())
        local_bits = float(np.sum((tk.rho * tk.bits)[: tk.size][tk.local_open[: tk.size]]))
        bundle_bits = float(b.bits[: b.size][live].sum())
        return {
            "arrived_tasks": self.counts["arrived_tasks"],
            "finished_tasks": int(np.count_nonzero(status == DONE)),
            "dropped_tasks": int(np.count_nonzero(status == DROPPED)),
            "in_flight_tasks": int(np.count_nonzero((status == PENDING) | (status == ACTIVE))),
            "arrived_bits": self.counts["arrived_bits"],
            "done_bits": self.counts["done_bits"],
            "dropped_bits": self.counts["dropped_bits"],
            "in_flight_bits": pending_bits + local_bits + bundle_bits,
        }

    def metrics(self) -> dict[str, float]:
        """Episode metrics, headline first: ``mean_task_cost_s``, the mean cost of the tasks that arrived
        more than one TTL ago (a finished task its delay, a dropped one ``ttl_s + drop_penalty_s``);
        ``total_cost_s``, what all tasks have cost so far (minus the team return up to now).
        ``mean_delay_s`` / ``p95_delay_s`` are over finished tasks only. Never NaN: 0.0 when nothing
        qualifies yet. The env puts them into every step's info, so this stays cheap: no copies of the
        link windows, and numpy's percentile without its wrapper (same values to the bit)."""
        tk, cfg = self.tasks, self.cfg
        k = tk.size
        status = tk.status[:k]
        arrival = tk.arrival[:k]
        finish = tk.finish[:k]
        done = status == DONE
        dropped = status == DROPPED
        n_done = int(np.count_nonzero(done))
        delays = (finish - arrival)[done]
        arrived = max(int(k), 1)
        elapsed = max(self.t, 1e-12)
        w_len = cfg.utilization_window_s
        n_used = max(int(np.searchsorted(self._window_start_s, elapsed)), 1)  # windows begun (a prefix)
        lengths = np.minimum(elapsed - self._window_start_s[:n_used], w_len)  # np.clip of the used ones
        exists = self._port_exists
        # peak of busy / window length over windows and existing links: the max of each window divided by
        # its length (division by a positive number keeps the order, so the value is the same)
        used = self.link_busy[:n_used]
        if self._all_ports_exist:
            window_max = used.max(axis=(1, 2))
        else:
            window_max = np.max(used, axis=(1, 2), where=exists, initial=-np.inf)
        peak = float((window_max / lengths).max()) if self._any_port_exists else 0.0
        busy_total = self.link_busy.sum(axis=0)
        mean_busy = busy_total.mean() if self._all_ports_exist else busy_total[exists].mean()  # same sum order
        cpu = self.cpu_busy_s[self.is_csat]
        jain = float(cpu.sum() ** 2 / (cpu.size * np.sum(cpu * cpu))) if cpu.max() > 0 else 1.0
        cost = self.task_costs()
        # scored: tasks that arrived more than one TTL ago, all finished or dropped by now
        scored = (self.t - arrival) > cfg.ttl_s
        n_scored = int(np.count_nonzero(scored))
        return {
            "mean_task_cost_s": float(cost[scored].sum()) / n_scored if n_scored else 0.0,  # = mean()
            "total_cost_s": float(cost.sum()),
            "scored_tasks": n_scored,
            "mean_delay_s": float(delays.sum()) / n_done if n_done else 0.0,
            "p95_delay_s": percentile(delays, 95) if n_done else 0.0,
            "completion_rate": float(n_done / arrived),
            "drop_rate": float(np.count_nonzero(dropped) / arrived),
            "mean_isl_utilization": float(mean_busy / elapsed),
            "peak_isl_utilization": peak,
            "csat_load_jain": jain,
            "finished_tasks": n_done,
            "arrived_tasks": int(k),
        }
