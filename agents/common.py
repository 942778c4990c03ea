"""What the learners share: torch set-up and seeding, training seeds, the training clock and run logs
(CSV + TensorBoard, rewound to the checkpoint on resume). Snapshots (model and checkpoint) are in
``agents.checkpoint``. torch is imported by the functions that use it."""

from __future__ import annotations

import csv
import os
import random
import subprocess
from pathlib import Path

import numpy as np

# Training episodes reset with seeds from TRAINING_SEED_BASE up (run seed s: TRAINING_SEED_BASE + s * 10**6 + e
# for its e-th episode), evaluation with 1000 s + e, validation from 3_000_000: never the same instance.
TRAINING_SEED_BASE = 10**8
TRAINING_SEEDS_PER_RUN = 10**6
VALIDATION_SEED_BASE = 3_000_000


class TrainClock:
    """Training wall time of a run, summed over its invocations (``prior``: what the checkpoint resumed
    from had recorded)."""

    def __init__(self, prior: float = 0.0):
        import time

        self._now = time.perf_counter
        self.prior, self.started = float(prior), time.perf_counter()

    def total_s(self) -> float:
        return self.prior + self._now() - self.started


def training_seed(run_seed: int, episode: int = 0) -> int:
    """The env seed of a training run's ``episode``-th reset (disjoint from evaluation and validation)."""
    return TRAINING_SEED_BASE + int(run_seed) * TRAINING_SEEDS_PER_RUN + int(episode)


def training_seed_range(run_seed: int) -> list[int]:
    """[first, last] env seed a training run may use (recorded in meta.json)."""
    first = training_seed(run_seed)
    return [first, first + TRAINING_SEEDS_PER_RUN - 1]


def setup_torch(seed: int, threads: int = 1) -> None:
    """Seed everything and pin the thread count (small nets: one thread is fastest and deterministic)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def write_json(path: Path, data: dict) -> None:
    """A JSON file replaced atomically (an interrupted run never leaves half a file)."""
    from agents.checkpoint import json_bytes

    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(json_bytes(data))
    os.replace(tmp, path)


class RunLogger:
    """Rows to ``progress.csv`` and scalars to TensorBoard under ``out/tb``. Resuming from a checkpoint of
    step ``resume_step``, both continue from it: rows and events logged after it are dropped."""

    def __init__(self, out: Path, fields: list[str], resume_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        from agents.checkpoint import rewind_csv

        self.path = Path(out) / "progress.csv"
        self.fields = fields
        fresh = resume_step is None or not self.path.exists()
        if not fresh:
            rewind_csv(self.path, "step", resume_step)
        self._file = open(self.path, "w" if fresh else "a", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=fields)
        if fresh:
            self._csv.writeheader()
        self.tb = SummaryWriter(str(Path(out) / "tb"), purge_step=None if resume_step is None else resume_step + 1)

    def log(self, row: dict, step: int) -> None:
        self._csv.writerow({k: row.get(k, "") for k in self.fields})
        self._file.flush()
        for k, v in row.items():
            if isinstance(v, (int, float)) and k != "step":
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self._file.close()
        self.tb.close()


def ensure_out_dir(path: Path, option: str = "--out") -> None:
    """Create ``path`` (and its parents) and check that a file can be written there, before any work;
    ``ValueError`` naming ``option`` otherwise (nothing is left behind when the directory cannot be made)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"{option} {path}: not a writable directory ({exc.strerror or exc})") from None


def non_negative_int(text: str) -> int:
    """argparse ``type`` for seeds and counts: an integer >= 0 (argparse names the option on error)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1."""
    import argparse

    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def git_commit() -> str:
    """The checkout's short commit, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ci95(values: list[float]) -> list[float]:
    """A 95% percentile-bootstrap interval of the mean of ``values`` (2000 resamples, fixed seed)."""
    x = np.asarray(values, float)
    if len(x) < 2 or np.all(x == x[0]):
        return [float(x.mean()), float(x.mean())]
    from scipy.stats import bootstrap

    res = bootstrap((x,), np.mean, confidence_level=0.95, method="percentile", n_resamples=2000, random_state=0)
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]
