"""Ring buffer of per-bundle transitions (numpy, saved as .npz for resuming)."""

from __future__ import annotations

import numpy as np

FIELDS = ("obs", "action", "delay", "next_obs", "next_mask", "done")


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int, n_actions: int) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.action = np.zeros(capacity, np.int64)
        self.delay = np.zeros(capacity, np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_mask = np.zeros((capacity, n_actions), bool)
        self.done = np.zeros(capacity, bool)
        self.pos = 0
        self.size = 0
        self._batch: dict[str, np.ndarray] = {}

    def add(self, obs: np.ndarray, action: np.ndarray, delay: np.ndarray, next_obs: np.ndarray,
            next_mask: np.ndarray, done: np.ndarray) -> None:
        k = len(action)
        if k == 0:
            return
        idx = (self.pos + np.arange(k)) % self.capacity
        self.obs[idx], self.action[idx], self.delay[idx] = obs, action, delay
        self.next_obs[idx], self.next_mask[idx], self.done[idx] = next_obs, next_mask, done
        self.pos = int((self.pos + k) % self.capacity)
        self.size = int(min(self.size + k, self.capacity))

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``batch`` transitions drawn uniformly with replacement (one ``rng.integers`` call).

        The arrays are gathered into buffers allocated on the first call and reused by every later one
        (no per-update allocation): they are valid until the next ``sample``; copy them to keep them.
        """
        idx = rng.integers(0, self.size, batch)
        if len(self._batch.get("action", ())) != batch:
            self._batch = {f: np.empty((batch, *getattr(self, f).shape[1:]), getattr(self, f).dtype) for f in FIELDS}
        for f in FIELDS:  # mode="clip" (idx is in range anyway): "raise" would gather through a temporary
            np.take(getattr(self, f), idx, axis=0, out=self._batch[f], mode="clip")
        return self._batch

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
