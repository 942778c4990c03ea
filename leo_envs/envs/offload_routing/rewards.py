"""Reward terms of offload_routing_v3: each charges costs (seconds) from a slot's ``SlotRecord``.

A term returns ``(agent, cost)`` arrays, one entry per part of a task it charges: who pays and how much
(per-agent credit: an RS-Sat pays for its task while the local part is open, the bundle's holder after).
The team cost is their sum; per-agent credit (``reward_mode="hop"``) adds each agent's entries plus the
handover credit (``handover_credit``: transfers between agents that sum to zero), so it sums to the team
reward.
Over an episode the two terms add up to the headline objective: every task costs its time in the
system (arrival to finish, drop or truncation), and a dropped task costs ``ttl_s + drop_penalty_s`` in
all, however early it was dropped.
"""

from __future__ import annotations

import numpy as np

from .config import OffloadRoutingConfig
from .types import SlotRecord, Table

_NONE = (np.zeros(0, np.int64), np.zeros(0))


class HoldingCost:
    """dt for every task in the system per slot (its exact time in the slot), charged to the holders
    of its open parts, each the time within its window."""

    name = "holding"

    def __call__(self, slot: SlotRecord, tasks: Table, cfg: OffloadRoutingConfig) -> tuple[np.ndarray, np.ndarray]:
        i = slot.held_task
        # a finished or dropped task is in the system until its finish (drop) time; the others' is NaN
        end = np.fmin(tasks.finish[i], slot.t1)
        end = np.minimum(end, slot.held_until)
        start = np.maximum(np.maximum(tasks.arrival[i], slot.t0), slot.held_from)
        return slot.held_agent, np.maximum(end - start, 0.0)


class DropCost:
    """A dropped task costs ``drop_penalty_s`` plus the rest of its TTL (so every drop costs
    ``ttl_s + drop_penalty_s`` with its time in the system), shared among its holders at the drop."""

    name = "drop"

    def __call__(self, slot: SlotRecord, tasks: Table, cfg: OffloadRoutingConfig) -> tuple[np.ndarray, np.ndarray]:
        if not slot.drops:
            return _NONE
        i, agent, share = slot.dropped()
        return agent, share * (cfg.drop_penalty_s + tasks.arrival[i] + cfg.ttl_s - tasks.finish[i])


REWARD_TERMS = (HoldingCost(), DropCost())


def handover_credit(slot: SlotRecord, n: int) -> np.ndarray:
    """(n,) per-agent cost of the slot's hand-overs (``reward_mode="hop"``): a satellite whose bundle
    reaches the next one pays that one what the receiver's holders are expected to pay for the bundle
    (``OffloadRoutingSim._handover_value``: the estimated time to go, ``service.bundle_to_go_s``, beyond
    the local part's remaining time).

    Charging each slot's cost to the holders alone pays hot-potato routing: handing a bundle to anyone
    ends the sender's cost. With the transfer a sender pays for what its choice leaves to do (a neighbour
    farther from the C-Sats costs more; a C-Sat passing on what it could compute pays for another hop
    and another large model), and its receiver is paid for the work it takes on. The transfers cancel in
    the sum over agents, so the summed reward is still exactly the team reward."""
    cost = np.zeros(n)
    for sender, receiver, value in slot.handovers:
        cost += np.bincount(sender, weights=value, minlength=n) - np.bincount(receiver, weights=value, minlength=n)
    return cost
