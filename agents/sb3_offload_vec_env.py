"""offload_routing_v3 as a native stable-baselines3 ``VecEnv`` whose rows are the satellites of ONE env, for
parameter-shared learners such as sb3-contrib's MaskablePPO (``agents.ppo_sb3``).

Every row is one satellite; a step of the vector env is one slot of the env, through its vectorised fast path
(``step_arrays``: no per-agent dicts, no per-agent Python loop). Conventions (SB3's):

- ``action_masks()`` -> (N, A) bool, what MaskablePPO samples from. A satellite with nothing to decide (an
  all-zero env mask) gets a mask allowing hold (0) only: its action is then certain (log-probability 0 whatever
  the weights), so its row adds nothing to PPO's policy gradient or entropy; the env ignores the action.
- Same-step autoreset: at the episode's last slot every ``dones`` entry is True, ``infos[i]`` is a copy of the
  env's last info (the episode's final metrics, ``metrics_final`` True: what
  ``agents.sb3_callbacks.EpisodeMetrics`` reads with ``slots_per_episode=N``) with the row's
  ``terminal_observation`` and ``TimeLimit.truncated`` True (the episode is cut by time, so PPO bootstraps
  the terminal value), and the observations returned are the next episode's first. ``reset_infos`` holds
  that reset's info.
- Between episode ends every row's info is the env's one info dict of the slot (one shared object: the env's
  info is team-level; SB3 only copies infos at done steps). Do not mutate it.
- Resets draw their seeds from ``seeds`` (``agents.sb3_training.EpisodeSeeds``: the run's training range),
  the first reset and the automatic ones alike; without ``seeds``, a reset uses the seed ``seed()`` set
  (SB3's convention: once, at the next reset) and otherwise continues the env's random stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from agents.sb3_batched_vec_env import BatchedVecEnv
from agents.sb3_training import EpisodeSeeds
from leo_envs.wrappers import hold_when_idle


class OffloadRoutingVecEnv(BatchedVecEnv):
    """One offload_routing_v3 env (``parallel_env(...)``), one row per satellite (``possible_agents`` order).

    Observations: ``Box(0, inf, (obs_dim,), float32)`` per row (the env's observation vector; the mask is not
    part of it: MaskablePPO masks the logits). Actions: ``Discrete(6 + ratio_levels)`` per row. Rewards are
    the env's times ``reward_scale`` (a fixed factor for the value net's sake; infos and metrics unchanged)."""

    def __init__(self, env: Any, seeds: EpisodeSeeds | None = None, reward_scale: float = 1.0):
        if not reward_scale > 0:
            raise ValueError(f"reward_scale {reward_scale} must be > 0")
        self.env = env
        self.seeds = seeds
        self.reward_scale = float(reward_scale)
        base = env.unwrapped if hasattr(env, "unwrapped") else env
        self.sim_env = base
        n, obs_dim, n_actions = len(env.possible_agents), base.sim.obs_dim, base.num_actions
        observation_space = spaces.Box(0.0, np.inf, (obs_dim,), np.float32)
        super().__init__(n, observation_space, spaces.Discrete(n_actions))
        self._actions = np.zeros(n, np.int64)
        self._masks = np.zeros((n, n_actions), bool)
        self.episode_seed: int | None = None  # the seed of the episode in progress

    # ---------------------------------------------------------------- episodes
    def _next_seed(self) -> int | None:
        if self.seeds is not None:
            return self.seeds.next_seed()
        seed = self._seeds[0]
        self._reset_seeds()
        return seed

    def _reset_env(self) -> np.ndarray:
        self.episode_seed = self._next_seed()
        _, infos = self.env.reset(seed=self.episode_seed)
        info = next(iter(infos.values()))
        self.reset_infos = [info] * self.num_envs
        obs, mask = self.sim_env.observation_arrays()
        self._masks = hold_when_idle(mask)
        return obs.copy()

    def reset(self) -> VecEnvObs:
        self._reset_options()
        return self._reset_env()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        obs, mask, rewards, terminated, truncated, info = self.sim_env.step_arrays(self._actions)
        rewards = (rewards * self.reward_scale if self.reward_scale != 1.0 else rewards).astype(np.float32)
        done = bool(terminated or truncated)
        dones = np.full(self.num_envs, done)
        if not done:
            self._masks = hold_when_idle(mask)
            return obs.copy(), rewards, dones, [info] * self.num_envs
        final = {**info, "TimeLimit.truncated": bool(truncated and not terminated)}
        infos = [{**final, "terminal_observation": row} for row in obs.copy()]
        return self._reset_env(), rewards, dones, infos

    def action_masks(self) -> np.ndarray:
        """(N, A) bool: the env's masks of the current slot, idle rows allowing hold only."""
        return self._masks.copy()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.env.render()]
