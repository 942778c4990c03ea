"""Small wrappers for libraries that need plainer data than the envs give.

``ScalarInfos``: keeps only the numeric scalars of each agent's info (drops the named-reward dict, the
per-bundle transitions and the drop breakdown), for wrappers that turn infos into fixed-shape tensors.
``HoldWhenIdle``: an agent with nothing to decide gets "hold" (action 0, ignored by the env) as its one
allowed action instead of an all-zero mask, for libraries that sample from the mask and need at least one
allowed action. TorchRL: ``PettingZooWrapper(HoldWhenIdle(ScalarInfos(env)), use_mask=True)``.
"""

from __future__ import annotations

import numbers

import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

HOLD = 0


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
        out = {}
        for agent, o in obs.items():
            mask = o["action_mask"]
            if not mask.any():
                mask = mask.copy()
                mask[HOLD] = 1
            out[agent] = {**o, "action_mask": np.asarray(mask, dtype=np.int8)}
        return out
