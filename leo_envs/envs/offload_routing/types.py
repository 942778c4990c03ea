"""Action layout, observation layout, entity states, the simulator's state and the per-slot record of
offload_routing_v3. Everything outside ``dynamics.py`` reads the simulation through these names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Action layout: one Discrete(FIRST_RATIO + ratio_levels) for every agent
HOLD = 0  # keep the head-of-line data queued for this slot
FIRST_PORT = 1  # 1..4: send the head bundle over +Grid port k (see PORT_NAMES)
NUM_PORTS = 4
COMPUTE = 5  # C-Sats: run the head bundle on the large model here
FIRST_RATIO = 6  # 6..6+L-1: split the new task with local share rho = level / (L - 1)
PORT_NAMES = ("fore", "aft", "left", "right")  # next slot, previous slot, previous plane, next plane

# bundle states
FREE, AT_NODE, ON_LINK, COMPUTING = 0, 1, 2, 3
# task states
PENDING, ACTIVE, DONE, DROPPED = 0, 1, 2, 3
# drop reasons (index into DROP_REASONS)
DROP_REASONS = ("ttl", "buffer", "sat_failure")
TTL, BUFFER, SAT_FAILURE = 0, 1, 2

HOP_CAP = 16  # hop distances to the nearest C-Sat are capped here (unreachable included)


# ---------------------------------------------------------------------- observation layout
OWN_FEATURES = (  # name: meaning (unit)
    "is_csat",  # 1 on a C-Sat
    "has_task",  # 1 when a new task waits for its split
    "task_bits",  # size of that task / D
    "head_bits",  # size of the head-of-line bundle / D
    "head_age",  # age of the head bundle's task / TTL
    "waiting_bits",  # bits waiting for a routing decision here / D
    "local_backlog_s",  # small model busy for this long (s)
    "cpu_backlog_s",  # large model busy for this long (s)
    "hops_to_csat",  # hops to the nearest C-Sat / HOP_CAP
)
PORT_FEATURES = (  # per port, in PORT_NAMES order
    "link_up",  # 1 when the ISL is up
    "tx_time",  # transmission time of D bits (s)
    "prop_delay",  # propagation delay (10 ms units)
    "link_backlog_s",  # own transmissions queued on the link (s)
    "nbr_waiting_bits",  # neighbour's waiting bits / D
    "nbr_hops_to_csat",  # neighbour's hops to a C-Sat / HOP_CAP
    "nbr_is_csat",  # 1 when the neighbour is a C-Sat
    "nbr_cpu_backlog_s",  # neighbour's large-model backlog (s)
)


class ObservationLayout:
    """Names of the observation vector's columns: ``OBS.col("task_bits")``, ``OBS.ports("link_up")``
    (the four columns of a per-port feature), ``OBS.names`` (all columns, ports as ``"fore.link_up"``)."""

    def __init__(self) -> None:
        self.own = {name: k for k, name in enumerate(OWN_FEATURES)}
        self.size = len(OWN_FEATURES) + NUM_PORTS * len(PORT_FEATURES)
        self.names = list(OWN_FEATURES) + [f"{p}.{f}" for p in PORT_NAMES for f in PORT_FEATURES]

    def col(self, name: str) -> int:
        """Column of an own feature, or of ``"port.feature"``."""
        if "." in name:
            port, feat = name.split(".", 1)
            return self.port_col(PORT_NAMES.index(port), feat)
        return self.own[name]

    def port_col(self, port: int, feature: str) -> int:
        return len(OWN_FEATURES) + port * len(PORT_FEATURES) + PORT_FEATURES.index(feature)

    def ports(self, feature: str) -> list[int]:
        """The four columns of a per-port feature, in PORT_NAMES order."""
        return [self.port_col(k, feature) for k in range(NUM_PORTS)]

    def port_block(self, obs: np.ndarray) -> np.ndarray:
        """(N, 4, len(PORT_FEATURES)) view of the per-port part of (N, size) observations."""
        return obs[:, len(OWN_FEATURES):].reshape(len(obs), NUM_PORTS, len(PORT_FEATURES))


OBS = ObservationLayout()


# ---------------------------------------------------------------------- tables
TASK_FIELDS = {  # name: (dtype, per-row shape, fill); one row per task that ever arrived
    "arrival": (np.float64, (), np.nan),  # arrival time (s)
    "bits": (np.float64, (), 0.0),  # size D (bit)
    "origin": (np.int64, (), -1),  # its RS-Sat
    "rho": (np.float64, (), -1.0),  # local share chosen (-1: not yet)
    "local_finish": (np.float64, (), np.inf),  # the local part finishes at (s)
    "local_service": (np.float64, (), 0.0),  # the local part's service time (s)
    "off_finish": (np.float64, (), np.inf),  # the offloaded part finishes at (s; -inf: none, inf: not yet known)
    "bundle": (np.int64, (), -1),  # row of its bundle in the bundle table (-1: none)
    "status": (np.int8, (), PENDING),  # PENDING, ACTIVE, DONE or DROPPED
    "finish": (np.float64, (), np.nan),  # finish or drop time (s)
    "drop_reason": (np.int8, (), -1),  # index into DROP_REASONS
    "local_open": (bool, (), False),  # the local part is queued or running
    "lower_bound": (np.float64, (), 0.0),  # the least delay physics allows it (no queueing), s
}

BUNDLE_FIELDS = {  # one row per offloaded part; rows are reused once FREE
    "task": (np.int64, (), -1),  # its task
    "bits": (np.float64, (), 0.0),  # size (bit)
    "node": (np.int64, (), -1),  # the satellite holding it (the sender while ON_LINK)
    "state": (np.int8, (), FREE),  # FREE, AT_NODE, ON_LINK or COMPUTING
    "ready": (np.float64, (), 0.0),  # joined its holder's waiting queue at (s)
    "port": (np.int64, (), -1),  # port it is sent on while ON_LINK
    "tx_start": (np.float64, (), 0.0),  # transmission starts (s)
    "tx_finish": (np.float64, (), 0.0),  # transmission ends (s)
    "arrive": (np.float64, (), 0.0),  # last bit reaches the next satellite (s)
    "service": (np.float64, (), 0.0),  # large-model service time (s) once COMPUTING
    "done_time": (np.float64, (), 0.0),  # computation ends (s)
    "path_s": (np.float64, (), 0.0),  # transmission + propagation so far (s)
    "hops": (np.int64, (), 0),  # ISL hops so far
    "last_agent": (np.int64, (), -1),  # agent whose routing transition is open (-1: none)
    "last_obs": (np.float32, (OBS.size,), 0.0),  # its observation then
    "last_action": (np.int64, (), -1),  # its action then
    "last_time": (np.float64, (), 0.0),  # and the time (s)
}


class Table:
    """Structure-of-arrays (one array attribute per field) with amortised growth; rows ``[:size]``."""

    def __init__(self, fields: dict[str, tuple], capacity: int):
        self._fields = fields
        self.size = 0
        for name, (dtype, shape, fill) in fields.items():
            setattr(self, name, np.full((capacity, *shape), fill, dtype=dtype))

    @property
    def capacity(self) -> int:
        return len(getattr(self, next(iter(self._fields))))

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


# ---------------------------------------------------------------------- state
@dataclass(frozen=True)
class OffloadRoutingState:
    """What the simulation is at time ``t_s`` (arrays are the simulator's own: read, do not write).

    Per satellite (N,) or per satellite and port (N, 4), ports in PORT_NAMES order."""

    t_s: float  # seconds since the episode began
    is_csat: np.ndarray  # (N,) bool: carries a large model
    sat_up: np.ndarray  # (N,) bool: not failed
    port_nbr: np.ndarray  # (N, 4) neighbour on each port (-1: none)
    link_up: np.ndarray  # (N, 4) bool: ISL up now
    capacity_bps: np.ndarray  # (N, 4) Shannon capacity (0 when down), bit/s
    prop_s: np.ndarray  # (N, 4) propagation delay, s
    link_free_s: np.ndarray  # (N, 4) the link's queued transmissions end at, s
    local_free_s: np.ndarray  # (N,) the small model's queue empties at, s
    cpu_free_s: np.ndarray  # (N,) the large model's queue empties at, s
    hops_to_csat: np.ndarray  # (N,) hops to the nearest C-Sat (capped at HOP_CAP)
    head_task: np.ndarray  # (N,) oldest new task of each RS-Sat (-1: none)
    head_bundle: np.ndarray  # (N,) oldest waiting bundle of each satellite (-1: none)
    tasks: Table  # TASK_FIELDS, rows [:tasks.size]
    bundles: Table  # BUNDLE_FIELDS, rows [:bundles.size]

    def backlog_s(self, free_s: np.ndarray) -> np.ndarray:
        """Time until a queue that empties at ``free_s`` is idle (0 when idle)."""
        return np.maximum(free_s - self.t_s, 0.0)


@dataclass
class SlotRecord:
    """Who held what during one slot ``[t0, t1]``: what the reward terms charge.

    Each task in the system during the slot is charged to the holders of its open parts (an undecided
    task and a local part to its RS-Sat, a bundle to the satellite holding it): each holder pays the
    task's time in the slot that falls in its window ``[held_from, held_until]``
    (per-agent credit: the RS-Sat while the local part is open, the bundle's holder after; team credit:
    the RS-Sat, the whole slot). A dropped task lists the holders at the moment of the drop, with equal
    shares. A bundle handed from one satellite to the next records the sender, the receiver and the
    value of the hand-over (``rewards.handover_credit``)."""

    t0: float
    t1: float
    held_task: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (K,) task of each part
    held_agent: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (K,) its holder
    held_from: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) s, start of the holder's window
    held_until: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) s, its end
    drops: list = field(default_factory=list)  # (task, agent, share) arrays per drop event
    handovers: list = field(default_factory=list)  # (sender, receiver, value_s) arrays per delivery batch

    def dropped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.drops:
            z = np.zeros(0, np.int64)
            return z, z, np.zeros(0)
        return tuple(np.concatenate(c) for c in zip(*self.drops))


TRANSITION_FIELDS = ("agent", "obs", "action", "delay_s", "next_agent", "next_obs", "next_action_mask", "done")


class Transitions(dict):
    """Per-bundle routing transitions completed in one slot (Q-routing style): a dict of arrays of
    length K (keys ``TRANSITION_FIELDS``), also readable as attributes (``tr.delay_s``).

    ``delay_s`` is the time from ``agent``'s decision to ``next_agent``'s decision on the same bundle
    (or, with ``done``, to the end of its computation, plus the drop penalty if it was dropped).
    A plain dict underneath, so it compares, copies and pickles like one.
    """

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def size(self) -> int:
        return len(self["agent"])
