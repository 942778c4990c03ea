"""Aggregation-v2: the Gymnasium Env around ``AggregationState``."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ...config import as_integer
from ..base import ScenarioEnv, integer_action, reset_options
from .config import AggregationConfig, make_config
from .dynamics import AggregationState
from .generator import InstanceGenerator
from .rewards import TERMS, RewardTerms
from .types import COMP_POWER_SCALE_W, AggregationInstance, ObservationLayout

OBS_HIGH = 1e3  # features are clipped to [-OBS_HIGH, OBS_HIGH]
RESET_OPTIONS = ("working_sats", "instance")


def working_sats_option(options: dict, default: int | None, m: int) -> int | None:
    """V for the episodes a reset starts: ``options["working_sats"]`` ("all" or an integer in [1, M]) if
    given, else ``default`` (the config's)."""
    if "working_sats" not in options:
        return default
    value = options["working_sats"]
    working = as_integer(m if isinstance(value, str) and value == "all" else value)
    if working is None or not 1 <= working <= m:
        raise ValueError(f"options['working_sats']: {value!r}; expected 'all' or an integer in [1, {m}]")
    return working


class AggregationEnv(gym.Env, ScenarioEnv):
    """Business aggregation in a LEO service layer (MDP), after the energy-delay-ratio paper.

    ## Description
    A control satellite (2000 km) coordinates M service satellites (planes at 500-1500 km, sgp4
    geometry). Ground users' businesses (size in bits, maximum tolerable delay) have arrived at the
    satellites covering them. Every satellite's transmit, receive and compute powers are drawn per
    instance from the paper's ranges (10-50 W, 5-25 W, 60-415 W). CDSSQ picks V = ceil(total volume /
    C_max) working satellites, the busiest, and adds more while the working ones could not take the
    others' businesses within C_max (V = M: no aggregation, the episode is a single step). Each step
    reassigns the next business of a sleeping satellite to a working one, over a direct ISL or relayed
    by the control satellite (the core's line of sight and Shannon capacity). Goal: the best energy
    saved per second of delay added, EDR = E_net / max(dT, 1 ms), without breaking deadlines. E_net =
    sleep savings (each sleeping satellite sleeps from the end of its last transfer until ``sleep_s``)
    - transfer energy (P_tx of each hop's sender + P_rx of its receiver, times the hop time) - extra
    compute energy (P_comp of the satellite that runs a business minus its origin's).

    ## Action Space
    ``Discrete(M)``: the satellite that receives the current business. Valid: working, reachable, and
    with room for the business within C_max (``action_mask``, also ``action_masks()`` for sb3-contrib's
    MaskablePPO). A masked action makes no progress: the business stays where it is, the ``invalid`` term
    charges ``invalid_weight`` and ``info["masked_actions"]`` counts it. A business no satellite can take
    when its turn comes stays with its satellite. An action must be an integer in [0, M) (a Python or
    numpy integer): one out of range, a bool, float, complex, string or container raises ``ValueError``.

    ## Observation Space
    ``Dict(observation=Box(-1000, 1000, (16 M + 9,), float32), action_mask=Box(0, 1, (M,), int8))``.
    Named columns (``env.layout.sat("load")``, ``env.layout.glob("left")``; ``types.SAT_FEATURES`` and
    ``types.GLOBAL_FEATURES`` give meanings and units). Per satellite: working, valid, current finish time,
    own load, load / C_max, room left if the business went there, transmission and propagation time and
    route length to it, relayed, transfer energy, extra compute energy, compute power, its finish time and
    the business's slack if the business went there, and the max finish time then. Global: the
    business's size and deadline, share left, delay before aggregation, current max finish time, how
    long its sender has been sending, the share of that sender's businesses left, the longest sending
    time, the share of the step budget left. Terminal mask: see Episode End.
    ``transfer_prior()`` gives the paper's exploration prior p_j ~ (C_max - load_j).

    ## Rewards
    Named terms (``info["rewards"]``), weights from the config. At the last step ``edr`` = w EDR /
    ``edr_scale`` and ``deadline`` = -w x deadline violations; ``invalid`` = -w per masked action.
    ``delay`` and ``energy`` are potential-based shaping (potential: minus the delay added so far /
    ``delay_scale_s``, minus the energy the transfers so far cost (transfer, extra compute, sleep lost
    while sending) / ``energy_scale_j``; zero
    at the first and the last state), so they sum to zero over every episode. The undiscounted return is
    exactly ``EDR / edr_scale - 0.001 violations - 0.1 masked actions`` at the default weights. A learner
    that discounts by gamma should pass ``shaping_gamma=gamma`` (shaping gamma phi(s') - phi(s)).
    ``log_edr`` (weight 0 by default) pays each step's change of log(E / max(dT, 1 ms)), E the net energy
    saved if the rest were free and dT the delay added so far (at the end: the episode's): its sum is
    log EDR minus a constant of the instance, so it ranks one instance's episodes as EDR does, step by
    step (Double DQN trains on it with ``edr_weight=0``).

    ## Episode End
    Terminates when every business of the sleeping satellites has been reassigned (or found no room);
    truncated after ``ceil(step_limit_factor x K)`` steps for K businesses to reassign (a policy that honours
    the mask reassigns a business every step, so only masked actions lead there). A business left
    unassigned keeps its satellite awake (no saving) and counts as a deadline violation: a stranded one
    (no satellite could take it when its turn came) runs on its satellite; a refused one (truncation came
    first) counts as served at the end of the accounting period ``sleep_s``, so the episode's delay
    increment is at least ``sleep_s`` minus the delay before aggregation and its EDR is near zero:
    refusing work does not pay wherever a sleeping satellite saves more than its transfers cost (every
    preset). ``info["metrics_final"]`` is True at the last step only. ``reset(options={"working_sats":
    V})`` overrides V for one episode (``"all"`` or M: no aggregation); ``reset(options={"instance":
    env.unwrapped.instance})`` replays an instance (per-instance optimisers such as Double DQN's fine-tuning).
    Terminal mask: the observation after the last step has an all-zero ``action_mask`` (and
    ``action_masks()`` is all False); so does the first observation of an episode with nothing to reassign
    (V = M, or no satellite can take any business: common at ``high_traffic``), whose one step ignores the
    action. Do not sample from it: TorchRL's masked samplers raise on an all-zero mask; wrap the env in
    ``leo_envs.wrappers.GymHoldWhenIdle`` (action 0 allowed then). ``gym.make_vec`` (default next-step
    autoreset) returns the terminal observation with ``terminated``/``truncated`` and resets that env at
    the next ``step``, ignoring its action: pass any action (0) where the mask is all zero. With
    ``autoreset_mode=SAME_STEP`` the step returns the next episode's first observation and the terminal
    one in ``info["final_obs"]`` (the last step's info in ``info["final_info"]``); SB3's vector envs
    return the first observation too, the terminal one in ``info["terminal_observation"]``, and
    MaskablePPO asks ``action_masks()`` after the reset (sb3-contrib samples uniformly from an all-False
    mask without raising; the env ignores that action).

    ## Info
    The same keys with the same types at reset and at every step: ``rewards`` (the named terms, all 0.0
    at reset), ``masked_action`` (this step), ``businesses_to_reassign`` (K), the episode metrics, running
    from reset (their values if the episode ended now: a business not reassigned yet counts as refused:
    unassigned, a violation, served at the end of the period) and final at the last step: ``edr_j_per_s``,
    ``energy_reduction``, ``net_energy_saved_j``, ``energy_savings_j``, ``transfer_energy_j``,
    ``extra_compute_energy_j``, ``delay_increment_s``, ``deadline_violations``, ``working_sats``,
    ``sleeping_sats``, ``aggregated``, ``reassigned``, ``unassigned``, ``stranded``, ``refused``,
    ``masked_actions`` (README, "Metrics"); and ``metrics_final`` (bool), True only at the episode's last
    step. Read the results where ``metrics_final`` is True, not where a key appears.

    ## Vectorized environment
    ``gym.make_vec("leo_envs/Aggregation-v2", num_envs=K, **overrides)`` (``vectorization_mode=
    "vector_entry_point"``, the default since the id registers one) returns ``AggregationVectorEnv``: K copies
    stepped as arrays (the instances of new episodes are generated together, each from its copy's own random
    stream), with Gymnasium's next-step autoreset (or ``autoreset_mode=AutoresetMode.SAME_STEP``, or ``DISABLED``
    with partial resets: ``reset(options={"reset_mask": mask})``). Copy k
    reset with seed s_k is this env reset with s_k and then reset without a seed at each episode end, bit for
    bit: observations, masks, rewards and infos equal those of ``vectorization_mode="sync"``. Actions are an
    integer array (K,); ``action_masks()`` is (K, M); ``instance(k)`` is copy k's instance. Wrappers of
    single envs (``GymHoldWhenIdle``) need ``vectorization_mode="sync"`` or ``"async"``.

    ## Arguments
    ``gym.make("leo_envs/Aggregation-v2", scenario="medium_traffic", render_mode=None, **overrides)``;
    scenarios ``low_traffic``, ``medium_traffic``, ``high_traffic``, ``sparse_traffic``, ``tiny``; any
    field of ``AggregationConfig`` can be overridden (unknown keys or bad values raise ``ValueError``).

    ## Version History
    * v2: a business refused by truncation counts as served at the end of the accounting period (v1
      ran it on its satellite from t = 0, so leaving work unassigned cut the delay added and could double
      the EDR and the return: on tiny seed 1000, two businesses assigned and masked actions until
      truncation scored 26.7M J/s against the optimum's 13.0M); ``refused`` info key. Episodes of a policy
      that honours the mask end with the same metrics and returns; their running metrics before the last
      step count the businesses still to place as refused (delay added about ``sleep_s``).
    * v1: a masked action makes no progress (v0 replaced it by the least-delay choice); truncation after a
      step limit, unassigned businesses count as violations; C_max masked and CDSSQ never sleeps a
      satellite the others cannot cover; per-satellite powers from the paper's ranges (receive power and
      per-satellite compute energy counted, sleep from the end of the last transfer); the return is EDR
      with violations counted plus shaping that sums to zero; named observation (16 M + 9 columns);
      ``action_masks()``; sparse_traffic regenerated with V >= 2; recalibrated traffic levels; the same
      info keys at reset and every step (running episode metrics, ``metrics_final``); an optional
      ``log_edr`` reward term (weight 0 by default) and ``reset(options={"instance": ...})`` to replay an
      instance.
    * v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, scenario: str | AggregationConfig = "medium_traffic", render_mode: str | None = None,
                 **overrides):
        self._setup(make_config, scenario, render_mode, overrides)
        self.generator = InstanceGenerator(self.config)
        self.m = m = self.generator.m
        self.layout = ObservationLayout(m)
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(-OBS_HIGH, OBS_HIGH, (self.layout.size,), np.float32),
            "action_mask": spaces.Box(0, 1, (m,), np.int8),
        })
        self.action_space = spaces.Discrete(m)
        self.instance: AggregationInstance | None = None
        self.state: AggregationState | None = None
        self._over = False

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = reset_options(options, RESET_OPTIONS)
        working = working_sats_option(options, self.config.working_sats, self.m)
        if "instance" in options:
            if not isinstance(options["instance"], AggregationInstance) or options["instance"].num_sats != self.m:
                raise ValueError(f"options['instance']: {type(options['instance']).__name__}; expected an "
                                 f"AggregationInstance of {self.m} service satellites (e.g. env.unwrapped.instance)")
            if "working_sats" in options:
                raise ValueError("options: 'instance' fixes the working satellites; do not pass 'working_sats' too")
            self.instance = options["instance"]
        else:
            self.instance = self.generator.generate(self.np_random, working)
        self.state = AggregationState(self.instance)
        self.rewards = RewardTerms(self.config)
        self.rewards.start(self.state)
        self.masked_actions = 0
        self.steps = 0
        self.step_limit = max(1, math.ceil(self.config.step_limit_factor * self.instance.num_transfers))
        self._over = False
        return self._obs(), self._info(dict.fromkeys(TERMS, 0.0), False, self._metrics(), final=False)

    def step(self, action):
        if self.state is None:
            raise ValueError("step: call reset() first")
        if self._over:
            raise ValueError("step: the episode is over; call reset() first")
        j = integer_action("action", action, self.m)
        st = self.state
        masked = False
        if not st.done:
            if st.valid()[j]:
                st.assign(j)
            else:
                masked = True
                self.masked_actions += 1
        self.steps += 1
        terminated = st.done
        truncated = not terminated and self.steps >= self.step_limit
        final = terminated or truncated
        metrics = self._metrics()
        terms = self.rewards.step(st, masked, final, metrics)
        self._over = final
        return self._obs(), float(sum(terms.values())), terminated, truncated, self._info(terms, masked, metrics, final)

    def _metrics(self) -> dict:
        """The episode's metrics if it ended now (final at the last step)."""
        return {**self.state.metrics(), "masked_actions": self.masked_actions}

    def _info(self, terms: dict, masked: bool, metrics: dict, final: bool) -> dict:
        """The same keys with the same types at reset and at every step: the running metrics, final
        (``metrics_final``) at the last step."""
        return {"rewards": terms, "masked_action": masked, "businesses_to_reassign": self.instance.num_transfers,
                **metrics, "metrics_final": final}

    # ------------------------------------------------------------------ masks and helpers
    def action_mask(self) -> np.ndarray:
        """(M,) int8: 1 where the current business may go (all zero once the episode is over)."""
        if self.state is None or self._over:
            return np.zeros(self.m, np.int8)
        return self.state.valid().astype(np.int8)

    def action_masks(self) -> np.ndarray:
        """The mask as booleans, the method sb3-contrib's MaskablePPO looks for."""
        return self.action_mask().astype(bool)

    def transfer_prior(self) -> np.ndarray:
        """The paper's transfer probabilities p_j ~ (C_max - load_j) over the valid satellites."""
        if self.state is None:
            raise ValueError("transfer_prior: call reset() first")
        mask = self.action_mask().astype(bool)
        inst, st = self.instance, self.state
        load = inst.volume_bits + st.received_bits
        room = np.where(mask, np.maximum(inst.capacity_bits - load, 0.0), 0.0)
        if room.sum() <= 0:
            return mask / max(mask.sum(), 1)
        return room / room.sum()

    def _obs(self) -> dict:
        cfg, inst, st, lay = self.config, self.instance, self.state, self.layout
        scale = cfg.deadline_max_s
        obs = np.zeros(lay.size)

        def put(feature, values):
            obs[lay.sat(feature)] = values

        load = inst.volume_bits + st.received_bits
        put("working", inst.working)
        put("delay", st.delays() / scale)
        put("own_load", inst.own_load_s / scale)
        put("load", load / inst.capacity_bits)
        put("comp_power", inst.power.p_comp_w[: self.m] / COMP_POWER_SCALE_W)
        obs[lay.glob("t_before")] = inst.t_before_s / scale
        obs[lay.glob("t_after")] = st.t_after() / scale
        obs[lay.glob("max_backlog")] = st.send_backlog_s.max() / scale
        obs[lay.glob("steps_left")] = max(self.step_limit - self.steps, 0) / self.step_limit
        mask = self.action_mask()
        if mask.any():
            k = st.k
            b = inst.transfer[k]
            put("valid", mask)
            put("room_after", (inst.capacity_bits - load - inst.bits[b]) / inst.capacity_bits)
            put("tx_time", inst.tx_s[k] / scale)
            put("prop_delay", inst.prop_s[k] / 0.01)
            put("distance", inst.distance_m[k] / 5e6)
            put("relayed", inst.relayed[k])
            put("transfer_energy", inst.transfer_energy_j[k] / cfg.energy_scale_j)
            put("extra_comp_energy", inst.extra_comp_j[k] / cfg.energy_scale_j)
            trial = st.trial_delays()
            put("trial_delay", np.where(np.isfinite(trial), trial / scale, 0.0))
            finish = np.where(mask, st.own_trial(), 0.0)
            put("trial_finish", finish / scale)
            put("trial_slack", np.where(mask, inst.deadline_s[b] - finish, 0.0) / scale)
            obs[lay.glob("business_bits")] = inst.bits[b] / cfg.business_bits_max
            obs[lay.glob("deadline")] = inst.deadline_s[b] / scale
            obs[lay.glob("left")] = (inst.num_transfers - k) / inst.num_transfers
            senders = inst.sender
            sender = senders[k]
            obs[lay.glob("sender_backlog")] = st.send_backlog_s[sender] / scale
            obs[lay.glob("sender_left")] = (np.count_nonzero(senders[k:] == sender)
                                            / np.count_nonzero(senders == sender))
        obs = np.clip(obs, -OBS_HIGH, OBS_HIGH).astype(np.float32)
        return {"observation": obs, "action_mask": mask}

    def render(self):
        if self.render_mode is None or self.state is None:
            return None
        from .viewer import render_frame

        return render_frame(self)

    def close(self) -> None:
        pass
