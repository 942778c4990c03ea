"""K episodes of Aggregation-v2 as arrays with a leading copy axis: the instances (padded to the longest
list of businesses to reassign) and the dynamics of ``dynamics.AggregationState`` on all of them at once.

Every number is computed with the same floating-point operations, in the same order, as the single
episode's ``AggregationState`` (and the env's observation and reward code), so copy k of a batch equals
the single env bit for bit; the equivalence tests hold the two to that. Where the single code sums a
selection (``x[mask].sum()``), ``selected_sum`` reproduces numpy's summation order row by row.
"""

from __future__ import annotations

import numpy as np

from .dynamics import MIN_DELAY_INCREMENT_S
from .types import AggregationInstance

# (K, T, M) instance arrays, one row per business to reassign and one column per service satellite:
# the instance's field -> the batch's attribute
ROUTE_FIELDS = {"link": "link", "relayed": "relayed", "send_s": "send_s", "tx_s": "tx_s", "prop_s": "prop_s",
                "distance_m": "distance_m", "transfer_energy_j": "route_energy_j", "extra_comp_j": "route_extra_comp_j"}


def selected_sum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(K,) ``values[k][mask[k]].sum()`` for every row k, bit for bit: numpy sums a contiguous run of n
    numbers in an order that depends on n, so rows are grouped by their count and each group summed as a
    contiguous (rows, n) block."""
    counts = mask.sum(axis=1)
    packed = np.take_along_axis(values, np.argsort(~mask, axis=1, kind="stable"), axis=1)
    out = np.zeros(len(values))
    for n in np.unique(counts):
        if n:
            rows = np.flatnonzero(counts == n)
            out[rows] = packed[rows, :n].sum(axis=1)
    return out


class AggregationBatch:
    """The instances and dynamic state of K episodes of M service satellites. ``load(k, instance)``
    starts copy k's episode; ``valid``, ``assign``, ``delays``, ``metrics`` ... act on every copy."""

    def __init__(self, num_copies: int, num_sats: int) -> None:
        self.num_copies, self.m = num_copies, num_sats
        k, m = num_copies, num_sats
        self.rows = np.arange(k)
        self.capacity = 0  # transfers the (K, T, M) arrays hold per copy; grows with the longest instance
        # per copy: the instance's scalars and (M,) arrays
        self.num_transfers = np.zeros(k, np.int64)
        self.capacity_bits = np.zeros(k)
        self.period_s = np.zeros(k)
        self.t_before_s = np.zeros(k)
        self.e_noagg_j = np.zeros(k)
        self.own_violations = np.zeros(k, np.int64)
        self.working = np.zeros((k, m), bool)
        self.own_load_s = np.zeros((k, m))
        self.volume_bits = np.zeros((k, m))
        self.p_comp_w = np.zeros((k, m))
        self.sleep_saving_w = np.zeros(k)  # p_idle - p_sleep
        # the dynamic state (``AggregationState``'s fields)
        self.k = np.zeros(k, np.int64)
        self.send_backlog_s = np.zeros((k, m))
        self.last_arrival_s = np.zeros((k, m))
        self.batch_comp_s = np.zeros((k, m))
        self.received_bits = np.zeros((k, m))
        self.count = np.zeros((k, m), np.int64)
        self.stranded_load_s = np.zeros((k, m))  # per sender: compute time of its stranded businesses
        self.transfer_energy_j = np.zeros(k)
        self.extra_comp_j = np.zeros(k)
        self._grow(1)

    def _grow(self, transfers: int) -> None:
        """Room for ``transfers`` businesses per copy (at least doubling, so loads rarely reallocate)."""
        if transfers <= self.capacity:
            return
        new = max(transfers, 2 * self.capacity)
        k, m, old = self.num_copies, self.m, self.capacity

        def grown(arr: np.ndarray | None, shape, dtype, fill=0) -> np.ndarray:
            out = np.full(shape, fill, dtype)
            if arr is not None:
                out[:, :old] = arr
            return out

        for name in ROUTE_FIELDS.values():
            dtype = bool if name in ("link", "relayed") else float
            setattr(self, name, grown(getattr(self, name, None), (k, new, m), dtype))
        for name, dtype, fill in (("sender", np.int64, 0), ("bits", float, 0.0), ("comp_s", float, 0.0),
                                  ("deadline_s", float, 0.0), ("sender_total", np.int64, 1),
                                  ("sender_after", np.int64, 0), ("assigned", np.int64, -1),
                                  ("stranded", bool, False), ("in_episode", bool, False)):
            setattr(self, name, grown(getattr(self, name, None), (k, new), dtype, fill))
        self.capacity = new

    # ------------------------------------------------------------------ starting an episode
    def load(self, c: int, inst: AggregationInstance) -> None:
        """Copy ``c`` starts the episode of ``inst`` (``AggregationState(inst)``)."""
        n = inst.num_transfers
        self._grow(n)
        self.num_transfers[c] = n
        self.capacity_bits[c] = inst.capacity_bits
        self.period_s[c] = inst.period_s
        self.t_before_s[c] = inst.t_before_s
        self.e_noagg_j[c] = inst.e_noagg_j
        stays = inst.working[inst.origin]
        self.own_violations[c] = np.count_nonzero(stays & (inst.own_finish_s > inst.deadline_s))
        self.working[c] = inst.working
        self.own_load_s[c] = inst.own_load_s
        self.volume_bits[c] = inst.volume_bits
        self.p_comp_w[c] = inst.power.p_comp_w[: self.m]
        self.sleep_saving_w[c] = inst.power.p_idle_w - inst.power.p_sleep_w
        for field, name in ROUTE_FIELDS.items():
            arr = getattr(self, name)
            arr[c, :n] = getattr(inst, field)
            arr[c, n:] = 0
        b = inst.transfer
        sender = inst.sender
        for name, values, fill in (("sender", sender, 0), ("bits", inst.bits[b], 0.0), ("comp_s", inst.comp_s[b], 0.0),
                                   ("deadline_s", inst.deadline_s[b], 0.0)):
            arr = getattr(self, name)
            arr[c, :n] = values
            arr[c, n:] = fill
        # sender_left of the observation: businesses of this sender from here on / all of its businesses
        same = sender[:, None] == sender[None, :]
        self.sender_total[c, :n] = same.sum(axis=1)
        self.sender_after[c, :n] = np.triu(same).sum(axis=1)
        self.sender_total[c, n:], self.sender_after[c, n:] = 1, 0
        self.in_episode[c] = np.arange(self.capacity) < n
        self.assigned[c] = -1
        self.stranded[c] = False
        self.k[c] = 0
        for arr in (self.send_backlog_s, self.last_arrival_s, self.batch_comp_s, self.received_bits, self.count,
                    self.stranded_load_s):
            arr[c] = 0
        self.transfer_energy_j[c] = self.extra_comp_j[c] = 0.0
        self.skip_stranded()

    # ------------------------------------------------------------------ the current decisions
    @property
    def done(self) -> np.ndarray:
        return self.k >= self.num_transfers

    def at_k(self, arr: np.ndarray) -> np.ndarray:
        """Row k of a (K, T, ...) instance array for every copy (the last row for copies that are done)."""
        return arr[self.rows, np.minimum(self.k, self.capacity - 1)]

    def valid(self) -> np.ndarray:
        """(K, M) bool: ``AggregationState.valid`` of every copy."""
        room = self.capacity_bits[:, None] - self.volume_bits - self.received_bits
        ok = self.at_k(self.link) & (room >= self.at_k(self.bits)[:, None])
        ok[self.done] = False
        return ok

    def skip_stranded(self) -> None:
        """Move past businesses that no satellite can take, in every copy."""
        while True:
            rows = np.flatnonzero(~self.done & ~self.valid().any(axis=1))
            if not rows.size:
                return
            k = self.k[rows]
            self.stranded[rows, k] = True
            self.stranded_load_s[rows, self.sender[rows, k]] += self.comp_s[rows, k]
            self.k[rows] += 1

    def arrival_s(self) -> np.ndarray:
        """(K, M) when each copy's current business would arrive at each satellite."""
        sender = self.at_k(self.sender)
        return self.send_backlog_s[self.rows, sender][:, None] + self.at_k(self.tx_s) + self.at_k(self.prop_s)

    def delays(self) -> np.ndarray:
        t = np.where(self.count > 0, np.maximum(self.own_load_s, self.last_arrival_s) + self.batch_comp_s,
                     self.own_load_s)
        return np.where(self.working, t, 0.0)

    def own_trial(self) -> np.ndarray:
        arrival = np.maximum(self.last_arrival_s, self.arrival_s())
        return np.maximum(self.own_load_s, arrival) + self.batch_comp_s + self.at_k(self.comp_s)[:, None]

    def trial_delays(self, valid: np.ndarray) -> np.ndarray:
        """(K, M) the max working finish time if the current business went to each satellite (inf where it
        may not go)."""
        base = self.delays()
        top = np.argmax(base, axis=1)
        is_top = np.arange(self.m)[None, :] == top[:, None]
        second = np.where(is_top, -np.inf, base).max(axis=1) if self.m > 1 else np.zeros(self.num_copies)
        others = np.where(is_top, second[:, None], base[self.rows, top][:, None])
        return np.where(valid, np.maximum(self.own_trial(), others), np.inf)

    # ------------------------------------------------------------------ transitions
    def assign(self, rows: np.ndarray, sats: np.ndarray) -> None:
        """Copies ``rows`` send their current business to ``sats`` (which ``valid()`` must allow)."""
        k = self.k[rows]
        sender = self.sender[rows, k]
        arrival = self.arrival_s()[rows, sats]
        self.last_arrival_s[rows, sats] = np.maximum(self.last_arrival_s[rows, sats], arrival)
        self.send_backlog_s[rows, sender] += self.send_s[rows, k, sats]
        self.batch_comp_s[rows, sats] += self.comp_s[rows, k]
        self.received_bits[rows, sats] += self.bits[rows, k]
        self.count[rows, sats] += 1
        self.transfer_energy_j[rows] += self.route_energy_j[rows, k, sats]
        self.extra_comp_j[rows] += self.route_extra_comp_j[rows, k, sats]
        self.assigned[rows, k] = sats
        self.k[rows] += 1
        self.skip_stranded()

    # ------------------------------------------------------------------ accounting
    def unassigned(self) -> np.ndarray:
        return (self.assigned < 0) & self.in_episode

    def refused(self) -> np.ndarray:
        return self.unassigned() & ~self.stranded

    def asleep(self) -> np.ndarray:
        kept = np.zeros((self.num_copies, self.m), bool)
        rows, t = np.nonzero(self.unassigned())
        kept[rows, self.sender[rows, t]] = True
        return ~self.working & ~kept

    def t_after(self) -> np.ndarray:
        return self.delays().max(axis=1)

    def metrics(self) -> dict[str, np.ndarray]:
        """``AggregationState.metrics`` of every copy, as (K,) arrays."""
        unassigned = self.unassigned()
        refused = unassigned & ~self.stranded
        asleep = self.asleep()
        wake_end = np.minimum(self.send_backlog_s, self.period_s[:, None])
        savings = selected_sum(self.sleep_saving_w[:, None] * (self.period_s[:, None] - wake_end), asleep)
        net = savings - self.transfer_energy_j - self.extra_comp_j
        left = self.stranded_load_s.copy()
        rows, t = np.nonzero(refused)
        left[rows, self.sender[rows, t]] = self.period_s[rows]
        delays = self.delays()
        dt = np.maximum(delays, left).max(axis=1) - self.t_before_s
        done = (self.assigned >= 0) & self.in_episode
        finish = delays[self.rows[:, None], np.maximum(self.assigned, 0)]
        late = np.count_nonzero(done & (finish > self.deadline_s), axis=1)
        n_unassigned = np.count_nonzero(unassigned, axis=1)
        n_stranded = np.count_nonzero(self.stranded, axis=1)
        sleeping = np.count_nonzero(asleep, axis=1)
        return {
            "edr_j_per_s": net / np.maximum(dt, MIN_DELAY_INCREMENT_S),
            "energy_reduction": net / self.e_noagg_j,
            "net_energy_saved_j": net,
            "energy_savings_j": savings,
            "transfer_energy_j": self.transfer_energy_j.copy(),
            "extra_compute_energy_j": self.extra_comp_j.copy(),
            "delay_increment_s": dt,
            "deadline_violations": self.own_violations + late + n_unassigned,
            "working_sats": np.count_nonzero(self.working, axis=1),
            "sleeping_sats": sleeping,
            "aggregated": sleeping > 0,
            "reassigned": self.num_transfers - n_unassigned,
            "unassigned": n_unassigned,
            "stranded": n_stranded,
            "refused": np.count_nonzero(refused, axis=1),
        }
