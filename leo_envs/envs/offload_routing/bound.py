"""A lower bound on offload_routing_v3's ``mean_task_cost_s`` that no policy can beat: every task alone.

``lower_bound(env)``, called when an episode has ended, gives each scored task (the tasks the metric
averages: those that arrived more than ``ttl_s`` before the end) the least cost it could have had with
the network to itself, and the mean of these.

Relaxation. Tasks do not meet: no queue (small model, ISL, large model) and no buffer holds anything
but the task's own parts, and no other task's split holds up a satellite's decisions. Everything else is kept
as the simulator applies it, with its own floats: the ratio levels; the split decided at the first slot
after the arrival's and the first hop one slot later; each hop transmitted and propagated at the capacity
and delay of the topology refresh in force at its decision slot, and sent back if the link goes down at a
refresh before the transmission ends; delivery at the end of the first slot that reaches the arrival;
holding a bundle for a later slot; the large model starting at the decision of a C-Sat that is up; the
TTL and the drop cost. Per level, a time-dependent earliest-arrival search over (satellite, slot) gives
the first slot at which any C-Sat can compute the offloaded part; a task's bound is its best level's cost.

Why no policy can beat it. The tasks (arrivals, sizes, origins), the orbits and the faults do not depend
on the policy, so every policy is scored on the same tasks. In any policy's episode, a task's split is
decided no earlier than that first slot, its local part starts no earlier than the decision, each hop is
decided no earlier than the slot the bundle reached its sender and starts transmitting no earlier than
the decision (``max(t, link_free)``) at that slot's capacity, so it is delivered no earlier than the
lone bundle sent then; and the large model starts no earlier than the decision to compute. So a finished
task finishes no earlier than its isolated optimum at the level it was given, and a dropped one costs
``ttl_s + drop_penalty_s``, more than any finish within the TTL. Each scored task costs at least its
bound, and the mean at least the mean bound.

The bound is each task's exact optimum when alone: a policy following ``isolated_schedules`` reaches it,
task for task, on episodes where tasks never meet. Under load, a policy's gap to it is queueing plus its
own suboptimal choices.

Supported: any config with ``task_bits_spread = 0``; ISL faults are followed exactly (the episode's own
fault timeline). With satellite faults the bound stays valid but is looser: the losses a failure causes
(the parts held by a failed satellite) are not modelled.

Cost: per ratio level, one (slots, satellites, 4) table of delivery slots and a search vectorised over
the tasks that stops after a few rounds. One thread: 0.05 s on tiny, 0.2 s on iridium, 2.2 s on
starlink_shell1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import OffloadRoutingConfig
from .dynamics import POSITION_CHUNK, OffloadRoutingSim
from .service import local_service_s, remote_service_s, transmit_s
from .types import NUM_PORTS

NEVER = np.iinfo(np.int32).max  # slot of a delivery that cannot happen, or of a satellite not reached


@dataclass(frozen=True, eq=False)
class LowerBound:
    """The bound of one episode (arrays read-only)."""

    mean_task_cost_s: float  # mean of task_cost_s; 0.0 without scored tasks, like the env's metric
    task_cost_s: np.ndarray  # (n_tasks,) each scored task's bound, s
    n_tasks: int  # scored tasks: the env's scored_tasks
    task_index: np.ndarray  # (n_tasks,) their rows in env.sim.state.tasks


@dataclass(frozen=True)
class TaskSchedule:
    """How a task reaches its bound alone: its ratio level, each hop as (satellite, port, slot the bundle
    is sent), the C-Sat that computes it on arrival, and that slot. No hops and ``csat = -1`` when nothing
    is offloaded or no C-Sat can be reached in time."""

    level: int
    hops: tuple[tuple[int, int, int], ...]
    csat: int
    compute_slot: int


def lower_bound(env: Any) -> LowerBound:
    """The bound on ``mean_task_cost_s`` of the episode ``env`` (an offload_routing_v3 ParallelEnv) has just
    played to its end. ``ValueError`` before the end and for configs it does not support."""
    sim = _ended_sim(env)
    tasks = _Tasks.of(sim)
    scored = np.flatnonzero((sim.t - tasks.arrival_s) > sim.cfg.ttl_s)  # the metric's scored tasks
    cost, _ = _best_levels(sim, _LinkStates.of(sim), tasks.take(scored))
    cost.flags.writeable = False
    scored.flags.writeable = False
    n = int(scored.size)
    mean = float(cost.sum()) / n if n else 0.0  # the metric's own formula
    return LowerBound(mean_task_cost_s=mean, task_cost_s=cost, n_tasks=n, task_index=scored)


def isolated_schedules(env: Any) -> list[TaskSchedule]:
    """For every task of the ended episode (the rows of ``env.sim.state.tasks``), a schedule reaching its
    bound when the task is alone in the network. The tasks do not depend on the policy, so a policy that
    replays the same seed following these reaches the bound on every task that meets no other."""
    sim = _ended_sim(env)
    tasks = _Tasks.of(sim)
    links = _LinkStates.of(sim)
    _, best_level = _best_levels(sim, links, tasks)
    schedules: list[TaskSchedule] = [TaskSchedule(sim.cfg.ratio_levels - 1, (), -1, -1)] * tasks.size
    for level in np.unique(best_level):
        rows = np.flatnonzero(best_level == level)
        _, routes = _level_costs(sim, links, tasks.take(rows), int(level), keep_routes=True)
        for i, row in enumerate(rows):
            schedules[row] = _schedule(routes, i, int(level), int(tasks.origin[row]))
    return schedules


# ---------------------------------------------------------------------- checks and inputs
def _ended_sim(env: Any) -> OffloadRoutingSim:
    sim = getattr(getattr(env, "unwrapped", env), "sim", None)
    if not isinstance(sim, OffloadRoutingSim):
        raise TypeError(f"env: expected an offload_routing_v3 ParallelEnv, got {type(env).__name__}")
    _check_supported(sim.cfg)
    if not hasattr(sim, "tasks"):
        raise ValueError("lower_bound: the env has not been reset; call it after an episode's last step")
    if sim.steps != sim.cfg.max_cycles:
        raise ValueError(f"lower_bound: the episode has not ended (slot {sim.steps} of max_cycles="
                         f"{sim.cfg.max_cycles}); call it after the last step, when env.agents is empty: only then "
                         "are all the tasks the metric scores in the task table")
    return sim


def _check_supported(cfg: OffloadRoutingConfig) -> None:
    if cfg.task_bits_spread != 0.0:
        raise ValueError(f"task_bits_spread: {cfg.task_bits_spread!r} is not supported by lower_bound, which needs "
                         "task_bits_spread=0.0 (every task task_bits bits: one table of delivery slots per ratio "
                         "level instead of one per task)")


@dataclass(frozen=True)
class _Tasks:
    arrival_s: np.ndarray
    origin: np.ndarray
    first_slot: np.ndarray  # the slot whose decisions can first split the task

    @property
    def size(self) -> int:
        return int(self.arrival_s.size)

    @classmethod
    def of(cls, sim: OffloadRoutingSim) -> _Tasks:
        tk = sim.state.tasks
        arrival = tk.arrival[: tk.size].copy()
        # arrivals of the step starting at slot k lie in [k*dt, (k+1)*dt] (k*dt + U(0, dt) in floats), so this is
        # k + 1, the first slot after the arrival's step, except for an arrival exactly at k*dt: one slot early,
        # which can only lower the bound
        return cls(arrival, tk.origin[: tk.size].copy(), _first_slot_at_or_after(arrival, sim.cfg.dt_s))

    def take(self, rows: np.ndarray) -> _Tasks:
        return _Tasks(self.arrival_s[rows], self.origin[rows], self.first_slot[rows])


def _first_slot_at_or_after(time_s: np.ndarray, dt: float) -> np.ndarray:
    """The least integer m with ``time_s <= m * dt`` as the simulator compares it, in floats (finite times)."""
    m = np.ceil(time_s / dt)
    m -= (m - 1) * dt >= time_s  # time_s / dt may round across an integer: one step either way at most
    m += m * dt < time_s
    return m.astype(np.int64)


@dataclass(frozen=True)
class _LinkStates:
    """What each topology refresh j sets, for the decision slots j * topo_every ... (j + 1) * topo_every - 1."""

    up: np.ndarray  # (J, N, 4) the port's ISL is up
    capacity_bps: np.ndarray  # (J, N, 4), 0 where down
    prop_s: np.ndarray  # (J, N, 4)
    sat_up: np.ndarray  # (J, N)
    next_down_s: np.ndarray  # (J, N, 4) the first later refresh at which the ISL is down, s (inf: none)

    @classmethod
    def of(cls, sim: OffloadRoutingSim) -> _LinkStates:
        """As ``OffloadRoutingSim._refresh_topology`` computes them, at the same times with the same floats,
        reading the network without changing it (its fault timeline answers by time, whatever the order, and
        the episode has asked it about all these times already)."""
        n_refresh = (sim.cfg.max_cycles - 1) // sim.topo_every + 1
        refresh_s = np.arange(n_refresh) * sim.topo_every * sim.cfg.dt_s  # the simulator's steps * dt
        positions = _refresh_positions(sim, n_refresh)
        has_port = sim.port_edge >= 0
        edge = np.where(has_port, sim.port_edge, 0)
        up = np.zeros((n_refresh, sim.n, NUM_PORTS), bool)
        capacity = np.zeros(up.shape)
        prop = np.zeros(up.shape)
        sat_up = np.zeros((n_refresh, sim.n), bool)
        for j, t in enumerate(refresh_s.tolist()):
            snap = sim.network.snapshot(sim.start_s + t, positions[j], fault_t_s=t)
            up[j] = has_port & snap.isl_up[edge]
            capacity[j] = np.where(up[j], snap.isl_capacity_bps[edge], 0.0)
            prop[j] = np.where(has_port, snap.isl_delay_s[edge], 0.0)
            sat_up[j] = snap.sat_up
        down_s = np.where(up, np.inf, refresh_s[:, None, None])
        first_down_from = np.minimum.accumulate(down_s[::-1], axis=0)[::-1]  # over refreshes j' >= j
        next_down = np.concatenate([first_down_from[1:], np.full((1, sim.n, NUM_PORTS), np.inf)])
        return cls(up, capacity, prop, sat_up, next_down)


def _refresh_positions(sim: OffloadRoutingSim, n_refresh: int) -> np.ndarray:
    """(J, N, 3) ECEF positions at the refreshes, propagated in the simulator's chunks of times (so every
    position is the very float it used)."""
    chunks = []
    for start in range(0, n_refresh, POSITION_CHUNK):
        times = sim.start_s + (start + np.arange(POSITION_CHUNK)) * sim.topo_every * sim.cfg.dt_s
        chunks.append(sim.constellation.positions_ecef(times))
    return np.concatenate(chunks)[:n_refresh]


# ---------------------------------------------------------------------- the bound
def _best_levels(sim: OffloadRoutingSim, links: _LinkStates, tasks: _Tasks) -> tuple[np.ndarray, np.ndarray]:
    """Each task's least isolated cost over the ratio levels (s), and the lowest level reaching it."""
    cfg = sim.cfg
    best_cost = np.full(tasks.size, cfg.ttl_s + cfg.drop_penalty_s)
    best_level = np.full(tasks.size, cfg.ratio_levels - 1)
    for level in range(cfg.ratio_levels):
        cost, _ = _level_costs(sim, links, tasks, level)
        better = cost < best_cost
        best_cost[better], best_level[better] = cost[better], level
    return best_cost, best_level


@dataclass(frozen=True)
class _Routes:
    """Earliest arrivals of the offloaded parts (one row per task) at one ratio level."""

    finish_s: np.ndarray  # (P,) the large model's earliest finish, s (inf: no C-Sat in time)
    csat: np.ndarray  # (P,) the C-Sat giving it (-1: none)
    label: np.ndarray  # (P, N) the first slot each satellite can act on the bundle (NEVER: not reached)
    came_from: np.ndarray | None  # (P, N) node * NUM_PORTS + port of the hop that set the label (keep_routes)
    delivery: np.ndarray | None  # (K, N, 4) the delivery slots of the level's bundle size (keep_routes)


def _level_costs(sim: OffloadRoutingSim, links: _LinkStates, tasks: _Tasks, level: int,
                 keep_routes: bool = False) -> tuple[np.ndarray, _Routes | None]:
    """Each task's isolated cost (s) when split at ``level``, and the routes of its offloaded part."""
    cfg = sim.cfg
    rho = level / (cfg.ratio_levels - 1)  # as the simulator turns an action into a share
    local_bits = rho * cfg.task_bits
    offload_bits = cfg.task_bits - local_bits
    decided_s = tasks.first_slot * cfg.dt_s
    local_finish = decided_s + local_service_s(local_bits, cfg) if local_bits > 0 else decided_s
    routes = None
    if offload_bits == 0:
        remote_finish = np.full(tasks.size, -np.inf)
    elif offload_bits > cfg.buffer_bits:  # no satellite can receive the bundle, even empty
        remote_finish = np.full(tasks.size, np.inf)
    else:
        routes = _earliest_csat(sim, links, tasks, offload_bits, keep_routes)
        remote_finish = routes.finish_s
    finish = np.maximum(local_finish, remote_finish)
    in_time = finish <= tasks.arrival_s + cfg.ttl_s
    return np.where(in_time, finish - tasks.arrival_s, cfg.ttl_s + cfg.drop_penalty_s), routes


def _delivery_slots(sim: OffloadRoutingSim, links: _LinkStates, bits: float) -> np.ndarray:
    """(K, N, 4) int32: the slot from which the neighbour can act on a lone bundle of ``bits`` sent on
    (satellite, port) at decision slot k; NEVER if the link is down then, or goes down at a refresh before
    the transmission ends (the bundle returns to its sender, as if it had been held)."""
    cfg = sim.cfg
    slot = np.arange(cfg.max_cycles)
    refresh = slot // sim.topo_every
    tx_finish = (slot * cfg.dt_s)[:, None, None] + transmit_s(bits, links.capacity_bps[refresh])
    arrive = tx_finish + links.prop_s[refresh]
    delivered = links.up[refresh] & (tx_finish <= links.next_down_s[refresh]) & (arrive <= sim.horizon_s)
    out = np.full(arrive.shape, NEVER, np.int32)
    out[delivered] = _first_slot_at_or_after(arrive[delivered], cfg.dt_s)
    return out


def _earliest_csat(sim: OffloadRoutingSim, links: _LinkStates, tasks: _Tasks, bits: float,
                   keep_routes: bool) -> _Routes:
    """Earliest finish of the large model on each task's lone bundle of ``bits``, first routable at the slot
    after the split: label-correcting earliest arrival over (satellite, slot), rounds vectorised over tasks,
    pruned by the best finish found so far and by the TTL."""
    cfg, n = sim.cfg, sim.n
    dt, n_slots = cfg.dt_s, cfg.max_cycles
    service_s = float(remote_service_s(bits, cfg))
    deadline = tasks.arrival_s + cfg.ttl_s
    delivery = _delivery_slots(sim, links, bits)
    # holding is allowed, so the best delivery from slot s on is the minimum over sends at k >= s
    earliest = np.minimum.accumulate(delivery[::-1], axis=0)[::-1]

    label = np.full((tasks.size, n), NEVER, np.int64)
    task = np.arange(tasks.size)
    label[task, tasks.origin] = tasks.first_slot + 1
    finish = np.full(tasks.size, np.inf)
    csat = np.full(tasks.size, -1)
    came_from = np.full((tasks.size, n), -1) if keep_routes else None
    routable = tasks.first_slot + 1 < n_slots
    task, node = task[routable], tasks.origin[routable]
    while task.size:
        # every port of every satellite whose label improved in the last round
        task, node = np.repeat(task, NUM_PORTS), np.repeat(node, NUM_PORTS)
        port = np.tile(np.arange(NUM_PORTS), task.size // NUM_PORTS)
        nbr = sim.port_nbr[node, port]
        task, node, port, nbr = task[nbr >= 0], node[nbr >= 0], port[nbr >= 0], nbr[nbr >= 0]
        slot = earliest[label[task, node], node, port].astype(np.int64)
        ok = slot < n_slots
        task, node, port, nbr, slot = task[ok], node[ok], port[ok], nbr[ok], slot[ok]
        done_s = slot * dt + service_s  # no finish through nbr is earlier than computing there on arrival
        ok = ((slot < label[task, nbr]) & (done_s < finish[task]) & (done_s <= deadline[task])
              & links.sat_up[slot // sim.topo_every, nbr])  # a satellite down at delivery loses the bundle
        task, node, port, nbr, slot, done_s = task[ok], node[ok], port[ok], nbr[ok], slot[ok], done_s[ok]
        np.minimum.at(label, (task, nbr), slot)
        won = slot == label[task, nbr]  # the hops setting the new labels (equal ones: any of them)
        task, node, port, nbr, done_s = task[won], node[won], port[won], nbr[won], done_s[won]
        if keep_routes:
            came_from[task, nbr] = node * NUM_PORTS + port
        at_csat = sim.is_csat[nbr]
        np.minimum.at(finish, task[at_csat], done_s[at_csat])
        best = at_csat & (done_s == finish[task])
        csat[task[best]] = nbr[best]
        key = np.unique(task * n + nbr)
        task, node = key // n, key % n
    return _Routes(finish, csat, label, came_from, delivery if keep_routes else None)


def _schedule(routes: _Routes | None, i: int, level: int, origin: int) -> TaskSchedule:
    """Task ``i``'s hops, back from its C-Sat: from each satellite, hold until the first slot from its label
    whose delivery still reaches the next satellite by that one's label."""
    csat = -1 if routes is None else int(routes.csat[i])
    if csat < 0:
        return TaskSchedule(level, (), -1, -1)
    assert routes.came_from is not None and routes.delivery is not None, "found with keep_routes=False"
    label = routes.label[i]
    hops = []
    node = csat
    while node != origin:
        sender, port = divmod(int(routes.came_from[i, node]), NUM_PORTS)
        wait = np.flatnonzero(routes.delivery[label[sender]:, sender, port] <= label[node])[0]
        hops.append((sender, port, int(label[sender] + wait)))
        node = sender
    return TaskSchedule(level, tuple(reversed(hops)), csat, int(label[csat]))
