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
from .types import InstanceArrays

PAIRWISE_BLOCK = 128  # numpy sums runs up to this long with eight running sums, longer ones in halves
# per business to reassign: (the InstanceArrays field, the batch's attribute, its padding, whether it has a
# column per service satellite); the batch holds them as (K, T) or (K, T, M) arrays
LOADED = (("link", "link", False, True), ("relayed", "relayed", False, True), ("send_s", "send_s", 0.0, True),
          ("tx_s", "tx_s", 0.0, True), ("prop_s", "prop_s", 0.0, True), ("distance_m", "distance_m", 0.0, True),
          ("transfer_energy_j", "route_energy_j", 0.0, True), ("extra_comp_j", "route_extra_comp_j", 0.0, True),
          ("sender", "sender", 0, False), ("transfer_bits", "bits", 0.0, False),
          ("transfer_comp_s", "comp_s", 0.0, False), ("transfer_deadline_s", "deadline_s", 0.0, False),
          ("sender_total", "sender_total", 1, False), ("sender_after", "sender_after", 0, False))
DECIDED = (("assigned", -1), ("stranded", False))  # (K, T) dynamic state: the satellite chosen (-1: none yet)


def prefix_sum(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(K,) ``values[k, :lengths[k]].sum()`` for every row k, bit for bit: numpy sums a contiguous run of n
    numbers in an order that depends on n, so rows are grouped by length and each group summed as a
    contiguous (rows, n) block."""
    out = np.zeros(len(values))
    for n in np.unique(lengths):
        if n:
            rows = np.flatnonzero(lengths == n)
            out[rows] = values[rows, :n].sum(axis=1)
    return out


def pairwise_rows(packed: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(K,) the sum of each row's first ``counts[k]`` numbers (the rest of the row is zero) in numpy's own
    order for a contiguous run of n <= 128 numbers (pairwise summation, numpy/_core/src/umath/loops_utils.h):
    n < 8 one after another; else eight running sums over whole blocks of eight, combined as a tree, then the
    rest one after another. A column at a time over all rows: a few dozen array operations, where summing
    each group of equal counts apart costs a dozen per group."""
    m = packed.shape[1]
    seq = np.zeros(len(packed))
    for j in range(min(m, 8)):
        seq = seq + packed[:, j]
    if m < 8:
        return seq
    blocks = counts // 8
    r = [packed[:, j] for j in range(8)]
    for b in range(1, m // 8):
        inside = b < blocks
        r = [np.where(inside, r[j] + packed[:, 8 * b + j], r[j]) for j in range(8)]
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(8, m):
        res = np.where(i >= 8 * blocks, res + packed[:, i], res)
    return np.where(counts < 8, seq, res)


def selected_sum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(K,) ``values[k][mask[k]].sum()`` for every row k, bit for bit (the selections moved to the front of
    their rows, then summed as numpy sums them)."""
    order = np.argsort(~mask, axis=1, kind="stable")
    counts = mask.sum(axis=1)
    packed = np.where(np.take_along_axis(mask, order, axis=1), np.take_along_axis(values, order, axis=1), 0.0)
    if values.shape[1] > PAIRWISE_BLOCK:  # numpy splits longer runs in halves: sum each length apart
        return prefix_sum(packed, counts)
    return pairwise_rows(packed, counts)


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
        self.left_by_sender = np.zeros((k, m), np.int64)  # per sender: businesses not assigned (stranded too)
        self.stranded_by_sender = np.zeros((k, m), np.int64)
        self._cache: dict[str, np.ndarray] = {}  # valid(), delays() and current(name) until the next transition
        self.transfer_energy_j = np.zeros(k)
        self.extra_comp_j = np.zeros(k)
        self._grow(1)

    def _grow(self, transfers: int) -> None:
        """Room for ``transfers`` businesses per copy (at least doubling, so loads rarely reallocate)."""
        if transfers <= self.capacity:
            return
        new = max(transfers, 2 * self.capacity)
        k, m, old = self.num_copies, self.m, self.capacity

        arrays = [(name, (k, new, m) if per_sat else (k, new), fill) for _, name, fill, per_sat in LOADED]
        for name, shape, fill in arrays + [(name, (k, new), fill) for name, fill in DECIDED]:
            out = np.full(shape, fill, np.asarray(fill).dtype)
            if old:
                out[:, :old] = getattr(self, name)
            setattr(self, name, out)
        self.capacity = new

    # ------------------------------------------------------------------ starting episodes
    def load(self, copies, new: InstanceArrays, rows=None) -> None:
        """Copies ``copies`` (indices) start the episodes of ``new``'s instances ``rows`` (default: all, in
        order): ``AggregationState(new.instance(row))`` for each."""
        c = np.asarray(copies)
        r = np.arange(len(c)) if rows is None else np.asarray(rows)
        width = new.transfer.shape[1]
        self._grow(width)
        for name in ("num_transfers", "t_before_s", "e_noagg_j", "own_violations", "working", "own_load_s",
                     "volume_bits"):
            getattr(self, name)[c] = getattr(new, name)[r]
        self.capacity_bits[c] = new.capacity_bits
        self.period_s[c] = new.period_s
        self.p_comp_w[c] = new.p_comp_w[r, : self.m]
        self.sleep_saving_w[c] = new.p_idle_w - new.p_sleep_w
        self.left_by_sender[c] = new.to_reassign[r]
        for source, name, fill, _ in LOADED:
            arr = getattr(self, name)
            arr[c, :width] = getattr(new, source)[r]
            arr[c, width:] = fill
        self.assigned[c] = -1
        self.k[c] = 0
        for arr in (self.stranded, self.stranded_by_sender, self.send_backlog_s, self.last_arrival_s,
                    self.batch_comp_s, self.received_bits, self.count, self.stranded_load_s, self.transfer_energy_j,
                    self.extra_comp_j):
            arr[c] = 0
        self._changed()
        self.skip_stranded()

    # ------------------------------------------------------------------ the current decisions
    @property
    def done(self) -> np.ndarray:
        return self.k >= self.num_transfers

    def current(self, name: str) -> np.ndarray:
        """Row k (the current business) of the (K, T, ...) instance array ``name`` for every copy (the last
        row for copies that are done); kept until the next transition, as are ``valid`` and ``delays``."""
        got = self._cache.get(name)
        if got is None:
            got = self._cache[name] = getattr(self, name)[self.rows, np.minimum(self.k, self.capacity - 1)]
        return got

    def _changed(self) -> None:
        self._cache.clear()

    def valid(self) -> np.ndarray:
        """(K, M) bool: ``AggregationState.valid`` of every copy (read only: it is kept until the next
        transition)."""
        if "valid" not in self._cache:
            room = self.capacity_bits[:, None] - self.volume_bits - self.received_bits
            ok = self.current("link") & (room >= self.current("bits")[:, None])
            ok[self.done] = False
            self._cache["valid"] = ok
        return self._cache["valid"]

    def skip_stranded(self) -> None:
        """Move past businesses that no satellite can take, in every copy."""
        while True:
            rows = np.flatnonzero(~self.done & ~self.valid().any(axis=1))
            if not rows.size:
                return
            k = self.k[rows]
            sender = self.sender[rows, k]
            self.stranded[rows, k] = True
            self.stranded_load_s[rows, sender] += self.comp_s[rows, k]
            self.stranded_by_sender[rows, sender] += 1
            self.k[rows] += 1
            self._changed()

    def arrival_s(self) -> np.ndarray:
        """(K, M) when each copy's current business would arrive at each satellite."""
        sender = self.current("sender")
        return self.send_backlog_s[self.rows, sender][:, None] + self.current("tx_s") + self.current("prop_s")

    def delays(self) -> np.ndarray:
        """(K, M) T_j of every working satellite (own load if it received nothing); 0 for the others."""
        if "delays" not in self._cache:
            t = np.where(self.count > 0, np.maximum(self.own_load_s, self.last_arrival_s) + self.batch_comp_s,
                         self.own_load_s)
            self._cache["delays"] = np.where(self.working, t, 0.0)
        return self._cache["delays"]

    def own_trial(self) -> np.ndarray:
        arrival = np.maximum(self.last_arrival_s, self.arrival_s())
        return np.maximum(self.own_load_s, arrival) + self.batch_comp_s + self.current("comp_s")[:, None]

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
        self.left_by_sender[rows, sender] -= 1
        self.k[rows] += 1
        self._changed()
        self.skip_stranded()

    # ------------------------------------------------------------------ accounting
    def asleep(self) -> np.ndarray:
        """(K, M) bool: satellites that sleep once the episode ends here (sleeping ones with nothing left)."""
        return ~self.working & (self.left_by_sender == 0)

    def t_after(self) -> np.ndarray:
        return self.delays().max(axis=1)

    def metrics(self) -> dict[str, np.ndarray]:
        """``AggregationState.metrics`` of every copy, as (K,) arrays."""
        asleep = self.asleep()
        wake_end = np.minimum(self.send_backlog_s, self.period_s[:, None])
        savings = selected_sum(self.sleep_saving_w[:, None] * (self.period_s[:, None] - wake_end), asleep)
        net = savings - self.transfer_energy_j - self.extra_comp_j
        # senders of refused businesses finish at the end of the period; of stranded ones, when they ran them
        refusing = self.left_by_sender > self.stranded_by_sender
        left = np.where(refusing, self.period_s[:, None], self.stranded_load_s)
        delays = self.delays()
        dt = np.maximum(delays, left).max(axis=1) - self.t_before_s
        finish = np.take_along_axis(delays, np.maximum(self.assigned, 0), axis=1)
        late = np.count_nonzero((self.assigned >= 0) & (finish > self.deadline_s), axis=1)
        n_unassigned = self.left_by_sender.sum(axis=1)
        n_stranded = self.stranded_by_sender.sum(axis=1)
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
            "refused": n_unassigned - n_stranded,
        }
