"""Aggregation-v2 as a Gymnasium ``VectorEnv``: K episodes stepped as arrays (``AggregationBatch``).

``gym.make_vec("leo_envs/Aggregation-v2", num_envs=K, vectorization_mode="vector_entry_point")`` builds it.
Copy k behaves exactly as ``gym.make("leo_envs/Aggregation-v2")`` reset with copy k's seed and reset again
(without a seed) at every episode end, which is what ``SyncVectorEnv`` does with K such envs: the same
observations, masks, rewards and infos, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ...config import as_integer
from ..base import integer_action_array, reset_options
from .batch import AggregationBatch, selected_sum
from .config import AggregationConfig, make_config
from .dynamics import MIN_DELAY_INCREMENT_S
from .env import OBS_HIGH, AggregationEnv, working_sats_option
from .generator import InstanceGenerator, InstanceSupply
from .rewards import MIN_ENERGY_J, TERMS
from .types import (
    COMP_POWER_SCALE_W,
    GLOBAL_FEATURES,
    SAT_FEATURES,
    AggregationInstance,
    InstanceArrays,
    ObservationLayout,
)

AUTORESET_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)
SAT = {name: i for i, name in enumerate(SAT_FEATURES)}  # column of each feature in a satellite's block
GLOB = {name: i for i, name in enumerate(GLOBAL_FEATURES)}
# the columns that describe the current business (zero when there is none)
CURRENT_SAT = [SAT[f] for f in ("valid", "room_after", "tx_time", "prop_delay", "distance", "relayed",
                                "transfer_energy", "extra_comp_energy", "trial_delay", "trial_finish", "trial_slack")]
CURRENT_GLOB = [GLOB[f] for f in ("business_bits", "deadline", "left", "sender_backlog", "sender_left")]
RESET_OPTIONS = ("working_sats", "reset_mask")


class AggregationVectorEnv(VectorEnv):
    """K copies of Aggregation-v2 in one array step (the single env's spec sheet: ``AggregationEnv``).

    ## Vectorized environment
    ``AggregationVectorEnv(num_envs=K, scenario="medium_traffic", autoreset_mode=AutoresetMode.NEXT_STEP,
    **overrides)``, or ``gym.make_vec(id, num_envs=K, vectorization_mode="vector_entry_point", **overrides)``.
    Every copy plays the same scenario with its own random stream: ``reset(seed=s)`` seeds copy k with
    s + k, ``reset(seed=[s_0, ..., s_{K-1}])`` with s_k (as ``SyncVectorEnv`` does); copy k's episodes are
    those of a single env reset with that seed and then reset without one at each episode end.

    - ``step(actions)``: an integer array of shape (K,) in [0, M). Returns the observation dict of arrays
      (``observation`` (K, 16 M + 9) float32, ``action_mask`` (K, M) int8), rewards (K,) float64,
      ``terminated`` and ``truncated`` (K,) bool, and the single env's info keys as (K,) arrays, each with
      its ``_key`` mask (Gymnasium's vector info; ``rewards`` is a dict of such arrays).
    - Autoreset, as Gymnasium 1.x defines it. ``NEXT_STEP`` (default): the step that ends a copy's episode
      returns its terminal observation (all-zero mask) and final info; the next step resets that copy and
      ignores its action (reward 0, not terminated nor truncated, the new episode's first info).
      ``SAME_STEP``: the ending step returns the next episode's first observation and info, with the
      terminal observation in ``info["final_obs"]`` (an object array, None for the other copies) and the
      last step's info in ``info["final_info"]``. Episodes differ in length, so copies reset at different
      steps.
      ``DISABLED``: a copy whose episode ended must be reset with ``reset(options={"reset_mask": mask})``
      (Gymnasium's partial reset, which the other modes accept too) before the next step.
    - ``action_masks()``: (K, M) bool for sb3-contrib. A copy whose mask is all zero (its terminal
      observation, or a first observation with nothing to reassign) ignores its action: pass any (0).
    - ``reset(options={"working_sats": V})`` sets V for the episodes this call starts (not for autoresets).
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, scenario: str | AggregationConfig = "medium_traffic",
                 render_mode: str | None = None, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 **overrides):
        k = as_integer(num_envs)
        if k is None or isinstance(num_envs, bool) or k < 1:
            raise ValueError(f"num_envs: {num_envs!r}; expected an integer >= 1")
        if render_mode is not None:
            raise ValueError(f"render_mode: {render_mode!r}; the vector env does not render (render_mode=None); "
                             f"render a single env from gym.make")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in AUTORESET_MODES:
            raise ValueError(f"autoreset_mode: {autoreset_mode!r}; expected one of "
                             f"{[m.value for m in AUTORESET_MODES]}")
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.num_envs = k
        self.render_mode = None
        self.config = make_config(scenario, **overrides)
        self.scenario = scenario if isinstance(scenario, str) else "custom"
        self.generator = InstanceGenerator(self.config)
        self.m = m = self.generator.m
        self.layout = ObservationLayout(m)
        self.single_observation_space = spaces.Dict({
            "observation": spaces.Box(-OBS_HIGH, OBS_HIGH, (self.layout.size,), np.float32),
            "action_mask": spaces.Box(0, 1, (m,), np.int8),
        })
        self.single_action_space = spaces.Discrete(m)
        self.observation_space = batch_space(self.single_observation_space, k)
        self.action_space = batch_space(self.single_action_space, k)
        self.batch = AggregationBatch(k, m)
        self._source: list[tuple[InstanceArrays, int] | None] = [None] * k  # each copy's instance: (arrays, row)
        self.supply = InstanceSupply(self.generator, k)  # each copy's random stream and next instance
        self.steps = np.zeros(k, np.int64)
        self.step_limit = np.ones(k, np.int64)
        self.masked_actions = np.zeros(k, np.int64)
        self.over = np.zeros(k, bool)  # the copy's episode has ended (its next step resets it: NEXT_STEP)
        self.offset = {name: np.zeros(k) for name in ("delay", "energy")}
        self.last = {name: np.zeros(k) for name in ("delay", "energy")}
        self.last_psi = np.zeros(k)
        self._started = False

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        seeds = self._seeds(seed)
        super().reset(seed=seed if isinstance(seed, int) else None)
        options = reset_options(options, RESET_OPTIONS)
        working = working_sats_option(options, self.config.working_sats, self.m)
        chosen = np.ones(self.num_envs, bool)
        if "reset_mask" in options:  # Gymnasium's partial reset: only these copies start a new episode
            chosen = options["reset_mask"]
            if not (isinstance(chosen, np.ndarray) and chosen.dtype == np.bool_ and chosen.shape == (self.num_envs,)
                    and chosen.any()):
                raise ValueError(f"options['reset_mask']: {chosen!r}; expected a numpy bool array of shape "
                                 f"({self.num_envs},) with at least one True")
            if not self._started and not chosen.all():
                raise ValueError("options['reset_mask']: the first reset starts every copy; pass no reset_mask")
        for c, s in enumerate(seeds):
            if chosen[c] and (s is not None or self.supply.rngs[c] is None):
                self.supply.seed(c, s)
        self._start(chosen, working)
        self._started = True
        zero = np.zeros(self.num_envs)
        info = self._info(dict.fromkeys(TERMS, zero), np.zeros(self.num_envs, bool), self._metrics(),
                          np.zeros(self.num_envs, bool))
        return self._obs(), (info if chosen.all() else _masked_info(info, chosen))

    def step(self, actions):
        if not self._started:
            raise ValueError("step: call reset() first")
        acts = integer_action_array("actions", actions, (self.num_envs,), self.m)
        k, b = self.num_envs, self.batch
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        if self.autoreset_mode == AutoresetMode.DISABLED and self.over.any():
            raise ValueError(f"step: copies {np.flatnonzero(self.over).tolist()} ended their episode and autoreset "
                             "is disabled; reset them first (reset(options={'reset_mask': mask}))")
        resetting = self.over.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros(k, bool)
        if resetting.any():  # next-step autoreset: these copies start their next episode and ignore their action
            self._start(resetting, self.config.working_sats)
        playing = ~resetting
        deciding = playing & ~b.done
        ok = deciding & b.valid()[b.rows, acts]
        masked = deciding & ~ok
        rows = np.flatnonzero(ok)
        if rows.size:
            b.assign(rows, acts[rows])
        self.masked_actions += masked
        self.steps += playing
        terminated = playing & b.done
        truncated = playing & ~terminated & (self.steps >= self.step_limit)
        final = terminated | truncated
        metrics = self._metrics()
        terms = self._terms(masked, final, metrics)
        if resetting.any():  # a reset's info: every term 0
            terms = {name: np.where(resetting, 0.0, value) for name, value in terms.items()}
        rewards = 0.0 + terms["edr"]  # float(sum(terms.values())) of the single env, term by term in TERMS order
        for name in TERMS[1:]:
            rewards = rewards + terms[name]
        self.over = final.copy()
        if not (same_step and final.any()):
            return self._obs(), rewards, terminated, truncated, self._info(terms, masked, metrics, final)
        # same-step autoreset: the ended copies start their next episode now; their last step goes in final_*
        final_obs, final_info = self._obs(), self._info(terms, masked, metrics, final)
        self._start(final, self.config.working_sats)
        terms = {name: np.where(final, 0.0, value) for name, value in terms.items()}
        info = self._info(terms, masked & ~final, self._metrics(), np.zeros(k, bool))
        info["final_obs"] = np.full(k, None, dtype=object)
        for c in np.flatnonzero(final):
            info["final_obs"][c] = {key: value[c] for key, value in final_obs.items()}
        info["_final_obs"] = final.copy()
        info["final_info"], info["_final_info"] = _masked_info(final_info, final), final.copy()
        return self._obs(), rewards, terminated, truncated, info

    def instance(self, c: int) -> AggregationInstance:
        """Copy c's current instance (replay it in a single env: ``reset(options={"instance": ...})``)."""
        index = as_integer(c)
        if index is None or not 0 <= index < self.num_envs:
            raise ValueError(f"instance: copy {c!r}; expected an integer in [0, {self.num_envs - 1}]")
        if self._source[index] is None:
            raise ValueError("instance: call reset() first")
        arrays, row = self._source[index]
        return arrays.instance(row)

    def action_masks(self) -> np.ndarray:
        """(K, M) bool: where each copy's current business may go (all False for a copy whose episode is over)."""
        return self._mask().astype(bool)

    # ------------------------------------------------------------------ episodes
    def _seeds(self, seed) -> list[int | None]:
        """One seed (or None) per copy, all checked before any copy is reseeded."""
        what = (f"expected None, an integer >= 0 (copy k gets seed + k) or a list of {self.num_envs} seeds "
                f"(integers >= 0 or None), one per copy")
        if seed is None:
            return [None] * self.num_envs
        if _is_seed(seed):
            return [int(seed) + c for c in range(self.num_envs)]
        if isinstance(seed, (list, tuple)) and len(seed) == self.num_envs:
            for c, s in enumerate(seed):
                if s is not None and not _is_seed(s):
                    raise ValueError(f"seed[{c}]: {s!r}; {what}")
            return [None if s is None else int(s) for s in seed]
        raise ValueError(f"seed: {seed!r}; {what}")

    def _start(self, copies: np.ndarray, working_sats: int | None) -> None:
        """New episodes for ``copies`` (bool (K,)), each drawn from its copy's random stream."""
        cfg = self.config
        for group, new, rows in self.supply.take(np.flatnonzero(copies), working_sats):
            self.batch.load(group, new, rows)
            for c, row in zip(group, rows):
                self._source[c] = (new, row)
            self.step_limit[group] = [max(1, math.ceil(cfg.step_limit_factor * n))
                                      for n in new.num_transfers[rows].tolist()]
        self.steps[copies] = 0
        self.masked_actions[copies] = 0
        self.over[copies] = False
        for name, value in self._potentials().items():  # phi(s0), so the potentials start at 0
            self.offset[name][copies] = value[copies]
            self.last[name][copies] = (value - self.offset[name])[copies]
        if cfg.log_edr_weight != 0.0:
            self.last_psi[copies] = self._psi(None, np.zeros(self.num_envs, bool))[copies]

    # ------------------------------------------------------------------ rewards (``rewards.RewardTerms``)
    def _potentials(self) -> dict[str, np.ndarray]:
        cfg, b = self.config, self.batch
        delay = -cfg.delay_weight * (b.t_after() - b.t_before_s) / cfg.delay_scale_s
        sending = selected_sum(b.send_backlog_s, ~b.working) * (cfg.p_idle_w - cfg.p_sleep_w)
        energy = -cfg.energy_weight * (b.transfer_energy_j + b.extra_comp_j + sending) / cfg.energy_scale_j
        return {"delay": delay, "energy": energy}

    def _psi(self, metrics: dict | None, final: np.ndarray) -> np.ndarray:
        """The ``log_edr`` potential of every copy (``rewards.log_edr``; math.log, as the single env)."""
        b = self.batch
        wake = np.minimum(b.send_backlog_s, b.period_s[:, None])
        savings = selected_sum(b.sleep_saving_w[:, None] * (b.period_s[:, None] - wake), ~b.working)
        energy = savings - b.transfer_energy_j - b.extra_comp_j
        dt = b.t_after() - b.t_before_s
        if metrics is not None:
            energy = np.where(final, metrics["net_energy_saved_j"], energy)
            dt = np.where(final, metrics["delay_increment_s"], dt)
        return np.array([math.log(max(e, MIN_ENERGY_J)) - math.log(max(d, MIN_DELAY_INCREMENT_S))
                         for e, d in zip(energy.tolist(), dt.tolist())])

    def _terms(self, masked: np.ndarray, final: np.ndarray, metrics: dict) -> dict[str, np.ndarray]:
        cfg = self.config
        gamma = cfg.shaping_gamma
        potentials = self._potentials()
        terms = {}
        for name in ("delay", "energy"):
            now = np.where(final, 0.0, potentials[name] - self.offset[name])
            terms[name] = gamma * now - self.last[name]
            self.last[name] = now
        terms["invalid"] = np.where(masked, -cfg.invalid_weight, 0.0)
        terms["edr"] = np.where(final, cfg.edr_weight * metrics["edr_j_per_s"] / cfg.edr_scale, 0.0)
        terms["deadline"] = np.where(final, -cfg.deadline_weight * metrics["deadline_violations"], 0.0)
        terms["log_edr"] = np.zeros(self.num_envs)
        if cfg.log_edr_weight != 0.0:
            psi = self._psi(metrics, final)
            terms["log_edr"] = cfg.log_edr_weight * (psi - self.last_psi)
            self.last_psi = psi
        return {name: terms[name] for name in TERMS}

    # ------------------------------------------------------------------ observation and info
    def _mask(self) -> np.ndarray:
        return (self.batch.valid() & ~self.over[:, None]).astype(np.int8)

    def _obs(self) -> dict[str, np.ndarray]:
        """``AggregationEnv._obs`` of every copy."""
        cfg, b, lay, k, m = self.config, self.batch, self.layout, self.num_envs, self.m
        scale = cfg.deadline_max_s
        obs = np.zeros((k, lay.size))
        sat = obs[:, : m * lay.per_sat].reshape(k, m, lay.per_sat)  # views of the flat observation
        glob = obs[:, m * lay.per_sat:]
        load = b.volume_bits + b.received_bits
        sat[:, :, SAT["working"]] = b.working
        sat[:, :, SAT["delay"]] = b.delays() / scale
        sat[:, :, SAT["own_load"]] = b.own_load_s / scale
        sat[:, :, SAT["load"]] = load / b.capacity_bits[:, None]
        sat[:, :, SAT["comp_power"]] = b.p_comp_w / COMP_POWER_SCALE_W
        glob[:, GLOB["t_before"]] = b.t_before_s / scale
        glob[:, GLOB["t_after"]] = b.t_after() / scale
        glob[:, GLOB["max_backlog"]] = b.send_backlog_s.max(axis=1) / scale
        glob[:, GLOB["steps_left"]] = np.maximum(self.step_limit - self.steps, 0) / self.step_limit
        mask = self._mask()
        active = mask.any(axis=1)
        if active.any():  # the current business's columns (zero for copies without one, as in the single env)
            flag = mask.astype(bool)
            bits, deadline, sender = b.current("bits"), b.current("deadline_s"), b.current("sender")
            with np.errstate(invalid="ignore", divide="ignore"):
                trial = b.trial_delays(b.valid())
                finish = np.where(flag, b.own_trial(), 0.0)
                sat[:, :, SAT["valid"]] = mask
                cap = b.capacity_bits[:, None]
                sat[:, :, SAT["room_after"]] = (cap - load - bits[:, None]) / cap
                sat[:, :, SAT["tx_time"]] = b.current("tx_s") / scale
                sat[:, :, SAT["prop_delay"]] = b.current("prop_s") / 0.01
                sat[:, :, SAT["distance"]] = b.current("distance_m") / 5e6
                sat[:, :, SAT["relayed"]] = b.current("relayed")
                sat[:, :, SAT["transfer_energy"]] = b.current("route_energy_j") / cfg.energy_scale_j
                sat[:, :, SAT["extra_comp_energy"]] = b.current("route_extra_comp_j") / cfg.energy_scale_j
                sat[:, :, SAT["trial_delay"]] = np.where(np.isfinite(trial), trial / scale, 0.0)
                sat[:, :, SAT["trial_finish"]] = finish / scale
                sat[:, :, SAT["trial_slack"]] = np.where(flag, deadline[:, None] - finish, 0.0) / scale
                glob[:, GLOB["business_bits"]] = bits / cfg.business_bits_max
                glob[:, GLOB["deadline"]] = deadline / scale
                glob[:, GLOB["left"]] = (b.num_transfers - b.k) / b.num_transfers
                glob[:, GLOB["sender_backlog"]] = b.send_backlog_s[b.rows, sender] / scale
                glob[:, GLOB["sender_left"]] = b.current("sender_after") / b.current("sender_total")
            idle = np.flatnonzero(~active)
            if idle.size:
                sat[np.ix_(idle, np.arange(m), CURRENT_SAT)] = 0.0
                glob[np.ix_(idle, CURRENT_GLOB)] = 0.0
        obs = np.clip(obs, -OBS_HIGH, OBS_HIGH).astype(np.float32)
        return {"observation": obs, "action_mask": mask}

    def _metrics(self) -> dict[str, np.ndarray]:
        return {**self.batch.metrics(), "masked_actions": self.masked_actions.copy()}

    def _info(self, terms: dict, masked: np.ndarray, metrics: dict, final: np.ndarray) -> dict:
        """The single env's info keys as (K,) arrays with Gymnasium's ``_key`` masks (every copy has each)."""
        everyone = np.ones(self.num_envs, bool)
        rewards = {}
        for name, value in terms.items():
            rewards[name], rewards[f"_{name}"] = np.asarray(value, float).copy(), everyone.copy()
        info = {"rewards": rewards, "_rewards": everyone.copy()}
        values = {"masked_action": masked.copy(), "businesses_to_reassign": self.batch.num_transfers.copy(),
                  **metrics, "metrics_final": final.copy()}
        for key, value in values.items():
            info[key], info[f"_{key}"] = value, everyone.copy()
        return info

    def close_extras(self, **kwargs) -> None:
        pass


def _is_seed(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _masked_info(info: dict, rows: np.ndarray) -> dict:
    """``info`` with only ``rows`` filled (the rest zero) and every ``_key`` mask equal to ``rows``: the
    shape ``SyncVectorEnv`` gives ``final_info``."""
    out = {}
    for key, value in info.items():
        if key.startswith("_"):
            out[key] = rows.copy()
        elif isinstance(value, dict):
            out[key] = _masked_info(value, rows)
        else:
            out[key] = np.where(rows, value, np.zeros((), value.dtype))
    return out


__all__ = ["AggregationVectorEnv", "AggregationEnv"]
