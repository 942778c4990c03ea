"""Assignment state of an aggregation instance: delays, energy, capacity and deadlines as businesses move.

Delay model (shared with the MILP baseline, which is exact for it). A sleeping satellite has one
transmitter: it sends its businesses one after another, in the order they are reassigned, so business
b leaves once the earlier ones are sent (first hop; the control satellite relays the second) and arrives at
    a_b = (first-hop times of the sender's earlier businesses) + tx_bj + prop_bj.
A working satellite j first runs its own businesses (``own_load``), then the businesses it received as
one batch once the last has arrived:
    T_j = max(own_j, max_b a_b) + sum_b comp_b.
A transferred business meets its deadline if T_j does (results return with the batch).

Energy over the accounting period H = ``sleep_s`` (every satellite idles at P_idle unless it sleeps):
a sleeping satellite u sleeps from the end of its last transfer t_u to H, saving (P_idle - P_sleep)(H - t_u);
each hop of a transfer costs (P_tx sender + P_rx receiver) x hop time; compute energy is P_comp of the
satellite that runs the business times its compute time. E_net = savings - transfer energy - extra compute
energy (compute at the receiver minus at the origin). dT = max finish time after - max before, and
EDR = E_net / max(dT, 1 ms). A business left unassigned stays with its satellite, which then stays awake;
it counts as a deadline violation. Two cases:
- stranded: no satellite could take it when its turn came (no route, or no room within C_max). Its
  satellite runs it, FIFO from t = 0, with its own businesses.
- refused: the episode was truncated before its turn (the policy played masked actions). It counts as
  served at the end of the accounting period (it was not served within it), so dT >= H - T_before and
  EDR <= E_net / (H - T_before). A plan cannot gain by refusing work: completing it adds sleep savings
  (whenever a sleeping satellite saves more than its transfers cost) and a delay within the period.
"""

from __future__ import annotations

import copy

import numpy as np

from .types import AggregationInstance

MIN_DELAY_INCREMENT_S = 1e-3  # EDR divides by max(dT, 1 ms)


class AggregationState:
    def __init__(self, inst: AggregationInstance):
        self.inst = inst
        m = inst.num_sats
        self.assigned = np.full(inst.num_transfers, -1, dtype=np.int64)  # -1: not (yet) assigned
        self.k = 0  # the business being decided
        self.stranded = np.zeros(inst.num_transfers, bool)  # no satellite could take it when its turn came
        self.send_backlog_s = np.zeros(m)  # per sender: first-hop time of what it has sent so far
        self.last_arrival_s = np.zeros(m)  # per receiver
        self.batch_comp_s = np.zeros(m)
        self.received_bits = np.zeros(m)
        self.count = np.zeros(m, dtype=np.int64)
        self.transfer_energy_j = 0.0
        self.extra_comp_j = 0.0
        self.power = inst.power.at(np.arange(m))  # the service satellites' (metrics() runs every step)
        self.skip_stranded()

    def clone(self) -> AggregationState:
        """A copy sharing the (read-only) instance, for planners that try assignments out."""
        other = copy.copy(self)
        for name in ("assigned", "stranded", "send_backlog_s", "last_arrival_s", "batch_comp_s", "received_bits",
                     "count"):
            setattr(other, name, getattr(self, name).copy())
        return other

    # ------------------------------------------------------------------ the current decision
    @property
    def done(self) -> bool:
        return self.k >= self.inst.num_transfers

    def valid(self) -> np.ndarray:
        """(M,) bool: working satellites with a route for the current business and room for it in C_max."""
        inst = self.inst
        if self.done:
            return np.zeros(inst.num_sats, bool)
        room = inst.capacity_bits - inst.volume_bits - self.received_bits
        return inst.link[self.k] & (room >= inst.bits[inst.transfer[self.k]])

    def skip_stranded(self) -> None:
        """Move past businesses that no satellite can take (they stay unassigned)."""
        while not self.done and not self.valid().any():
            self.stranded[self.k] = True
            self.k += 1

    def arrival_s(self) -> np.ndarray:
        """(M,) when the current business would arrive at each satellite."""
        inst, k = self.inst, self.k
        return self.send_backlog_s[inst.sender[k]] + inst.tx_s[k] + inst.prop_s[k]

    def delays(self) -> np.ndarray:
        """T_j of every working satellite (own load if it received nothing); 0 for the others."""
        inst = self.inst
        t = np.where(self.count > 0, np.maximum(inst.own_load_s, self.last_arrival_s) + self.batch_comp_s,
                     inst.own_load_s)
        return np.where(inst.working, t, 0.0)

    def t_after(self) -> float:
        return float(self.delays().max())

    def trial_delays(self) -> np.ndarray:
        """(M,) the max working finish time if the current business went to each satellite (inf where it
        may not go)."""
        m = self.inst.num_sats
        if self.done:
            return np.full(m, np.inf)
        trial = self.own_trial()
        base = self.delays()
        top = int(np.argmax(base))
        second = float(np.max(np.delete(base, top))) if m > 1 else 0.0
        others = np.where(np.arange(m) == top, second, base[top])
        return np.where(self.valid(), np.maximum(trial, others), np.inf)

    def own_trial(self) -> np.ndarray:
        """(M,) T_j of each satellite if the current business went there."""
        inst, k = self.inst, self.k
        arrival = np.maximum(self.last_arrival_s, self.arrival_s())
        return np.maximum(inst.own_load_s, arrival) + self.batch_comp_s + inst.comp_s[inst.transfer[k]]

    # ------------------------------------------------------------------ transitions
    def assign(self, j: int) -> None:
        """Send the current business to satellite j (which ``valid()`` must allow)."""
        inst, k = self.inst, self.k
        if not self.valid()[j]:
            raise ValueError(f"action: satellite {j} may not take business {k} (not working, no route or no room)")
        b = inst.transfer[k]
        self.assigned[k] = j
        self.last_arrival_s[j] = max(self.last_arrival_s[j], self.arrival_s()[j])
        self.send_backlog_s[inst.sender[k]] += inst.send_s[k, j]
        self.batch_comp_s[j] += inst.comp_s[b]
        self.received_bits[j] += inst.bits[b]
        self.count[j] += 1
        self.transfer_energy_j += float(inst.transfer_energy_j[k, j])
        self.extra_comp_j += float(inst.extra_comp_j[k, j])
        self.k += 1
        self.skip_stranded()

    # ------------------------------------------------------------------ accounting
    def unassigned(self) -> np.ndarray:
        """(K,) bool: businesses not assigned (stranded, or not reached yet)."""
        return self.assigned < 0

    def refused(self) -> np.ndarray:
        """(K,) bool: businesses not reached yet, that is refused if the episode ended now (truncation)."""
        return (self.assigned < 0) & ~self.stranded

    def asleep(self) -> np.ndarray:
        """(M,) bool: satellites that sleep once the episode ends here (sleeping ones with nothing left)."""
        inst = self.inst
        kept = np.zeros(inst.num_sats, bool)
        kept[inst.sender[self.unassigned()]] = True
        return ~inst.working & ~kept

    def transfer_violations(self) -> int:
        inst = self.inst
        done = ~self.unassigned()
        if not done.any():
            return 0
        t = self.delays()[self.assigned[done]]
        return int(np.count_nonzero(t > inst.deadline_s[inst.transfer[done]]))

    def own_violations(self) -> int:
        """Businesses of working satellites that miss their deadline in their own FIFO (no policy changes it)."""
        inst = self.inst
        stays = inst.working[inst.origin]
        return int(np.count_nonzero(stays & (inst.own_finish_s > inst.deadline_s)))

    def finish_times(self) -> np.ndarray:
        """(M,) finish time of every satellite that runs businesses if the episode ended now: working ones,
        sleeping ones kept awake by stranded businesses (they run those, FIFO from t = 0), and the senders
        of refused businesses, which count as finishing at the end of the accounting period."""
        inst = self.inst
        left = np.zeros(inst.num_sats)
        stranded = self.unassigned() & self.stranded
        np.add.at(left, inst.sender[stranded], inst.comp_s[inst.transfer[stranded]])
        left[inst.sender[self.refused()]] = inst.period_s
        return np.maximum(self.delays(), left)

    def metrics(self) -> dict:
        """The episode's metrics if it ended now (README, "Metrics")."""
        inst = self.inst
        power = self.power
        asleep = self.asleep()
        wake_end = np.minimum(self.send_backlog_s, inst.period_s)
        savings = float(power.sleep_saving_j(inst.period_s - wake_end)[asleep].sum())
        net = savings - self.transfer_energy_j - self.extra_comp_j
        dt = float(self.finish_times().max()) - inst.t_before_s
        unassigned = int(self.unassigned().sum())
        aggregated = bool(asleep.any())
        return {
            "edr_j_per_s": float(net / max(dt, MIN_DELAY_INCREMENT_S)),
            "energy_reduction": float(net / inst.e_noagg_j),
            "net_energy_saved_j": float(net),
            "energy_savings_j": savings,
            "transfer_energy_j": float(self.transfer_energy_j),
            "extra_compute_energy_j": float(self.extra_comp_j),
            "delay_increment_s": float(dt),
            "deadline_violations": self.own_violations() + self.transfer_violations() + unassigned,
            "working_sats": int(inst.working.sum()),
            "sleeping_sats": int(asleep.sum()),
            "aggregated": aggregated,
            "reassigned": int(inst.num_transfers - unassigned),
            "unassigned": unassigned,
            "stranded": int(self.stranded.sum()),
            "refused": int(self.refused().sum()),
        }


def objective(metrics: dict) -> tuple[int, float]:
    """What the aggregation problem maximises, lexicographically: fewest deadline violations, then EDR."""
    return (-int(metrics["deadline_violations"]), float(metrics["edr_j_per_s"]))
