"""Small wrappers for libraries that need plainer data than the envs give.

PettingZoo (offload_routing):
``ScalarInfos``: keeps only the numeric scalars of each agent's info (drops the named-reward dict, the
per-bundle transitions and the drop breakdown), for wrappers that turn infos into fixed-shape tensors.
``HoldWhenIdle``: an agent with nothing to decide gets "hold" (action 0, ignored by the env) as its one
allowed action instead of an all-zero mask, for libraries that sample from the mask and need at least one
allowed action (TorchRL's masked samplers raise on an all-zero mask). TorchRL:
``PettingZooWrapper(HoldWhenIdle(ScalarInfos(env)), use_mask=True)``.

Gymnasium (Aggregation):
``GymScalarInfos``: the numeric scalars of the info as numpy scalars (TorchRL's ``default_info_dict_reader``
reads ``.dtype``, which Python numbers lack).
``GymHoldWhenIdle``: an all-zero mask (nothing left to decide: the observation after the last step, and
the first one of an episode with nothing to reassign) allows action 0 instead, which the env ignores;
``action_masks()`` follows. TorchRL: ``TransformedEnv(GymWrapper(GymHoldWhenIdle(GymScalarInfos(env))),
ActionMask())``.

The envs' info dicts have the same keys with the same types at reset and at every step (the episode
metrics run from reset, ``metrics_final`` is True at the last step only), so these wrappers' do too.
"""

from __future__ import annotations

import numbers

import gymnasium
import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

HOLD = 0


def hold_when_idle(mask: np.ndarray) -> np.ndarray:
    """Stacked env masks (..., A) as bool, each row that allows nothing allowing ``HOLD`` only (the env
    ignores an idle agent's action): what masked samplers and array learners need."""
    allowed = np.asarray(mask).astype(bool)
    allowed[..., HOLD] |= ~allowed.any(-1)
    return allowed


def _with_one_allowed(mask: np.ndarray) -> np.ndarray:
    """``mask`` as int8, with action ``HOLD`` allowed when nothing is."""
    if not mask.any():
        mask = mask.copy()
        mask[HOLD] = 1
    return np.asarray(mask, dtype=np.int8)


class ScalarInfos(BaseParallelWrapper):
    @staticmethod
    def _scalars(infos: dict) -> dict:
        return {agent: {k: v for k, v in info.items() if isinstance(v, numbers.Number)}
                for agent, info in infos.items()}

    def reset(self, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs, self._scalars(infos)

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return obs, rewards, terminations, truncations, self._scalars(infos)


class ObservationMap(BaseParallelWrapper):
    """Applies ``map_observations`` (agent -> observation dict in, same out) after every reset and step."""

    def map_observations(self, obs: dict) -> dict:
        raise NotImplementedError

    def reset(self, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return self.map_observations(obs), infos

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return self.map_observations(obs), rewards, terminations, truncations, infos


class HoldWhenIdle(ObservationMap):
    def map_observations(self, obs: dict) -> dict:
        return {agent: {**o, "action_mask": _with_one_allowed(o["action_mask"])} for agent, o in obs.items()}


class GymScalarInfos(gymnasium.Wrapper):
    @staticmethod
    def _scalars(info: dict) -> dict:
        return {k: np.asarray(v)[()] for k, v in info.items() if isinstance(v, numbers.Number)}

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._scalars(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._scalars(info)


class GymHoldWhenIdle(gymnasium.ObservationWrapper):
    def observation(self, observation: dict) -> dict:
        return {**observation, "action_mask": _with_one_allowed(observation["action_mask"])}

    def action_masks(self) -> np.ndarray:
        """The env's ``action_masks()`` with action 0 allowed when nothing is (sb3-contrib's MaskablePPO)."""
        return _with_one_allowed(self.env.get_wrapper_attr("action_masks")()).astype(bool)
