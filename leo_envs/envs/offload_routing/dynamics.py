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

from ...core import Constellation, FaultModel, Network, RadioLink
from .config import OffloadRoutingConfig
from .types import (
    ACTIVE,
    AT_NODE,
    BUFFER,
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
    ON_LINK,
    PENDING,
    SAT_FAILURE,
    TRANSITION_FIELDS,
    TTL,
    Transitions,
)

_NO_ENTRY = np.iinfo(np.int64).max
POSITION_CHUNK = 64  # topology refreshes propagated per sgp4 call
OWN_FEATURES = 9
PORT_FEATURES = 8


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


class _Table:
    """Structure-of-arrays with amortised growth."""

    def __init__(self, fields: dict[str, tuple], capacity: int):
        self._fields = fields
        self.size = 0
        for name, (dtype, shape, fill) in fields.items():
            setattr(self, name, np.full((capacity, *shape), fill, dtype=dtype))

    @property
    def capacity(self) -> int:
        return len(next(iter(vars(self)[k] for k in self._fields)))

    def grow(self, need: int) -> None:
        cap = self.capacity
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name, (dtype, shape, fill) in self._fields.items():
            old = getattr(self, name)
            arr = np.full((new, *shape), fill, dtype=dtype)
            arr[:cap] = old
            setattr(self, name, arr)


class OffloadRoutingSim:
    """The simulator behind ``offload_routing_v0`` (usable on its own, without PettingZoo)."""

    def __init__(self, cfg: OffloadRoutingConfig):
        self.cfg = cfg
        self.constellation = Constellation.from_preset(cfg.constellation)
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
        self.is_csat = ((self.constellation.slot - cfg.csat_offset) % cfg.csat_every) == 0
        if not self.is_csat.any():
            raise ValueError(f"csat_offset: {cfg.csat_offset} leaves no C-Sat with csat_every={cfg.csat_every}")
        self.rs_nodes = np.flatnonzero(~self.is_csat)
        self.port_nbr, self.port_edge = port_tables(self.network)
        self.n_actions = FIRST_RATIO + cfg.ratio_levels
        self.obs_dim = OWN_FEATURES + NUM_PORTS * PORT_FEATURES
        self.horizon_s = cfg.max_cycles * cfg.dt_s
        self.topo_every = max(1, int(round(cfg.topology_dt_s / cfg.dt_s)))
        self.period_s = 2 * math.pi / (self.constellation.satrecs[0].no_kozai / 60.0)
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
        self.tasks = _Table({
            "arrival": (np.float64, (), np.nan), "bits": (np.float64, (), 0.0), "origin": (np.int64, (), -1),
            "rho": (np.float64, (), -1.0), "local_finish": (np.float64, (), np.inf),
            "off_finish": (np.float64, (), np.inf), "status": (np.int8, (), PENDING),
            "finish": (np.float64, (), np.nan), "drop_reason": (np.int8, (), -1),
            "local_open": (bool, (), False), "lower_bound": (np.float64, (), 0.0),
        }, 1024)
        self.bundles = _Table({
            "task": (np.int64, (), -1), "bits": (np.float64, (), 0.0), "node": (np.int64, (), -1),
            "state": (np.int8, (), FREE), "ready": (np.float64, (), 0.0), "port": (np.int64, (), -1),
            "tx_start": (np.float64, (), 0.0), "tx_finish": (np.float64, (), 0.0), "arrive": (np.float64, (), 0.0),
            "done_time": (np.float64, (), 0.0), "path_s": (np.float64, (), 0.0), "hops": (np.int64, (), 0),
            "last_agent": (np.int64, (), -1), "last_obs": (np.float32, (self.obs_dim,), 0.0),
            "last_action": (np.int64, (), -1), "last_time": (np.float64, (), 0.0),
        }, 512)
        self.open_tasks = np.zeros(0, dtype=np.int64)
        self.local_free = np.zeros(n)
        self.cpu_free = np.zeros(n)
        self.cpu_busy_s = np.zeros(n)
        self.link_free = np.zeros((n, NUM_PORTS))
        n_windows = int(math.ceil(self.horizon_s / cfg.utilization_window_s)) + 1
        self.link_busy = np.zeros((n_windows, n, NUM_PORTS))
        self.counts = {"arrived_tasks": 0, "finished_tasks": 0, "dropped_tasks": 0, "masked_actions": 0,
                       "rerouted_bundles": 0, "arrived_bits": 0.0, "done_bits": 0.0, "dropped_bits": 0.0}
        self.drops_by_reason = dict.fromkeys(DROP_REASONS, 0)
        self.link_up = np.zeros((n, NUM_PORTS), bool)
        self.sat_up = np.ones(n, bool)
        self._reset_step_outputs()
        self._refresh_topology(0.0)
        self._observe()

    def _reset_step_outputs(self) -> None:
        self.reward = np.zeros(self.n)
        self.terms = {"task_delay": 0.0, "hop_delay": 0.0, "compute_delay": 0.0, "drop": 0.0}
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
        self._drop_bundles(lost, SAT_FAILURE, t)
        tk = self.tasks
        ot = self.open_tasks
        origin_failed = failed[tk.origin[ot]]
        pending = ot[origin_failed & (tk.status[ot] == PENDING)]
        self._drop_tasks(pending, SAT_FAILURE, t, tk.bits[pending])
        local_lost = ot[origin_failed & tk.local_open[ot] & (tk.local_finish[ot] > t)]
        if local_lost.size:
            lost_bits = tk.rho[local_lost] * tk.bits[local_lost]
            tk.local_open[local_lost] = False
            self._drop_tasks(local_lost, SAT_FAILURE, t, lost_bits)
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

    def _drop_tasks(self, idx: np.ndarray, reason: int, t: float, bits: np.ndarray, blame=None) -> None:
        """Count ``bits`` of tasks ``idx`` as dropped; tasks not yet dropped become DROPPED and cost
        the drop penalty, charged in "hop" mode to ``blame`` (default: the task's RS-Sat)."""
        if idx.size == 0:
            return
        tk = self.tasks
        self.counts["dropped_bits"] += float(np.sum(bits))
        blame = tk.origin[idx] if blame is None else np.asarray(blame)
        first_time = tk.status[idx] != DROPPED
        _, uniq = np.unique(idx, return_index=True)
        keep = np.zeros(idx.size, bool)
        keep[uniq] = True
        fresh, blame = idx[first_time & keep], blame[first_time & keep]
        if fresh.size:
            tk.status[fresh] = DROPPED
            tk.drop_reason[fresh] = reason
            tk.finish[fresh] = t
            self.counts["dropped_tasks"] += int(fresh.size)
            self.drops_by_reason[DROP_REASONS[reason]] += int(fresh.size)
            self.dropped_now += int(fresh.size)
            penalty = self.cfg.drop_penalty_s
            self.terms["drop"] -= penalty * fresh.size
            if self.cfg.reward_mode == "hop":
                np.add.at(self.reward, blame, -penalty)

    def _drop_bundles(self, idx: np.ndarray, reason: int, t: float) -> None:
        if idx.size == 0:
            return
        b = self.bundles
        self._emit(idx, t, None, terminal_extra=self.cfg.drop_penalty_s)
        blame = np.where(b.last_agent[idx] >= 0, b.last_agent[idx], b.node[idx])
        self._drop_tasks(b.task[idx], reason, t, b.bits[idx], blame)
        b.state[idx] = FREE

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
        hop_delay = delay - terminal_extra
        self.terms["hop_delay"] -= float(np.sum(hop_delay))
        if self.cfg.reward_mode == "hop":
            self.reward -= np.bincount(agent, weights=hop_delay, minlength=self.n)

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
        self.steps += 1
        if self.steps % self.topo_every == 0:
            self._refresh_topology(t2)
        self._deliver(t2)
        self._finish(t2)
        self._expire(t2)
        self._arrivals(t, t2)
        self.t = t2
        self._observe()
        if cfg.reward_mode == "team":
            self.reward[:] = self.terms["task_delay"] + self.terms["drop"]

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

    def _decide_ratios(self, nodes: np.ndarray, a: np.ndarray, t: float) -> None:
        if nodes.size == 0:
            return
        cfg, tk = self.cfg, self.tasks
        idx = self.head_task[nodes]
        rho = (a[nodes] - FIRST_RATIO) / (cfg.ratio_levels - 1)
        bits = tk.bits[idx]
        local_bits = rho * bits
        service = local_bits * cfg.small_model_cycles_per_bit / cfg.rs_cpu_hz
        start = np.maximum(t, self.local_free[nodes])
        has_local = local_bits > 0
        finish = np.where(has_local, start + service, t)
        self.local_free[nodes] = np.where(has_local, finish, self.local_free[nodes])
        tk.rho[idx] = rho
        tk.local_finish[idx] = finish
        tk.local_open[idx] = has_local
        tk.lower_bound[idx] = service
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
        capacity = self.capacity[nodes, port]
        tx = b.bits[idx] / capacity
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
        service = b.bits[idx] * cfg.large_model_cycles_per_bit / cfg.cs_cpu_hz
        start = np.maximum(t, self.cpu_free[nodes])
        finish = start + service
        self.cpu_free[nodes] = finish
        self.cpu_busy_s[nodes] += service
        b.state[idx] = COMPUTING
        b.done_time[idx] = finish
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
        self.terms["compute_delay"] -= float(np.sum(delay))
        if cfg.reward_mode == "hop":
            self.reward[nodes] -= delay  # one decision per node

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
        self._drop_bundles(due[down], SAT_FAILURE, t2)
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
            self._drop_bundles(due[full], BUFFER, t2)
        ok = due[~full]
        b.state[ok] = AT_NODE
        b.node[ok] = nxt[~full]
        b.ready[ok] = b.arrive[ok]
        b.port[ok] = -1

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
        done = live[b.done_time[live] <= t2]
        if done.size:
            self.counts["done_bits"] += float(b.bits[done].sum())
            b.state[done] = FREE
        ot = self.open_tasks
        local_done = ot[tk.local_open[ot] & (tk.local_finish[ot] <= t2)]
        if local_done.size:
            self.counts["done_bits"] += float(np.sum(tk.rho[local_done] * tk.bits[local_done]))
            tk.local_open[local_done] = False
        active = ot[tk.status[ot] == ACTIVE]
        fin_time = np.maximum(tk.local_finish[active], tk.off_finish[active])
        finished = active[fin_time <= t2]
        if finished.size:
            tk.status[finished] = DONE
            tk.finish[finished] = np.maximum(tk.local_finish[finished], tk.off_finish[finished])
            delay = tk.finish[finished] - tk.arrival[finished]
            self.counts["finished_tasks"] += int(finished.size)
            self.finished_now += int(finished.size)
            self.terms["task_delay"] -= float(delay.sum())

    def _expire(self, t2: float) -> None:
        cfg, b, tk = self.cfg, self.bundles, self.tasks
        ot = self.open_tasks
        old = ot[(tk.status[ot] == PENDING) & (t2 - tk.arrival[ot] > cfg.ttl_s)]
        self._drop_tasks(old, TTL, t2, tk.bits[old])
        live = np.flatnonzero(b.state[: b.size] == AT_NODE)
        stale = live[t2 - tk.arrival[b.task[live]] > cfg.ttl_s]
        self._drop_bundles(stale, TTL, t2)
        keep = (tk.status[ot] <= ACTIVE) | tk.local_open[ot]
        self.open_tasks = ot[keep]

    def _arrivals(self, t: float, t2: float) -> None:
        cfg, tk = self.cfg, self.tasks
        src = self.rs_nodes[self.sat_up[self.rs_nodes]]
        counts = self.rng.poisson(cfg.task_rate_hz * (t2 - t), src.size)
        k = int(counts.sum())
        if k == 0:
            return
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
        obs[:, 0] = self.is_csat
        obs[:, 8] = hops
        port = obs[:, OWN_FEATURES:].reshape(n, NUM_PORTS, PORT_FEATURES)
        port[:, :, 0] = self.link_up
        port[:, :, 1] = np.where(self.link_up, cfg.task_bits / np.where(self.link_up, self.capacity, 1.0), 0.0)
        port[:, :, 2] = self.prop_s * 100.0  # in units of 10 ms
        port[:, :, 5] = np.where(exists, hops[nbr], 1.0)
        port[:, :, 6] = np.where(exists, self.is_csat[nbr], 0.0)
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
        obs[has_task, 1] = 1.0
        obs[has_task, 2] = tk.bits[ht] / cfg.task_bits
        obs[has_bundle, 3] = b.bits[hb] / cfg.task_bits
        obs[has_bundle, 4] = (t - tk.arrival[b.task[hb]]) / cfg.ttl_s
        obs[:, 5] = waiting
        obs[:, 6] = np.maximum(self.local_free - t, 0.0)
        obs[:, 7] = cpu_backlog
        port = obs[:, OWN_FEATURES:].reshape(n, NUM_PORTS, PORT_FEATURES)
        port[:, :, 3] = link_backlog
        port[:, :, 4] = np.append(waiting, 0.0)[self._nbr_pad]  # a missing neighbour reads the 0 at index n
        port[:, :, 7] = np.append(cpu_backlog, 0.0)[self._nbr_pad]
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
        """Episode metrics of DESIGN.md section 5 (never NaN: 0.0 when nothing finished yet)."""
        tk = self.tasks
        status = tk.status[: tk.size]
        done = status == DONE
        delays = (tk.finish[: tk.size] - tk.arrival[: tk.size])[done]
        arrived = max(int(tk.size), 1)
        elapsed = max(self.t, 1e-12)
        w_len = self.cfg.utilization_window_s
        n_full = self.link_busy.shape[0]
        lengths = np.clip(elapsed - np.arange(n_full) * w_len, 0.0, w_len)
        used = lengths > 0
        exists = self.port_nbr >= 0
        util = self.link_busy[used] / lengths[used, None, None]
        busy_total = self.link_busy.sum(axis=0)
        cpu = self.cpu_busy_s[self.is_csat]
        jain = float(cpu.sum() ** 2 / (cpu.size * np.sum(cpu**2))) if np.any(cpu > 0) else 1.0
        return {
            "mean_delay_s": float(delays.mean()) if delays.size else 0.0,
            "p95_delay_s": float(np.percentile(delays, 95)) if delays.size else 0.0,
            "completion_rate": float(done.sum() / arrived),
            "drop_rate": float(np.count_nonzero(status == DROPPED) / arrived),
            "mean_isl_utilization": float(busy_total[exists].mean() / elapsed),
            "peak_isl_utilization": float(util[:, exists].max()) if util.size else 0.0,
            "csat_load_jain": jain,
            "finished_tasks": int(done.sum()),
            "arrived_tasks": int(tk.size),
        }
