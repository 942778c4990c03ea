"""Action layout, entity states and drop reasons of offload_routing_v0."""

from __future__ import annotations

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
