"""Assignment state of an aggregation instance: delays, energy and deadlines as businesses move.

Delay model (shared with the MILP baseline, which is exact for it). A sleeping satellite has one
transmitter: it sends its businesses one after another, in the order they are reassigned, so business
b leaves once the earlier ones are sent and arrives at
    a_b = (transmission times of the sender's earlier businesses) + tx_bj + prop_bj.
A working satellite j first runs its own businesses (``own_load``), then the businesses it received as
one batch once the last has arrived:
    T_j = max(own_j, max_b a_b) + sum_b comp_bj.
A transferred business meets its deadline if T_j does (results return with the batch).
"""

from __future__ import annotations

import copy

import numpy as np

from .config import AggregationConfig
from .generator import AggregationInstance

MIN_DELAY_INCREMENT_S = 1e-3  # EDR divides by max(dT, 1 ms)


class AggregationState:
    def __init__(self, inst: AggregationInstance, cfg: AggregationConfig):
        self.inst, self.cfg = inst, cfg
        m = inst.num_sats
        self.assigned = np.full(inst.transfer.size, -1, dtype=np.int64)
        self.k = 0
        self.send_backlog_s = np.zeros(m)  # per sender: transmission time of what it has sent so far
        self.last_arrival_s = np.zeros(m)  # per receiver
        self.batch_comp_s = np.zeros(m)
        self.count = np.zeros(m, dtype=np.int64)
        self.transfer_energy_j = 0.0
        self.transfer_bits = np.zeros(m)

    def clone(self) -> AggregationState:
        """A copy sharing the (read-only) instance, for planners that try assignments out."""
        other = copy.copy(self)
        for name in ("assigned", "send_backlog_s", "last_arrival_s", "batch_comp_s", "count", "transfer_bits"):
            setattr(other, name, getattr(self, name).copy())
        return other

    @property
    def done(self) -> bool:
        return self.k >= self.inst.transfer.size

    def delays(self) -> np.ndarray:
        """T_j of every satellite (own load for satellites that received nothing; sleeping ones: 0)."""
        inst = self.inst
        t = np.where(self.count > 0, np.maximum(inst.own_load_s, self.last_arrival_s) + self.batch_comp_s,
                     inst.own_load_s)
        return np.where(inst.working, t, 0.0)

    def arrival_s(self) -> np.ndarray:
        """(M,) when the current business would arrive at each satellite."""
        inst, k = self.inst, self.k
        sender = inst.origin[inst.transfer[k]]
        return self.send_backlog_s[sender] + inst.tx_s[k] + inst.prop_s[k]

    def t_after(self) -> float:
        return float(self.delays().max())

    def trial_delays(self) -> np.ndarray:
        """(M,) the max working delay if the current business went to each satellite (inf if infeasible)."""
        inst, k = self.inst, self.k
        m = inst.num_sats
        arrival = np.maximum(self.last_arrival_s, self.arrival_s())
        trial = np.maximum(inst.own_load_s, arrival) + self.batch_comp_s + inst.comp_s[k]
        base = self.delays()
        top = int(np.argmax(base))
        second = float(np.max(np.delete(base, top))) if m > 1 else 0.0
        others = np.where(np.arange(m) == top, second, base[top])
        return np.where(inst.feasible[k], np.maximum(trial, others), np.inf)

    def assign(self, j: int) -> dict:
        """Send the current business to working satellite j; returns the step's reward terms (raw)."""
        inst, k = self.inst, self.k
        before = self.t_after()
        violations_before = self.transfer_violations()
        sender = inst.origin[inst.transfer[k]]
        self.assigned[k] = j
        self.last_arrival_s[j] = max(self.last_arrival_s[j], self.arrival_s()[j])
        self.send_backlog_s[sender] += inst.tx_s[k, j]
        self.batch_comp_s[j] += inst.comp_s[k, j]
        self.count[j] += 1
        self.transfer_energy_j += float(inst.energy_j[k, j])
        self.transfer_bits[j] += inst.bits[inst.transfer[k]]
        self.k += 1
        return {
            "energy_j": float(inst.energy_j[k, j]),
            "delay_growth_s": self.t_after() - before,
            "new_violations": self.transfer_violations() - violations_before,
        }

    def transfer_violations(self) -> int:
        inst = self.inst
        done = self.assigned >= 0
        if not done.any():
            return 0
        t = self.delays()[self.assigned[done]]
        return int(np.count_nonzero(t > inst.deadline_s[inst.transfer[done]]))

    def own_violations(self) -> int:
        inst = self.inst
        stays = inst.working[inst.origin]
        return int(np.count_nonzero(stays & (inst.own_finish_s > inst.deadline_s)))

    def metrics(self) -> dict:
        """DESIGN.md section 5 metrics of the (possibly partial) assignment."""
        inst, cfg = self.inst, self.cfg
        m = inst.num_sats
        v = int(inst.working.sum())
        comp_total = inst.own_load_s[inst.working].sum() + self.batch_comp_s.sum()
        e_agg = (v * cfg.p_idle_w * cfg.sleep_s + (m - v) * cfg.p_sleep_w * cfg.sleep_s
                 + cfg.p_comp_w * comp_total + self.transfer_energy_j)
        net = inst.e_noagg_j - e_agg
        dt = self.t_after() - inst.t_before_s
        return {
            "edr_j_per_s": float(net / max(dt, MIN_DELAY_INCREMENT_S)) if v < m else 0.0,
            "energy_reduction": float(net / inst.e_noagg_j),
            "net_energy_saved_j": float(net),
            "delay_increment_s": float(dt),
            "deadline_violations": self.own_violations() + self.transfer_violations(),
            "working_sats": v,
            "transfer_energy_j": float(self.transfer_energy_j),
            "reassigned": int(self.k),
        }


def objective(metrics: dict) -> tuple[int, float]:
    """What the aggregation problem maximises, lexicographically: fewest deadline violations, then EDR."""
    return (-int(metrics["deadline_violations"]), float(metrics["edr_j_per_s"]))
