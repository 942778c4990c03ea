"""Reward terms of Aggregation-v2 (highway-env style: named terms, weights from the config).

The return of an episode is exactly
    edr_weight EDR / edr_scale - deadline_weight violations - invalid_weight masked actions,
so it ranks episodes by the env's objective. ``delay`` and ``energy`` are potential-based shaping
(Ng et al. 1999): each step pays gamma phi(s') - phi(s), with phi = 0 at the first state and at the end.
With ``shaping_gamma`` = 1 (the default) they sum to zero over every episode; a learner that discounts
by gamma < 1 should set ``shaping_gamma`` to its gamma, so that its discounted return is the discounted
objective (with gamma = 1 shaping, a discounting learner would see the end-of-episode refund of the
delay potential grow faster with the delay than the EDR term falls). Either way shaping cannot change
which policy is best; it tells a learner at once what a step added to the finish time and the energy.

``log_edr`` (weight 0 by default, so the return above holds) is the objective in increments: each step
pays the change of psi = log(E / max(dT, 1 ms)), E the net energy saved if the businesses still to
reassign cost nothing more, dT the delay added so far (at the end: the episode's E_net and dT). It sums
to log EDR - psi(s0), a constant of the instance, so it ranks one instance's episodes as EDR does, and
a step that adds no delay and little energy pays about nothing: most of the credit lands on the step
that earned it. Double DQN trains on it (``edr_weight=0``, ``log_edr_weight=1``).
"""

from __future__ import annotations

import math

import numpy as np

from .config import AggregationConfig
from .dynamics import MIN_DELAY_INCREMENT_S, AggregationState

TERMS = ("edr", "deadline", "invalid", "delay", "energy", "log_edr")
MIN_ENERGY_J = 1.0  # log_edr floors E here (an episode that saves nothing net)


def delay_potential(state: AggregationState, cfg: AggregationConfig) -> float:
    """-(max working finish time - max before aggregation) / delay_scale_s."""
    return -cfg.delay_weight * (state.t_after() - state.inst.t_before_s) / cfg.delay_scale_s


def energy_potential(state: AggregationState, cfg: AggregationConfig) -> float:
    """-(energy the transfers so far cost: transfer + extra compute + the sleep their senders lose while
    sending) / energy_scale_j."""
    inst = state.inst
    sending = float(state.send_backlog_s[~inst.working].sum()) * (cfg.p_idle_w - cfg.p_sleep_w)
    return -cfg.energy_weight * (state.transfer_energy_j + state.extra_comp_j + sending) / cfg.energy_scale_j


POTENTIALS = {"delay": delay_potential, "energy": energy_potential}


def log_edr(state: AggregationState, metrics: dict, final: bool) -> float:
    """psi of the ``log_edr`` term: log(E / max(dT, 1 ms)), optimistic about what is still to reassign."""
    if final:
        energy, dt = metrics["net_energy_saved_j"], metrics["delay_increment_s"]
    else:
        inst = state.inst
        wake = np.minimum(state.send_backlog_s, inst.period_s)
        savings = float(state.power.sleep_saving_j(inst.period_s - wake)[~inst.working].sum())
        energy = savings - state.transfer_energy_j - state.extra_comp_j
        dt = state.t_after() - inst.t_before_s
    return math.log(max(energy, MIN_ENERGY_J)) - math.log(max(dt, MIN_DELAY_INCREMENT_S))


def cfg_uses_log_edr(cfg: AggregationConfig) -> bool:
    return cfg.log_edr_weight != 0.0


class RewardTerms:
    """Computes a step's named terms; ``start`` at reset fixes phi(s0) so the potentials start at 0."""

    def __init__(self, cfg: AggregationConfig) -> None:
        self.cfg = cfg
        self.offset: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.last_psi = 0.0

    def potentials(self, state: AggregationState, final: bool) -> dict[str, float]:
        if final:
            return dict.fromkeys(POTENTIALS, 0.0)
        return {name: fn(state, self.cfg) - self.offset[name] for name, fn in POTENTIALS.items()}

    def start(self, state: AggregationState) -> None:
        self.offset = {name: fn(state, self.cfg) for name, fn in POTENTIALS.items()}
        self.last = self.potentials(state, final=False)
        self.last_psi = log_edr(state, {}, final=False) if cfg_uses_log_edr(self.cfg) else 0.0

    def step(self, state: AggregationState, masked: bool, final: bool, metrics: dict | None) -> dict[str, float]:
        cfg = self.cfg
        now = self.potentials(state, final)
        gamma = cfg.shaping_gamma
        terms = {name: gamma * now[name] - self.last[name] for name in POTENTIALS}
        self.last = now
        terms["invalid"] = -cfg.invalid_weight if masked else 0.0
        terms["edr"] = cfg.edr_weight * metrics["edr_j_per_s"] / cfg.edr_scale if final else 0.0
        terms["deadline"] = -cfg.deadline_weight * metrics["deadline_violations"] if final else 0.0
        terms["log_edr"] = 0.0
        if cfg_uses_log_edr(cfg):
            psi = log_edr(state, metrics, final)
            terms["log_edr"] = cfg.log_edr_weight * (psi - self.last_psi)
            self.last_psi = psi
        return {name: terms[name] for name in TERMS}
