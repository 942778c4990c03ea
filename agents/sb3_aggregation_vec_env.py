"""Aggregation-v2's vector env (K copies in one array step) as a native stable-baselines3 ``VecEnv``, for
sb3-contrib's MaskablePPO and SB3's other learners.

SB3 does not take a Gymnasium ``VectorEnv``; this adapter runs ``AggregationVectorEnv`` in same-step
autoreset and speaks SB3's conventions:

- Observations are the single env's dict (``observation``, ``action_mask``) with a leading axis of K
  (``MultiInputPolicy``).
- ``action_masks()`` -> (K, M) bool, what MaskablePPO samples from. A copy with nothing to decide (a first
  observation with nothing to reassign) gets a mask allowing action 0 only: its action is then certain, so
  it adds nothing to the policy gradient; the env ignores it.
- ``infos[k]`` is copy k's info with ``TimeLimit.truncated`` (truncated and not terminated). At a copy's
  last step ``dones[k]`` is True, ``infos[k]`` is that step's info (the episode's final metrics,
  ``metrics_final`` True) with ``terminal_observation``, and the observation returned is the next
  episode's first; ``reset_infos[k]`` holds that reset's info. The same as SB3's ``DummyVecEnv`` over
  ``gym.make`` envs seeded alike, bit for bit.
- ``seed(s)`` seeds copy k with s + k at the next ``reset()``; otherwise each copy's random stream goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from agents.sb3_batched_vec_env import BatchedVecEnv
from leo_envs.envs.aggregation.vector import AggregationVectorEnv
from leo_envs.envs.base import integer_action_array


def copy_infos(info: dict, num_copies: int) -> list[dict]:
    """Gymnasium's vector info (arrays with ``_key`` masks) as one dict per copy (SB3's ``infos``)."""
    out: list[dict] = [{} for _ in range(num_copies)]
    for key, value in info.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        present = info.get(f"_{key}", np.ones(num_copies, bool))
        if isinstance(value, dict):
            for c, sub in enumerate(copy_infos(value, num_copies)):
                if present[c]:
                    out[c][key] = sub
        else:
            for c in np.flatnonzero(present):
                out[c][key] = value[c].item()
    return out


class AggregationSB3VecEnv(BatchedVecEnv):
    """K copies of Aggregation-v2 (``AggregationVectorEnv(num_envs, scenario, **overrides)``) for SB3."""

    def __init__(self, num_envs: int, scenario: str = "medium_traffic", **overrides):
        self.env = AggregationVectorEnv(num_envs, scenario, autoreset_mode=AutoresetMode.SAME_STEP, **overrides)
        super().__init__(num_envs, self.env.single_observation_space, self.env.single_action_space)
        self._actions = np.zeros(num_envs, np.int64)
        self._masks = np.zeros((num_envs, self.env.m), bool)

    def _remember_masks(self, obs: dict) -> dict:
        mask = obs["action_mask"].astype(bool)
        mask[~mask.any(axis=1), 0] = True  # nothing to decide: action 0, which the env ignores
        self._masks = mask
        return obs

    def reset(self) -> VecEnvObs:
        seeds = list(self._seeds) if any(s is not None for s in self._seeds) else None
        options = [o for o in self._options if o]
        if options and (len(options) < self.num_envs or any(o != options[0] for o in options)):
            raise ValueError(f"set_options: {self._options!r}; the copies reset together, so give every copy the "
                             "same options (set_options(dict))")
        obs, info = self.env.reset(seed=seeds, options=options[0] if options else None)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = copy_infos(info, self.num_envs)
        return self._remember_masks(obs)

    def step_async(self, actions: np.ndarray) -> None:
        acts = np.asarray(actions)
        if acts.shape == (self.num_envs, 1):  # SB3's own shape for Discrete actions in some paths
            acts = acts[:, 0]
        self._actions = integer_action_array("actions", acts, (self.num_envs,), self.env.m).astype(np.int64)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        dones = terminated | truncated
        infos = copy_infos(info, self.num_envs)
        for c, cut in enumerate((truncated & ~terminated).tolist()):  # as SB3's DummyVecEnv, at every step
            infos[c]["TimeLimit.truncated"] = cut
        if dones.any():
            finals = copy_infos(info["final_info"], self.num_envs)
            for c in np.flatnonzero(dones):
                self.reset_infos[c] = {key: v for key, v in infos[c].items() if key != "TimeLimit.truncated"}
                infos[c] = {**finals[c], "TimeLimit.truncated": bool(truncated[c] and not terminated[c]),
                            "terminal_observation": info["final_obs"][c]}
        return self._remember_masks(obs), rewards.astype(np.float32), dones, infos

    def action_masks(self) -> np.ndarray:
        """(K, M) bool: each copy's mask, copies with nothing to decide allowing action 0 only."""
        return self._masks.copy()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs
