"""Time to quality and learning curves: for each learner of each env spec, the training wall time on this
machine until its evaluation reaches a baseline's headline metric (``EnvSpec.quality_targets``, on
``EnvSpec.quality_scenario``), or "not reached in budget", and its headline metric against env steps,
agent-steps and training wall time, over several training seeds.

Each learner trains from scratch, with each of ``--train-seeds`` seeds, to budgets 1/8, 1/4, 1/2 and 1 of
``--budget`` x its quick budget (``LearnerSpec.quick_steps``): each point of a curve is a run trained for that
budget (schedules tied to the total budget span it). After each run the checkpoint plays the evaluation
seeds (1000 s, as evaluate.py) in its headline eval mode (for learners with several, the mode better on one
validation episode each, as evaluate.py chooses) and is compared with the targets on the same seeds. The time
reported is the training wall time of the first budget that reaches a target (evaluation time apart: Double
DQN's evaluation includes its per-instance fine-tuning, reported in its own column).

Usage: python benchmarks/bench_quality.py [--seeds 3] [--train-seeds 3] [--budget 1.0] [--envs a,b]
                                          [--learners a,b] [--out benchmarks/results/quality.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.registry import load_policy, train_learner  # noqa: E402
from agents.specs import SPECS  # noqa: E402
from benchmarks.bench_core import machine  # noqa: E402
from evaluate import git_commit  # noqa: E402

FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def agents_per_step(spec, scenario: str) -> int:
    """Agent-steps in one env step: every agent of a PettingZoo env acts each step, a Gymnasium env's one."""
    return len(spec.make(scenario).possible_agents) if spec.api == "pettingzoo" else 1


def evaluate(spec, policy_of_env, scenario: str, seeds: int) -> tuple[float, float]:
    """Mean primary metric over the evaluation seeds and the seconds it took."""
    env = spec.make(scenario)
    policy = policy_of_env(env)
    t0 = time.perf_counter()
    values = [spec.run_episode(env, policy, 1000 * s)[0][spec.primary_metric] for s in range(seeds)]
    return float(np.mean(values)), time.perf_counter() - t0


def reached(spec, value: float, target: float) -> bool:
    return value <= target if spec.better == "lower" else value >= target


def bench_learner(spec, learner, seeds: int, budget: float, targets: dict[str, float], train_seed: int = 0) -> dict:
    from evaluate import checkpoint_modes

    scenario = spec.quality_scenario
    steps_full = max(1, int(round(budget * learner.quick_steps(scenario))))
    per_step = agents_per_step(spec, scenario)
    runs: list[dict] = []
    first: dict[str, dict | None] = dict.fromkeys(targets)
    for fraction in FRACTIONS:
        steps = max(1, int(round(fraction * steps_full)))
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            train_learner(spec.name, learner.name, Path(tmp), scenario=scenario, steps=steps, seed=train_seed,
                          resume=False, progress=False)
            train_s = time.perf_counter() - t0
            mode = checkpoint_modes(spec.name, Path(tmp), scenario, "auto", 1)[0][0]
            value, eval_s = evaluate(spec, lambda env, d=Path(tmp), m=mode: load_policy(d, env, m), scenario, seeds)
        run = {"steps": steps, "agent_steps": steps * per_step, "train_wall_s": train_s, "eval_wall_s": eval_s,
               "eval_mode": mode, spec.primary_metric: value}
        runs.append(run)
        print(f"{spec.name}/{learner.name} seed {train_seed} {steps} steps: {value:.4g} {mode} "
              f"({train_s:.0f} s training)", flush=True)
        for name, target in targets.items():
            if first[name] is None and reached(spec, value, target):
                first[name] = run
    return {"env": spec.name, "scenario": scenario, "learner": learner.name, "train_seed": train_seed,
            "metric": spec.primary_metric, "better": spec.better, "budget_steps": steps_full,
            "agents_per_step": per_step, "runs": runs,
            "targets": {name: {"value": targets[name], "reached": first[name]} for name in targets}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds per checkpoint")
    parser.add_argument("--train-seeds", type=int, default=3, help="training seeds per learner (0, 1, ...)")
    parser.add_argument("--budget", type=float, default=1.0, help="the largest budget, x the quick budget")
    parser.add_argument("--envs", default=",".join(SPECS), help="comma-separated env names")
    parser.add_argument("--learners", default="", help="comma-separated learner names (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "quality.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the entries of --out for the learners not measured in this run")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        raise ValueError(f"--seeds: {args.seeds} must be >= 1")
    if args.train_seeds < 1:
        raise ValueError(f"--train-seeds: {args.train_seeds} must be >= 1")
    if not args.budget > 0:
        raise ValueError(f"--budget: {args.budget} must be > 0")
    wanted = {n for n in args.learners.split(",") if n}
    results = []
    for name in args.envs.split(","):
        if name not in SPECS:
            raise ValueError(f"--envs: {name!r} is not one of {sorted(SPECS)}")
        spec = SPECS[name]
        if not spec.quality_targets:
            continue
        targets = {}
        for baseline in spec.quality_targets:
            targets[baseline] = evaluate(spec, lambda env, b=baseline, sp=spec: sp.make_baseline(b, env, 0),
                                         spec.quality_scenario, args.seeds)[0]
        for learner in spec.learners:
            if not wanted or learner.name in wanted:
                results += [{**bench_learner(spec, learner, args.seeds, args.budget, targets, seed),
                             "env_id": spec.ids[0] if spec.ids else name, "git": git_commit(),
                             "date": time.strftime("%Y-%m-%d")}
                            for seed in range(args.train_seeds)]
    if args.merge and args.out.is_file():
        measured = {(r["env"], r["learner"]) for r in results}
        kept = [r for r in json.loads(args.out.read_text())["results"] if (r["env"], r["learner"]) not in measured]
        results = kept + results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "seeds": args.seeds, "train_seeds": args.train_seeds,
                                    "budget": args.budget, "fractions": list(FRACTIONS), "results": results},
                                   indent=1))
    from benchmarks.run_all import plot_curves

    curves = plot_curves(args.out)
    print(f"wrote {args.out} and {', '.join(str(c) for c in curves)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
