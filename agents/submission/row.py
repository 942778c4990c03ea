"""A submission's leaderboard row: its ONNX policy played on the official evaluation episodes of every scenario it
claims, and the row file that records them (``evaluate.py --submission DIR`` writes it).

The evaluation is the one every row of the board gets: seed ``s`` in ``0 .. seeds-1`` plays the episodes reset
with ``1000 s + e`` (``e < episodes``); the per-seed value is the mean over its episodes. The row file keeps every
per-seed metric, the evaluation seeds, the ONNX file's sha256, the versions it ran with and the wall time, so the
same row can be re-evaluated and compared value for value.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from agents.common import ci95, git_commit
from agents.submission.manifest import Submission, load_submission
from agents.submission.onnx_policy import OnnxPolicy, sha256

ROW_FILE = "row.json"
ROW_FORMAT = 1
OFFICIAL_SEEDS = 5
OFFICIAL_EPISODES = 1


def episode_seeds(seeds: int, episodes: int) -> list[int]:
    return [1000 * s + e for s in range(seeds) for e in range(episodes)]


def versions() -> dict:
    import onnx
    import onnxruntime

    import leo_envs

    return {"leo_envs": leo_envs.__version__, "onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "git": git_commit()}


def load_policies(sub: Submission) -> dict[str, tuple[object, OnnxPolicy]]:
    """Scenario -> (env, policy) for every scenario the submission claims; the model is checked against each
    scenario's signature before anything is played (``SubmissionError`` naming the first misfit)."""
    spec = sub.spec
    out = {}
    for scenario in sub.scenarios:
        env = spec.make(scenario)
        out[scenario] = env, OnnxPolicy(env, sub.policy_path, spec.api, sub.eval_mode, sub.name)
    return out


def play(sub: Submission, env, policy: OnnxPolicy, seeds: list[int], episodes: int) -> dict[str, list[float]]:
    """Per-seed means of every metric of the env's spec over ``episodes`` episodes from each seed block."""
    spec = sub.spec
    per_seed: dict[str, list[float]] = {m: [] for m in spec.metrics}
    for s in seeds:
        infos = [spec.run_episode(env, policy, 1000 * s + e)[0] for e in range(episodes)]
        for m in spec.metrics:
            per_seed[m].append(float(np.mean([i[m] for i in infos])))
    return per_seed


def evaluate_submission(folder: Path, seeds: int = OFFICIAL_SEEDS, episodes: int = OFFICIAL_EPISODES,
                        progress: bool = False) -> dict:
    """The row of the submission in ``folder`` (see the module docstring)."""
    from tqdm import tqdm

    sub = load_submission(folder)
    spec = sub.spec
    started = time.perf_counter()
    policies = load_policies(sub)
    scenarios = {}
    for scenario, (env, policy) in tqdm(policies.items(), desc=f"submission {sub.name}", disable=not progress):
        t0 = time.perf_counter()
        per_seed = play(sub, env, policy, list(range(seeds)), episodes)
        scenarios[scenario] = {
            "metrics": {m: {"mean": float(np.mean(v)), "ci95": ci95(v), "per_seed": v} for m, v in per_seed.items()},
            "wall_s": round(time.perf_counter() - t0, 3),
        }
    return {
        "format": ROW_FORMAT,
        "submission": sub.to_dict(),
        "env": spec.name,
        "env_id": sub.env_id,
        "onnx_sha256": sha256(sub.policy_path),
        "protocol": {"seeds": list(range(seeds)), "episodes": episodes,
                     "episode_seeds": episode_seeds(seeds, episodes), "eval_mode": sub.eval_mode,
                     "primary_metric": spec.primary_metric, "better": spec.better},
        "versions": versions(),
        "scenarios": scenarios,
        "wall_s": round(time.perf_counter() - started, 3),
    }


def write_row(row: dict, path: Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(row, indent=2) + "\n")
    return path


def reusable(row: dict | None, sub: Submission, seeds: int = OFFICIAL_SEEDS, episodes: int = OFFICIAL_EPISODES) -> bool:
    """Whether a recorded row still stands for ``sub``: same format, claims, env id (its version), evaluation
    episodes and ONNX file (sha256). Anything else is evaluated again."""
    return (isinstance(row, dict) and row.get("format") == ROW_FORMAT and row.get("submission") == sub.to_dict()
            and row.get("env_id") == sub.spec.ids[0]
            and row.get("protocol", {}).get("episode_seeds") == episode_seeds(seeds, episodes)
            and set(row.get("scenarios", {})) == set(sub.scenarios)
            and row.get("onnx_sha256") == sha256(sub.policy_path))


def read_row(folder: Path) -> dict | None:
    path = Path(folder) / ROW_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def submissions_in(root: Path) -> list[Submission]:
    """Every submission folder under ``root`` (each with a submission.json), loaded and checked, by name."""
    if not Path(root).is_dir():
        return []
    subs = [load_submission(p) for p in sorted(Path(root).iterdir()) if (p / "submission.json").is_file()]
    names = [s.name for s in subs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{root}: submission names {twice} are used twice")
    return subs
