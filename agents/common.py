"""What the learners share: torch set-up and seeding, checkpoints as state_dicts + JSON, run logs
(CSV + TensorBoard) and a tqdm progress bar. torch is imported by the functions that use it, so reading
a checkpoint's meta.json does not load it."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import numpy as np

CHECKPOINT_DIR = "checkpoint"
META_FILE = "meta.json"
WEIGHTS_FILE = "model.pt"

# Training episodes reset with seeds from TRAINING_SEED_BASE up (run seed s: TRAINING_SEED_BASE + s * 10**6 + e
# for its e-th episode), evaluation with 1000 s + e, validation from 3_000_000: never the same instance.
TRAINING_SEED_BASE = 10**8
TRAINING_SEEDS_PER_RUN = 10**6


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
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)  # atomic: an interrupted run never leaves half a file


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def save_weights(path: Path, state: dict) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_weights(path: Path) -> dict:
    """Checkpoints are data: ``weights_only=True`` never runs code from the file."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def read_meta(checkpoint_dir: Path) -> dict:
    path = Path(checkpoint_dir) / META_FILE
    if not path.is_file():
        raise ValueError(f"checkpoint: {checkpoint_dir} has no {META_FILE}; expected a directory written by train.py")
    return json.loads(path.read_text())


class RunLogger:
    """Rows to ``progress.csv`` and scalars to TensorBoard under ``out/tb``; appends when resuming."""

    def __init__(self, out: Path, fields: list[str], resume: bool = False):
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(out) / "progress.csv"
        self.fields = fields
        fresh = not (resume and self.path.exists())
        self._file = open(self.path, "w" if fresh else "a", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=fields)
        if fresh:
            self._csv.writeheader()
        self.tb = SummaryWriter(str(Path(out) / "tb"))

    def log(self, row: dict, step: int) -> None:
        self._csv.writerow({k: row.get(k, "") for k in self.fields})
        self._file.flush()
        for k, v in row.items():
            if isinstance(v, (int, float)) and k != "step":
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self._file.close()
        self.tb.close()
