"""The instance of Aggregation-v2 (what the control satellite knows when it plans), and the observation
layout. Everything outside ``generator.py`` and ``dynamics.py`` reads instances through these names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core import PowerModel


@dataclass
class AggregationInstance:
    """One aggregation problem: M service satellites, B businesses, K of them to reassign (those of the
    satellites CDSSQ would put to sleep). Index M of ``power`` is the control satellite."""

    t_s: float  # time after the constellation epoch, s
    sat_position_m: np.ndarray  # (M, 3) ECEF
    control_position_m: np.ndarray  # (3,)
    power: PowerModel  # per satellite, arrays of length M + 1 (transmit, receive, compute drawn per instance)
    period_s: float  # the accounting period: sleeping satellites sleep until it ends (T_sleep), s
    capacity_bits: float  # C_max: business volume one satellite can process, bit
    bits: np.ndarray  # (B,) business sizes
    deadline_s: np.ndarray  # (B,) maximum tolerable delays
    origin: np.ndarray  # (B,) satellite the business arrived at
    comp_s: np.ndarray  # (B,) compute time of the business (every service satellite has the same CPU)
    own_finish_s: np.ndarray  # (B,) FIFO finish time at its own satellite
    own_load_s: np.ndarray  # (M,) compute time of each satellite's own businesses
    volume_bits: np.ndarray  # (M,) bits that arrived at each satellite
    working: np.ndarray  # (M,) bool: CDSSQ's (or the override's) working set
    cdssq_v: int  # V = ceil(volume / C_max) before the cover check (may exceed M)
    transfer: np.ndarray  # (K,) businesses to reassign, in order (those of sleeping satellites)
    link: np.ndarray  # (K, M) bool: a working satellite reachable directly or via the control satellite
    relayed: np.ndarray  # (K, M) bool: the route goes through the control satellite
    send_s: np.ndarray  # (K, M) how long the sender's transmitter is busy (first hop)
    tx_s: np.ndarray  # (K, M) transmission time over the whole route
    prop_s: np.ndarray  # (K, M) propagation delay of the route
    distance_m: np.ndarray  # (K, M) route length
    transfer_energy_j: np.ndarray  # (K, M) sum over hops of (P_tx sender + P_rx receiver) x hop time
    extra_comp_j: np.ndarray  # (K, M) compute energy at j minus at the origin (negative: j computes cheaper)
    t_before_s: float  # max delay without aggregation (every satellite runs its own businesses)
    e_noagg_j: float  # energy of all satellites over the period without aggregation

    @property
    def num_sats(self) -> int:
        return len(self.working)

    @property
    def num_transfers(self) -> int:
        return int(self.transfer.size)

    @property
    def sender(self) -> np.ndarray:
        """(K,) the sleeping satellite each business to reassign leaves from."""
        return self.origin[self.transfer]


@dataclass
class InstanceArrays:
    """K instances (the copies of a vector env) as arrays with a leading copy axis: businesses zero-padded to
    the longest list, businesses to reassign to the longest such list. ``instance(c)`` is copy c's
    ``AggregationInstance`` (the fields have the same meanings)."""

    num_businesses: np.ndarray  # (K,) B of each copy
    num_transfers: np.ndarray  # (K,) K_c: businesses to reassign
    t_s: np.ndarray  # (K,)
    sat_position_m: np.ndarray  # (K, M, 3)
    control_position_m: np.ndarray  # (K, 3)
    p_tx_w: np.ndarray  # (K, M + 1) per satellite, the control satellite last
    p_rx_w: np.ndarray  # (K, M + 1)
    p_comp_w: np.ndarray  # (K, M + 1)
    p_idle_w: float  # every satellite's, W
    p_sleep_w: float
    period_s: float
    capacity_bits: float
    bits: np.ndarray  # (K, B)
    deadline_s: np.ndarray  # (K, B)
    origin: np.ndarray  # (K, B)
    comp_s: np.ndarray  # (K, B)
    own_finish_s: np.ndarray  # (K, B)
    own_load_s: np.ndarray  # (K, M)
    volume_bits: np.ndarray  # (K, M)
    working: np.ndarray  # (K, M)
    cdssq_v: np.ndarray  # (K,)
    transfer: np.ndarray  # (K, T) padded with 0
    link: np.ndarray  # (K, T, M) padded with False
    relayed: np.ndarray  # (K, T, M)
    send_s: np.ndarray  # (K, T, M) padded with 0
    tx_s: np.ndarray  # (K, T, M)
    prop_s: np.ndarray  # (K, T, M)
    distance_m: np.ndarray  # (K, T, M)
    transfer_energy_j: np.ndarray  # (K, T, M)
    extra_comp_j: np.ndarray  # (K, T, M)
    t_before_s: np.ndarray  # (K,)
    e_noagg_j: np.ndarray  # (K,)
    # derived for the dynamics: per business to reassign (K, T), and counts
    sender: np.ndarray  # (K, T) the satellite it leaves from
    transfer_bits: np.ndarray  # (K, T)
    transfer_comp_s: np.ndarray  # (K, T)
    transfer_deadline_s: np.ndarray  # (K, T)
    sender_total: np.ndarray  # (K, T) businesses to reassign of its sender (1 in the padding)
    sender_after: np.ndarray  # (K, T) of those, the ones from this one on
    to_reassign: np.ndarray  # (K, M) businesses to reassign per sender
    own_violations: np.ndarray  # (K,) businesses of working satellites late in their own FIFO

    def instance(self, c: int) -> AggregationInstance:
        b, n = int(self.num_businesses[c]), int(self.num_transfers[c])
        power = PowerModel(p_tx_w=self.p_tx_w[c], p_rx_w=self.p_rx_w[c], p_comp_w=self.p_comp_w[c],
                           p_idle_w=self.p_idle_w, p_sleep_w=self.p_sleep_w)
        return AggregationInstance(
            t_s=float(self.t_s[c]), sat_position_m=self.sat_position_m[c],
            control_position_m=self.control_position_m[c], power=power, period_s=self.period_s,
            capacity_bits=self.capacity_bits, bits=self.bits[c, :b],
            deadline_s=self.deadline_s[c, :b], origin=self.origin[c, :b], comp_s=self.comp_s[c, :b],
            own_finish_s=self.own_finish_s[c, :b], own_load_s=self.own_load_s[c], volume_bits=self.volume_bits[c],
            working=self.working[c], cdssq_v=int(self.cdssq_v[c]), transfer=self.transfer[c, :n],
            link=self.link[c, :n], relayed=self.relayed[c, :n], send_s=self.send_s[c, :n], tx_s=self.tx_s[c, :n],
            prop_s=self.prop_s[c, :n], distance_m=self.distance_m[c, :n],
            transfer_energy_j=self.transfer_energy_j[c, :n], extra_comp_j=self.extra_comp_j[c, :n],
            t_before_s=float(self.t_before_s[c]), e_noagg_j=float(self.e_noagg_j[c]),
        )


# ---------------------------------------------------------------------- observation layout
SAT_FEATURES = (  # per service satellite: name: meaning (unit)
    "working",  # 1 for a working satellite
    "valid",  # 1 when the current business may go there (the action mask)
    "delay",  # its current finish time T_j / deadline_max_s
    "own_load",  # compute time of its own businesses / deadline_max_s
    "load",  # bits it holds (own + received) / C_max
    "room_after",  # C_max left if the business went there / C_max (negative: it does not fit)
    "tx_time",  # transmission time of the current business to it / deadline_max_s
    "prop_delay",  # propagation delay of that route / 10 ms
    "distance",  # route length / 5000 km
    "relayed",  # 1 when the route goes through the control satellite
    "transfer_energy",  # transfer energy of the business to it / energy_scale_j
    "extra_comp_energy",  # compute energy there minus at the sender / energy_scale_j
    "comp_power",  # its compute power / 415 W (the paper's upper bound)
    "trial_finish",  # its own finish time T_j if the business went there / deadline_max_s
    "trial_slack",  # the business's deadline minus that finish time / deadline_max_s (negative: it is late)
    "trial_delay",  # max finish time of the working satellites if the business went there / deadline_max_s
)
GLOBAL_FEATURES = (
    "business_bits",  # size of the current business / business_bits_max
    "deadline",  # its maximum tolerable delay / deadline_max_s
    "left",  # share of the businesses still to reassign
    "t_before",  # max delay without aggregation / deadline_max_s
    "t_after",  # current max finish time / deadline_max_s
    "sender_backlog",  # how long the current sender has been sending / deadline_max_s
    "sender_left",  # share of the sender's businesses still to send
    "max_backlog",  # longest sending time of any sender / deadline_max_s
    "steps_left",  # share of the step budget left before truncation
)
COMP_POWER_SCALE_W = 415.0


class ObservationLayout:
    """Columns of the flat observation of ``M`` satellites: ``layout.sat("load")`` (M columns, one per
    satellite), ``layout.glob("left")``; ``layout.names`` lists every column (``"sat3.load"``)."""

    def __init__(self, m: int) -> None:
        self.m = m
        self.per_sat = len(SAT_FEATURES)
        self.size = m * self.per_sat + len(GLOBAL_FEATURES)
        self.names = [f"sat{j}.{f}" for j in range(m) for f in SAT_FEATURES] + list(GLOBAL_FEATURES)

    def sat(self, feature: str) -> np.ndarray:
        return np.arange(self.m) * self.per_sat + SAT_FEATURES.index(feature)

    def glob(self, feature: str) -> int:
        return self.m * self.per_sat + GLOBAL_FEATURES.index(feature)

    def sat_block(self, obs: np.ndarray) -> np.ndarray:
        """(..., M, per_sat) view of the per-satellite part."""
        return obs[..., : self.m * self.per_sat].reshape(*obs.shape[:-1], self.m, self.per_sat)
