"""Link and satellite failures: random (exponential time between failures and to repair) or scheduled.

A ``FaultTimeline`` samples down-intervals forward in fixed chunks of time from its own seeded
generator, so what is down at time t depends only on the seed, never on the order of queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FAULT_KINDS = ("sat", "isl")


@dataclass(frozen=True)
class FaultEvent:
    """Element ``index`` of ``kind`` ("sat" or "isl") is down on [start_s, end_s)."""

    kind: str
    index: int
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {FAULT_KINDS}")
        if not (math.isfinite(self.start_s) and self.end_s > self.start_s):
            raise ValueError(f"end_s: {self.end_s!r} must be after start_s={self.start_s!r}")


@dataclass(frozen=True)
class FaultModel:
    """Mean times in seconds; ``None`` switches random failures of that kind off."""

    sat_mtbf_s: float | None = None  # mean time between satellite failures
    sat_mttr_s: float = 3600.0  # mean time to repair a satellite
    isl_mtbf_s: float | None = None  # mean time between failures of one ISL
    isl_mttr_s: float = 600.0
    schedule: tuple[FaultEvent, ...] = ()

    def __post_init__(self) -> None:
        for field in ("sat_mtbf_s", "sat_mttr_s", "isl_mtbf_s", "isl_mttr_s"):
            value = getattr(self, field)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{field}: {value!r} must be a finite number > 0 (or None to disable)")


class _RandomIntervals:
    CHUNK_S = 3600.0

    def __init__(self, count: int, mtbf_s: float | None, mttr_s: float, rng: np.random.Generator):
        self.count, self.mtbf, self.mttr, self.rng = count, mtbf_s, mttr_s, rng
        self.horizon = 0.0
        self.elem: list[np.ndarray] = []
        self.start: list[np.ndarray] = []
        self.end: list[np.ndarray] = []
        self.next_fail = rng.exponential(mtbf_s, count) if mtbf_s else np.full(count, np.inf)

    def extend_to(self, t: float) -> None:
        if self.mtbf is None:
            return
        while self.horizon <= t:
            self.horizon += self.CHUNK_S
            while True:
                idx = np.flatnonzero(self.next_fail < self.horizon)
                if idx.size == 0:
                    break
                repair = self.rng.exponential(self.mttr, idx.size)
                self.elem.append(idx)
                self.start.append(self.next_fail[idx].copy())
                self.end.append(self.next_fail[idx] + repair)
                self.next_fail[idx] += repair + self.rng.exponential(self.mtbf, idx.size)

    def intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.elem:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        return np.concatenate(self.elem), np.concatenate(self.start), np.concatenate(self.end)


class FaultTimeline:
    def __init__(self, model: FaultModel, num_sats: int, num_isls: int, seed: int | None):
        rng = np.random.default_rng(seed)
        sat_rng, isl_rng = rng.spawn(2)
        self.model = model
        self._random = {
            "sat": _RandomIntervals(num_sats, model.sat_mtbf_s, model.sat_mttr_s, sat_rng),
            "isl": _RandomIntervals(num_isls, model.isl_mtbf_s, model.isl_mttr_s, isl_rng),
        }
        self._size = {"sat": num_sats, "isl": num_isls}
        for ev in model.schedule:
            if not 0 <= ev.index < self._size[ev.kind]:
                raise ValueError(f"schedule: {ev.kind} index {ev.index} is outside [0, {self._size[ev.kind] - 1}]")

    def down_at(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (satellites down, ISLs down) at time ``t_s``."""
        out = []
        for kind in FAULT_KINDS:
            down = np.zeros(self._size[kind], dtype=bool)
            gen = self._random[kind]
            gen.extend_to(t_s)
            elem, start, end = gen.intervals()
            hit = (start <= t_s) & (t_s < end)
            down[elem[hit]] = True
            for ev in self.model.schedule:
                if ev.kind == kind and ev.start_s <= t_s < ev.end_s:
                    down[ev.index] = True
            out.append(down)
        return out[0], out[1]
