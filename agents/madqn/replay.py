"""Ring buffer of per-bundle transitions (numpy, saved as .npz for resuming)."""

from __future__ import annotations

import numpy as np

FIELDS = ("obs", "action", "delay", "next_obs", "next_mask", "done")


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int, n_actions: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.action = np.zeros(capacity, np.int64)
        self.delay = np.zeros(capacity, np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_mask = np.zeros((capacity, n_actions), bool)
        self.done = np.zeros(capacity, bool)
        self.pos = 0
        self.size = 0

    def add(self, obs, action, delay, next_obs, next_mask, done) -> None:
        k = len(action)
        if k == 0:
            return
        idx = (self.pos + np.arange(k)) % self.capacity
        self.obs[idx], self.action[idx], self.delay[idx] = obs, action, delay
        self.next_obs[idx], self.next_mask[idx], self.done[idx] = next_obs, next_mask, done
        self.pos = int((self.pos + k) % self.capacity)
        self.size = int(min(self.size + k, self.capacity))

    def sample(self, batch: int, rng: np.random.Generator) -> dict:
        idx = rng.integers(0, self.size, batch)
        return {f: getattr(self, f)[idx] for f in FIELDS}

    def arrays(self) -> dict[str, np.ndarray]:
        """The filled part and the write position, as plain arrays (an ``.npz`` without pickles)."""
        n = self.size
        return {"pos": np.int64(self.pos), "size": np.int64(n),
                **{f: getattr(self, f)[:n] if n < self.capacity else getattr(self, f) for f in FIELDS}}

    def restore(self, data: dict[str, np.ndarray]) -> None:
        """Load ``arrays()``; ValueError naming the array that does not fit this buffer."""
        missing = [k for k in ("pos", "size", *FIELDS) if k not in data]
        if missing:
            raise ValueError(f"lacks arrays {missing}")
        n, pos = int(data["size"]), int(data["pos"])
        if not (0 <= n <= self.capacity and 0 <= pos < max(self.capacity, 1)):
            raise ValueError(f"size {n} / pos {pos} outside a buffer of {self.capacity}")
        for f in FIELDS:
            target = getattr(self, f)
            if data[f].shape != (n, *target.shape[1:]):
                raise ValueError(f"{f} has shape {data[f].shape}, expected {(n, *target.shape[1:])}")
        for f in FIELDS:
            getattr(self, f)[:n] = data[f]
        self.size, self.pos = n, pos
