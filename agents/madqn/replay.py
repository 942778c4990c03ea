"""Ring buffer of per-bundle transitions (numpy, saved as .npz for resuming)."""

from __future__ import annotations

from pathlib import Path

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

    def save(self, path: Path) -> None:
        n = self.size
        np.savez(path, pos=self.pos, size=n, **{f: getattr(self, f)[:n] if n < self.capacity else getattr(self, f)
                                                for f in FIELDS})

    def load(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            n = int(data["size"])
            for f in FIELDS:
                getattr(self, f)[:n] = data[f]
            self.size, self.pos = n, int(data["pos"])
