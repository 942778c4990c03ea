"""Batched environments: K episodes in one array step against the single env, side by side in one process.

Aggregation-v2's native vector env (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) at K = 1,
16 and 256 copies against ``gym.make``'s env, per traffic level: steps per second per core (one step of one
copy is one agent-step: the control satellite is the only agent) and the ratio to the single env, with the
peak memory per copy. Both sides play whole episodes with random allowed actions (picked outside the clock)
and reset as a training loop does: the single env's ``reset`` at each episode end and the vector env's
autoresets are inside the clock, since a new episode's instance (sgp4 geometry, CDSSQ, every route) is a
large part of a short episode. Each rate is the best of ``--repeats`` runs interleaved with the others'.

Usage: python benchmarks/bench_batched.py [--steps 3000] [--repeats 3] [--out benchmarks/results/batched.json]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import gymnasium as gym
import numpy as np

from leo_envs import AGGREGATION_ID

try:
    from bench_core import write_results
    from timing import best_interleaved
except ImportError:  # run as a module
    from benchmarks.bench_core import write_results
    from benchmarks.timing import best_interleaved

AGGREGATION_SCENARIOS = ("low_traffic", "medium_traffic", "high_traffic")
COPIES = (1, 16, 256)
TARGET_RATIO = 50  # issue: Aggregation at K = 256 at least 50x the single env's agent-steps/s
MIN_BATCHED_STEPS = 200  # batched steps per run: several episodes of every copy, so autoresets are counted


def single_rate(scenario: str, steps: int, seed: int = 0) -> float:
    """Steps/s of ``gym.make``'s env, resets included."""
    env = gym.make(AGGREGATION_ID, scenario=scenario)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    elapsed = 0.0
    for _ in range(steps):
        action = int((rng.random(obs["action_mask"].shape) * obs["action_mask"]).argmax())
        t0 = time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
        elapsed += time.perf_counter() - t0
    env.close()
    return steps / elapsed


def vector_rate(scenario: str, copies: int, steps: int, seed: int = 0) -> float:
    """Copy-steps/s of the native vector env, autoresets included."""
    envs = gym.make_vec(AGGREGATION_ID, num_envs=copies, vectorization_mode="vector_entry_point", scenario=scenario)
    obs, _ = envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    elapsed = 0.0
    for _ in range(steps):
        actions = (rng.random(obs["action_mask"].shape) * obs["action_mask"]).argmax(axis=1)
        t0 = time.perf_counter()
        obs, *_ = envs.step(actions)
        elapsed += time.perf_counter() - t0
    envs.close()
    return steps * copies / elapsed


def peak_bytes_per_copy(scenario: str, copies: int, steps: int = 50) -> float:
    """Peak memory the vector env allocates (tracemalloc, numpy included) over ``steps`` steps, per copy."""
    tracemalloc.start()
    vector_rate(scenario, copies, steps)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="single-env steps per run (batched runs take "
                        f"max({MIN_BATCHED_STEPS}, steps / K) steps of K copies)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; the best is kept")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/batched.json"))
    args = parser.parse_args()

    rows, targets = [], {}
    for scenario in AGGREGATION_SCENARIOS:
        runs = {"single": lambda s=scenario: single_rate(s, args.steps)}
        for k in COPIES:
            batched_steps = max(min(MIN_BATCHED_STEPS, args.steps), args.steps // k)  # smoke runs: a few steps
            runs[k] = lambda s=scenario, k=k, n=batched_steps: vector_rate(s, k, n)
        best = best_interleaved(runs, args.repeats, cost=lambda rate: -rate)
        single = best.pop("single")
        rows.append({"env": AGGREGATION_ID.split("/")[1], "scenario": scenario, "copies": "single env",
                     "agents": 1, "agent_steps_per_s": single, "ratio": 1.0, "peak_kb_per_copy": None})
        for k, rate in best.items():
            rows.append({"env": AGGREGATION_ID.split("/")[1], "scenario": scenario, "copies": k, "agents": 1,
                         "agent_steps_per_s": rate, "ratio": rate / single,
                         "peak_kb_per_copy": peak_bytes_per_copy(scenario, k, min(50, args.steps)) / 1e3})
        targets[f"{scenario}: K = {COPIES[-1]} >= {TARGET_RATIO}x the single env"] = (
            best[COPIES[-1]] / single >= TARGET_RATIO)
    print("{:16s} {:>10s} {:>14s} {:>8s} {:>12s}".format("scenario", "copies", "agent-steps/s", "ratio", "KB/copy"))
    for r in rows:
        kb = "-" if r["peak_kb_per_copy"] is None else f"{r['peak_kb_per_copy']:.0f}"
        print(f"{r['scenario']:16s} {r['copies']!s:>10s} {r['agent_steps_per_s']:14.0f} {r['ratio']:7.1f}x {kb:>12s}")
    for name, ok in targets.items():
        print(f"{name}: {'met' if ok else 'MISSED'}")
    write_results(args.out, rows, targets=targets, repeats=args.repeats, steps=args.steps)


if __name__ == "__main__":
    main()
