"""offload_routing_v3: the PettingZoo ParallelEnv around ``OffloadRoutingSim``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from ..base import ScenarioEnv, integer_action_array, integer_actions, reset_options
from .config import OffloadRoutingConfig, make_config
from .dynamics import OffloadRoutingSim


class OffloadRoutingEnv(ParallelEnv, ScenarioEnv):
    """Delay-aware large-small model collaboration over a LEO constellation (Dec-POMDP).

    ## Description
    Remote-sensing satellites (RS-Sats) receive inference tasks of D bits (Poisson arrivals). Each task
    is split: a share rho runs on the RS-Sat's small model, the rest is offloaded as a bundle that
    travels hop by hop over +Grid inter-satellite links to any computing satellite (C-Sat, anycast),
    where a large model runs it. Every satellite is an agent and routes the bundles it holds. Per hop
    a bundle waits in FIFO queues, is transmitted at the link's Shannon capacity (sgp4 geometry, free
    space loss) and propagates at c. A task's delay is the later of its two finishes minus its arrival.
    A task not finished ``ttl_s`` after its arrival is dropped with every part of it, wherever the part
    is (undecided, in the small model's queue, waiting, on a link, in a large model's queue); the queues
    behind a dropped part move up. Tasks are also dropped on full buffers and failed satellites.
    Goal: minimum mean task cost (below). C-Sats sit every ``csat_every`` slots in each plane (or at
    ``csat_catalog_numbers``). The constellation is a Walker preset or a TLE set whose planes and slots
    are inferred from the elements (``Constellation.from_tle``); a hole in a plane leaves its neighbours'
    ports towards it empty, and satellites without a slot have no ports (or are left out).

    ## Action Space
    ``Discrete(6 + ratio_levels)``, identical for all agents, with an ``action_mask``:
    0 hold (keep the data queued this slot); 1-4 send the head-of-line bundle to the fore / aft / left /
    right +Grid neighbour (allowed when that link is up); 5 compute the head bundle here (C-Sats);
    6.. choose the local share rho = (a - 6) / (ratio_levels - 1) of the oldest new task (RS-Sats with a
    new task; while one waits, only hold and the ratios are allowed). An agent with nothing to decide
    has an all-zero mask and its action is ignored (see Episode End for what that means to samplers). A
    masked action of a deciding agent holds and is counted in ``info["masked_actions"]``. An action must
    be an integer in the space (a Python or numpy integer; ``step_arrays`` takes an integer array): one
    out of range, a bool, float, complex, string or container raises ``ValueError`` naming the agent.

    ## Observation Space
    ``Dict(observation=Box(0, inf, (41,), float32), action_mask=Box(0, 1, (6 + L,), int8))``, local only.
    The columns are named in ``types.OBS`` (``OBS.col("task_bits")``, ``OBS.ports("link_up")``).
    Own (9): is_csat, has_task, task_bits (/ D), head_bits (head bundle / D), head_age (/ TTL),
    waiting_bits (/ D), local_backlog_s, cpu_backlog_s, hops_to_csat (/ 16).
    Per port (4 x 8, fore, aft, left, right): link_up, tx_time (D / capacity, s), prop_delay (10 ms
    units), link_backlog_s (own transmissions queued), nbr_waiting_bits (/ D), nbr_hops_to_csat (/ 16),
    nbr_is_csat, nbr_cpu_backlog_s (one-hop information exchange).
    ``state()`` concatenates all observations (for centralised critics). Masks are read-only arrays
    (the env checks actions against them; copy one to edit it); observations are fresh every step.

    ## Rewards
    Every task costs the time it spends in the system (from its arrival until it finishes, is dropped
    or the episode ends); a dropped task costs ``ttl_s + drop_penalty_s`` in all, however early it was
    dropped. The reward of a slot is minus what the slot cost, in two named terms (``info["rewards"]``):
    ``holding``, minus the time each task spent in the system during the slot (dt per task), and
    ``drop``, minus ``drop_penalty_s`` plus the rest of its TTL for each task dropped in the slot.
    ``reward_mode="team"`` (default): every agent gets the team reward, so the episode return is minus
    the total cost of all tasks (``info["total_cost_s"]`` at the end): the objective itself.
    ``reward_mode="hop"``: per-agent credit. A task's time in the system is charged to the RS-Sat while
    the task is undecided and while its local part is open, then to the satellite holding its bundle
    (waiting, sending it on a link until it arrives, computing it or queueing it for its large model);
    a drop is charged to the holders of its open parts at the moment of the drop, in equal shares. On
    top, a hand-over credit charges passing work on by its consequences: when a bundle reaches the next
    satellite, its sender pays the receiver the time the receiver's holders are expected to pay for it,
    the bundle's estimated time to go from there less the time the local part still needs (zero when
    the local part will finish later). The time to go counts the hops left to the nearest C-Sat at the
    moment's mean link rate, propagation and link backlog, then the C-Sats' mean compute backlog and the
    large model's service time. So an RS-Sat pays for each task about the later of its two parts'
    finishes, which is what the task costs: the local part's time plus, at its first hand-over, what the
    offloaded part is expected to take beyond it. A neighbour farther from the C-Sats costs its sender
    more, a C-Sat that passes on a bundle it could compute pays for another hop and another large model,
    and the receiver is paid for the work it takes on. The transfers cancel in the sum, so the rewards
    sum over agents to the team reward exactly, every slot. Holding work only makes an agent pay longer
    (and a drop costs its holders ``ttl_s + drop_penalty_s``). The estimate leaves out the queueing an
    agent's work causes others, so ``hop`` is close to the team's interest, not equal to it: on iridium
    under even_split, half the RS-Sats keeping 0.4 of each task instead of 0.5 (team cost 0.693 ->
    0.697 s on seed 0) earn on average 0.04 s more per episode than at 0.5 (3 episodes: -0.18 to
    +0.26 s; v2 paid them 1.8 s), and keeping 0.3 or 0.6 costs 96-100% of them 5-6 s.
    Which mode for which learner: ``hop`` gives each agent the consequences of its own decisions; it suits
    learners that learn from per-agent rewards, independent or parameter-shared, with or without a
    centralised critic (measured on iridium: parameter-shared MaskablePPO, RLlib PPO, MAPPO and IPPO pass
    full_offload within a few hundred thousand agent-steps on ``hop``; on ``team`` their greedy policies
    still held most work at the same budgets; at 10.1M agent-steps on v3's ``hop`` all four beat even_split
    and IPPO beats congestion_aware). ``team`` is the objective itself, the same for all; it suits
    value decomposition (QMIX, VDN: the mixer learns from the team reward) and reporting. MADQN learns
    from ``info["transitions"]`` in either mode.
    ``info["transitions"]`` holds the per-bundle routing transitions completed in the slot
    (agent, obs, action, delay_s, next_agent, next_obs, next_action_mask, done) for packet-level learners.

    ## Episode End
    No termination; all agents are truncated together after ``max_cycles`` slots of ``dt_s`` (every
    scenario runs several TTLs); ``info["metrics_final"]`` is True in that step's info only.
    Terminal mask: the observation returned with the last step shows the state at the end, with the
    masks of that moment, but no agent acts on it (``env.agents`` is empty; ``step`` raises until
    ``reset``). In it, as at every step, each agent with nothing to decide (often most of them) has an
    all-zero ``action_mask``. A library that samples from the mask must not be fed one: TorchRL's masked
    samplers raise on an all-zero mask; wrap the env in ``leo_envs.wrappers.HoldWhenIdle`` (the mask
    then allows hold, 0, which the env ignores). Vector envs reset on their own: SuperSuit's vector env
    (``agents.supersuit_sb3.make_sb3_vec_env``) returns the next episode's first observation with the
    done flags and puts each agent's terminal one in ``info["terminal_observation"]``; SuperSuit does
    not use masks, and an action for an idle agent is ignored.

    ## Info
    One dict shared by all agents (team-level content), with the same keys and types at reset and at every
    step (TorchRL builds its specs from the first reset). Per slot: ``rewards`` (``holding``, ``drop``),
    ``transitions``, ``masked_actions`` (this slot), ``finished_in_slot``, ``dropped_in_slot``, ``t_s``.
    Episode metrics, running from reset (their values if the episode ended now), final at the last step:
    the headline ``mean_task_cost_s`` (mean cost of the tasks that arrived more than one TTL before now:
    a finished task its delay, a dropped one ``ttl_s + drop_penalty_s``; 0.0 while ``scored_tasks`` is 0),
    ``total_cost_s`` (minus the team return so far), ``scored_tasks``, ``mean_delay_s`` and
    ``p95_delay_s`` (finished tasks only, 0.0 before the first), ``completion_rate``, ``drop_rate``,
    ``mean_isl_utilization``, ``peak_isl_utilization``, ``csat_load_jain``, ``finished_tasks``,
    ``arrived_tasks``, ``drops_by_reason`` (``ttl``, ``buffer``, ``sat_failure``), ``masked_actions_total``;
    and ``metrics_final`` (bool), True only at the episode's last step. Read the results where
    ``metrics_final`` is True, not where a key appears. (SuperSuit 3.11's ``pettingzoo_env_to_vec_env_v1``
    merges the next episode's reset info over the last step's, so its done-step metrics are the new
    episode's first; ``make_sb3_vec_env`` keeps the last step's.)

    ## Arguments
    ``parallel_env(scenario="iridium", render_mode=None, **overrides)``: scenarios ``tiny``,
    ``iridium``, ``starlink_shell1``; every field of ``OffloadRoutingConfig`` can be overridden
    (unknown keys or bad values raise ``ValueError``). ``constellation``: a preset name, a path to a TLE
    file (``str`` or ``Path``) or TLE text; with TLE sets, ``catalog_numbers`` keeps only those satellites
    and ``unplaced_satellites`` keeps satellites that fit no slot or that sgp4 cannot propagate
    (decayed) without ISLs (``"relay"``, the default; a ``UserWarning`` lists them) or leaves them out
    (``"drop"``). ``render_mode``: ``"rgb_array"`` or ``"human"``.
    ``reset`` takes no ``options``: a key is ignored with a ``UserWarning`` (PettingZoo's API test passes
    one), options that are not a dict raise ``ValueError``; ``state()`` and
    ``observation_arrays()`` before the first ``reset`` raise ``ValueError``.

    ## Version History
    * v3: ``reward_mode="hop"`` charges a task's time to its RS-Sat while the local part is open and to
      the bundle's holders only after, and a hand-over is worth the bundle's estimated time to go beyond
      the local part's remaining time, with link and compute backlogs in the estimate. v2 shared the
      time among the holders of the open parts and priced a hand-over by the whole time to go, so a task
      cost its RS-Sat about the sum of its parts where the task costs the later of the two: RS-Sats
      gained by offloading more than the team's best split. ``team`` rewards, dynamics and observations
      unchanged.
    * v2: ``reward_mode="hop"`` charges passing work on: a sender pays its receiver the bundle's
      estimated time to go (hand-over credit; the per-agent rewards still sum to the team reward). v1's
      holder-only shares paid hot-potato routing. ``team`` rewards, dynamics and observations unchanged.
    * v1: the reward is the objective (time in system of every task plus drop costs; per-agent shares
      in ``hop`` mode; default mode ``team``); the TTL drops every part of a task wherever it is;
      headline metric ``mean_task_cost_s``; ``tiny`` runs 800 slots (four TTLs); named observation
      columns (``types.OBS``) and a typed ``sim.state``; the same info keys at reset and every step
      (running episode metrics, ``metrics_final``).
    * v0: initial release.
    """

    _transient = ("_viewer",)
    metadata = {"name": "offload_routing_v3", "render_modes": ["human", "rgb_array"], "is_parallelizable": True,
                "render_fps": 4}

    def __init__(self, scenario: str | OffloadRoutingConfig = "iridium", render_mode: str | None = None,
                 **overrides):
        self._setup(make_config, scenario, render_mode, overrides)
        self.sim = OffloadRoutingSim(self.config)
        self.possible_agents = [f"sat_{i}" for i in range(self.sim.n)]
        self.agent_index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents = []
        n_act = self.sim.n_actions
        obs_space = spaces.Dict({
            "observation": spaces.Box(0.0, np.inf, (self.sim.obs_dim,), np.float32),
            "action_mask": spaces.Box(0, 1, (n_act,), np.int8),
        })
        act_space = spaces.Discrete(n_act)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: act_space for a in self.possible_agents}
        self.state_space = spaces.Box(0.0, np.inf, (self.sim.n * self.sim.obs_dim,), np.float32)
        self._np_random = None
        self._viewer = None
        idle_mask = np.zeros(n_act, np.int8)
        idle_mask.flags.writeable = False
        self._idle_masks = [idle_mask] * self.sim.n

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    @property
    def num_actions(self) -> int:
        return self.sim.n_actions

    @property
    def ratio_levels(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.config.ratio_levels)

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None):
        reset_options(options, (), warn_unknown=True)
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
        self.sim.reset(self._np_random)
        self.agents = list(self.possible_agents)
        self._all_false = dict.fromkeys(self.agents, False)
        self.num_cycles = 0
        info = self._info(final=False)
        obs = self._observations()
        if self.render_mode == "human":
            self.render()
        return obs, {a: info for a in self.agents}

    def step(self, actions: dict):
        self._require_episode("step")
        acts = self.actions_array(actions)
        self.sim.step(acts)
        self.num_cycles += 1
        done = self.num_cycles >= self.config.max_cycles
        info = self._info(final=done)
        obs = self._observations()
        agents = self.agents
        rewards = dict(zip(agents, self.sim.reward.tolist()))
        terminations = self._all_false.copy()
        truncations = dict.fromkeys(agents, True) if done else self._all_false.copy()
        infos = dict.fromkeys(self._all_false, info)  # from a dict: presized, faster than from the list
        if done:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return obs, rewards, terminations, truncations, infos

    def step_arrays(self, actions: np.ndarray):
        """The vectorised fast path for parameter-shared learners: same dynamics as ``step`` without
        per-agent dicts. ``actions`` (N,) ints in ``possible_agents`` order; returns
        ``(obs (N, D), action_mask (N, A), rewards (N,), terminated, truncated, info)``."""
        self._require_episode("step_arrays")
        self.sim.step(integer_action_array("actions", actions, (self.sim.n,), self.sim.n_actions))
        self.num_cycles += 1
        done = self.num_cycles >= self.config.max_cycles
        info = self._info(final=done)
        if done:
            self.agents = []
        return self.sim.obs, self.sim.mask, self.sim.reward.copy(), False, done, info

    def actions_array(self, actions: dict) -> np.ndarray:
        """Validated (N,) int array from an agent -> action dict (missing agents hold)."""
        n, n_act = self.sim.n, self.sim.n_actions
        if not isinstance(actions, Mapping):
            raise ValueError(f"actions: {type(actions).__name__} is not a dict; expected a dict agent -> action")
        out = np.zeros(n, dtype=np.int64)
        if not actions:
            return out
        keys = list(actions)
        if keys == self.possible_agents:  # the common case: every agent, in order
            idx = np.arange(n)
        else:
            unknown = [k for k in keys if k not in self.agent_index]
            if unknown:
                raise ValueError(f"actions: unknown agent {unknown[0]!r}; agents are sat_0..sat_{n - 1}")
            idx = np.fromiter((self.agent_index[k] for k in keys), np.int64, len(keys))
        out[idx] = integer_actions(actions, n_act)
        return out

    def _observations(self) -> dict:
        # fresh arrays every step; observation rows are views into them. Agents with nothing to decide
        # (most of them) share one read-only all-zero mask instead of a view each: a third less work.
        sim = self.sim
        masks = self._idle_masks.copy()
        for i in np.flatnonzero(sim.deciding).tolist():
            masks[i] = sim.mask[i]
        return {a: {"observation": o, "action_mask": m} for a, o, m in zip(self.agents, sim.obs, masks)}

    def _info(self, final: bool) -> dict:
        """The same keys with the same types at reset and at every step; the episode metrics are the
        running values until the last step, where ``metrics_final`` turns True."""
        sim = self.sim
        return {
            "rewards": dict(sim.terms),
            "transitions": sim.transitions(),
            "masked_actions": int(np.count_nonzero(sim.masked_now)),
            "finished_in_slot": sim.finished_now,
            "dropped_in_slot": sim.dropped_now,
            "t_s": float(sim.t),
            **sim.metrics(),
            "drops_by_reason": dict(sim.drops_by_reason),
            "masked_actions_total": sim.counts["masked_actions"],
            "metrics_final": final,
        }

    def _require_reset(self, what: str) -> None:
        if self._np_random is None:
            raise ValueError(f"{what}: call reset() first")

    def _require_episode(self, what: str) -> None:
        self._require_reset(what)
        if not self.agents:
            raise ValueError(f"{what}: the episode is over; call reset() first")

    def state(self) -> np.ndarray:
        self._require_reset("state")
        return self.sim.obs.reshape(-1).copy()

    def observation_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All agents' observations (N, obs_dim) and masks (N, n_actions), in ``possible_agents`` order."""
        self._require_reset("observation_arrays")
        return self.sim.obs, self.sim.mask

    def render(self):
        if self.render_mode is None:
            return None
        from .viewer import OffloadRoutingViewer

        if self._viewer is None:
            self._viewer = OffloadRoutingViewer(self.sim)
        frame = self._viewer.frame()
        if self.render_mode == "human":
            self._viewer.show(frame)
            return None
        return frame

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

