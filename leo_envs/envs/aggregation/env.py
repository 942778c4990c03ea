"""Aggregation-v0: the Gymnasium Env around ``AggregationState``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..base import ScenarioEnv
from .config import AggregationConfig, make_config
from .dynamics import AggregationState
from .generator import AggregationInstance, InstanceGenerator

SAT_FEATURES = 10
GLOBAL_FEATURES = 8
OBS_HIGH = 1e3  # features are clipped to [0, OBS_HIGH]


class AggregationEnv(gym.Env, ScenarioEnv):
    """Business aggregation in a LEO service layer (MDP), after the energy-delay-ratio paper.

    ## Description
    A control satellite (2000 km) coordinates M service satellites (planes at 500-1500 km, sgp4
    geometry). Ground users' businesses (size in bits, maximum tolerable delay) have arrived at the
    satellites covering them. CDSSQ picks V = ceil(total volume / C_max) working satellites, the busiest
    ones; the others will sleep for ``sleep_s`` seconds once their businesses are reassigned. Each step
    reassigns the next business of a sleeping satellite to a working one, over a direct ISL or relayed
    by the control satellite (Shannon capacity from the core's link budget). Goal: the best energy
    saved per second of delay added, EDR = E_net / max(dT, 1 ms), without breaking deadlines.

    ## Action Space
    ``Discrete(M)``: the working satellite that receives the current business. Only working satellites
    with a link are allowed (``action_mask``). A masked action is replaced by the feasible satellite
    with the smallest resulting delay, counted in ``info["masked_actions"]`` and charged -1
    (``invalid`` term). An action outside the space raises ``ValueError``.

    ## Observation Space
    ``Dict(observation=Box(0, 1000, (10 M + 8,), float32), action_mask=Box(0, 1, (M,), int8))``.
    Per satellite: working, feasible now, current delay T_j and own load (in units of
    ``deadline_max_s``), bits received / C_max, transmission and propagation time of the current
    business to it, distance / 5000 km, its transfer energy / ``energy_scale_j``, and the max working
    delay if the business went there. Global: business size, its deadline, share of businesses left,
    delay before aggregation, current max working delay, how long its (sleeping) sender has been sending,
    the share of that sender's businesses still to send, and the longest sending time of any sender.
    ``transfer_prior()`` gives the paper's exploration prior p_j ~ (C_max - load_j).

    ## Rewards
    Named terms (``info["rewards"]``), weights from the config: ``energy`` = -w E_transfer /
    ``energy_scale_j``; ``delay`` = -w (growth of the max working delay) / ``delay_scale_s``;
    ``deadline`` = -w (deadlines newly broken); ``invalid`` = -1 per masked action; at the last step
    ``edr`` = w EDR / ``edr_scale``.

    ## Episode End
    Terminates when every business of the sleeping satellites has been reassigned; ``info`` then holds
    ``edr_j_per_s``, ``energy_reduction``, ``net_energy_saved_j``, ``delay_increment_s``,
    ``deadline_violations`` and ``working_sats``. ``reset(options={"working_sats": V})`` overrides V
    for one episode (``"all"``: no aggregation; the single step then only reports the metrics).

    ## Arguments
    ``gym.make("leo_envs/Aggregation-v0", scenario="medium_traffic", render_mode=None, **overrides)``;
    scenarios ``low_traffic``, ``medium_traffic``, ``high_traffic``, ``tiny``; any field of
    ``AggregationConfig`` can be overridden (unknown keys or bad values raise ``ValueError``).

    ## Version History
    * v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, scenario: str | AggregationConfig = "medium_traffic", render_mode: str | None = None,
                 **overrides):
        self._setup(make_config, scenario, render_mode, overrides)
        self.generator = InstanceGenerator(self.config)
        self.m = m = self.generator.m
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(0.0, OBS_HIGH, (SAT_FEATURES * m + GLOBAL_FEATURES,), np.float32),
            "action_mask": spaces.Box(0, 1, (m,), np.int8),
        })
        self.action_space = spaces.Discrete(m)
        self.instance: AggregationInstance | None = None
        self.state: AggregationState | None = None
        self._over = False

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        working = None
        if options and "working_sats" in options:
            working = options["working_sats"]
            if working != "all" and not (isinstance(working, (int, np.integer)) and 1 <= working <= self.m):
                raise ValueError(f"options['working_sats']: {working!r}; expected 'all' or an integer in [1, {self.m}]")
        elif self.config.working_sats is not None:
            working = self.config.working_sats
        self.instance = self.generator.generate(self.np_random, working)
        self.state = AggregationState(self.instance, self.config)
        self.masked_actions = 0
        self._over = False
        return self._obs(), {"businesses_to_reassign": int(self.instance.transfer.size),
                             "working_sats": int(self.instance.working.sum())}

    def step(self, action):
        if self.state is None:
            raise ValueError("step: call reset() first")
        if self._over:
            raise ValueError("step: the episode is over; call reset() first")
        try:
            a = float(np.asarray(action).reshape(()))
        except (TypeError, ValueError):
            raise ValueError(f"action: {action!r} is not an integer in [0, {self.m - 1}]") from None
        if not np.isfinite(a) or a != int(a) or not 0 <= a < self.m:
            raise ValueError(f"action: {action!r} is not an integer in [0, {self.m - 1}]")
        j = int(a)
        cfg, st = self.config, self.state
        terms = {"energy": 0.0, "delay": 0.0, "deadline": 0.0, "invalid": 0.0, "edr": 0.0}
        masked = False
        if not st.done:
            mask = self.action_mask()
            if not mask[j]:
                masked = True
                self.masked_actions += 1
                terms["invalid"] = -1.0
                j = int(np.argmin(st.trial_delays()))
            raw = st.assign(j)
            terms["energy"] = -cfg.energy_weight * raw["energy_j"] / cfg.energy_scale_j
            terms["delay"] = -cfg.delay_weight * raw["delay_growth_s"] / cfg.delay_scale_s
            terms["deadline"] = -cfg.deadline_weight * raw["new_violations"]
        terminated = st.done
        info = {"rewards": terms, "masked_action": masked, "masked_actions": self.masked_actions}
        if terminated:
            metrics = st.metrics()
            terms["edr"] = cfg.edr_weight * metrics["edr_j_per_s"] / cfg.edr_scale
            info.update(metrics)
            self._over = True
        reward = float(sum(terms.values()))
        return self._obs(), reward, terminated, False, info

    # ------------------------------------------------------------------ helpers
    def action_mask(self) -> np.ndarray:
        st = self.state
        if st.done:
            return np.zeros(self.m, np.int8)
        return self.instance.feasible[st.k].astype(np.int8)

    def transfer_prior(self) -> np.ndarray:
        """The paper's transfer probabilities p_j ~ (C_max - load_j) over the feasible satellites."""
        mask = self.action_mask().astype(bool)
        inst, st = self.instance, self.state
        load = inst.volume_bits + st.transfer_bits
        room = np.where(mask, np.maximum(self.config.max_volume_bits - load, 0.0), 0.0)
        if room.sum() <= 0:
            return mask / max(mask.sum(), 1)
        return room / room.sum()

    def _obs(self) -> dict:
        cfg, inst, st = self.config, self.instance, self.state
        m, scale = self.m, cfg.deadline_max_s
        sat = np.zeros((m, SAT_FEATURES))
        sat[:, 0] = inst.working
        sat[:, 2] = st.delays() / scale
        sat[:, 3] = inst.own_load_s / scale
        sat[:, 4] = st.transfer_bits / cfg.max_volume_bits
        glob = np.zeros(GLOBAL_FEATURES)
        glob[3] = inst.t_before_s / scale
        glob[4] = st.t_after() / scale
        if not st.done:
            k = st.k
            b = inst.transfer[k]
            sat[:, 1] = inst.feasible[k]
            sat[:, 5] = inst.tx_s[k] / scale
            sat[:, 6] = inst.prop_s[k] / 0.01
            sat[:, 7] = inst.distance_m[k] / 5e6
            sat[:, 8] = inst.energy_j[k] / cfg.energy_scale_j
            trial = st.trial_delays()
            sat[:, 9] = np.where(np.isfinite(trial), trial / scale, 0.0)
            glob[0] = inst.bits[b] / cfg.business_bits_max
            glob[1] = inst.deadline_s[b] / scale
            glob[2] = (inst.transfer.size - k) / inst.transfer.size
            sender = inst.origin[b]
            senders = inst.origin[inst.transfer]
            glob[5] = st.send_backlog_s[sender] / scale
            glob[6] = np.count_nonzero(senders[k:] == sender) / np.count_nonzero(senders == sender)
        glob[7] = st.send_backlog_s.max() / scale
        obs = np.clip(np.concatenate([sat.ravel(), glob]), 0.0, OBS_HIGH).astype(np.float32)
        return {"observation": obs, "action_mask": self.action_mask()}

    def render(self):
        if self.render_mode is None or self.state is None:
            return None
        from .viewer import render_frame

        return render_frame(self)

    def close(self) -> None:
        pass
