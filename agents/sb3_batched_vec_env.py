"""The plumbing of an SB3 ``VecEnv`` whose rows all live in ONE batched env (``self.env``): the satellites of
one offload_routing env (``sb3_offload_vec_env``) or the copies of Aggregation's vector env
(``sb3_aggregation_vec_env``). A subclass gives ``reset``, ``step_async``, ``step_wait``, ``action_masks``
and ``get_images``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices


class BatchedVecEnv(VecEnv):
    env: Any

    @abstractmethod
    def action_masks(self) -> np.ndarray:
        """(rows, actions) bool: what each row may do now."""

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Each row's value: an array of the env with a leading axis of one entry per row gives each row its
        entry, anything else is shared by the rows (``action_masks``: the adapter's method)."""
        rows = self._rows(indices)
        value = getattr(self, attr_name) if attr_name == "action_masks" else getattr(self.env, attr_name)
        if isinstance(value, np.ndarray) and value.shape[:1] == (self.num_envs,):
            return [value[r] for r in rows]
        return [value] * len(rows)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Sets the env's attribute, which every row shares (so only for all rows at once)."""
        if len(self._rows(indices)) != self.num_envs:
            raise ValueError(f"set_attr: indices {indices!r}; the rows share one env's attributes, so set them for "
                             "all rows (indices=None)")
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        """``action_masks``: each row's mask (what sb3-contrib's ``get_action_masks`` stacks); any other method
        is the env's, called once, its result given to every row asked for."""
        rows = self._rows(indices)
        if method_name == "action_masks":
            return list(self.action_masks()[rows])
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * len(rows)

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._rows(indices))

    def _rows(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))
