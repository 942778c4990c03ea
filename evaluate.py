"""Evaluate agents (baselines and trained checkpoints) over seeds; write results, a table and plots.

    python evaluate.py ENV [--agents a,b,..|all] [--checkpoint DIR[,DIR..]] [--scenario S] [--seeds N]
                       [--episodes N] [--out DIR] [--eval-mode auto|greedy|sampled] [--validation-episodes N]
    python evaluate.py --submission DIR [--seeds N] [--episodes N] [--row FILE]

ENV: a registered env (offload_routing, aggregation: the specs in agents/specs).

Writes DIR/<env>-<scenario>.json ({"env", "scenario", "meta", "agents": {name: {metric: {"mean", "ci95",
"per_seed"}}}}), DIR/<env>-<scenario>.md and PNG plots beside them. Seed s runs episodes reset with seeds
1000 s + e, so every agent meets the same instances. CI95: percentile bootstrap over the seeds. What to run
and report for an env (constructor, metrics, episode loop, plots, optimum) comes from its spec.
A checkpoint whose learner can act greedily or by sampling is evaluated both ways; the mode that scores best
on validation seeds (3,000,000 + i: never an evaluation or training seed) heads its row, named as the
learner, and the other is reported as ``learner (mode)``.

``--submission DIR``: a leaderboard submission (``submission.json`` + an ONNX policy; docs/submit.md) played on
the same evaluation seeds on every scenario it claims, in the eval mode it names; writes its row file
(DIR/row.json unless ``--row``). Nothing in DIR is run as code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from agents.common import ci95, ensure_out_dir, git_commit, positive_int
from agents.specs import SPECS, get_spec


def choose_mode(env_name: str, checkpoint: Path, scenario: str, episodes: int) -> tuple[str, dict[str, float]]:
    """The eval mode in which ``checkpoint`` scores best on the primary metric over ``episodes`` validation
    episodes (env seeds ``VALIDATION_SEED_BASE + i``, disjoint from training and evaluation seeds), and
    each mode's mean there. Ties go to the earlier mode of the learner's ``eval_modes``."""
    from agents.common import VALIDATION_SEED_BASE
    from agents.registry import eval_modes, load_policy

    spec = get_spec(env_name)
    scores = {}
    for mode in eval_modes(checkpoint):
        env = spec.make(scenario)
        policy = load_policy(checkpoint, env, mode)
        values = [spec.run_episode(env, policy, VALIDATION_SEED_BASE + i)[0][spec.primary_metric]
                  for i in range(episodes)]
        scores[mode] = float(np.mean(values))
    sign = -1.0 if spec.better == "higher" else 1.0
    return min(scores, key=lambda m: sign * scores[m]), scores


def checkpoint_modes(env_name: str, checkpoint: Path, scenario: str, eval_mode: str,
                     validation_episodes: int) -> tuple[list[str], dict[str, float]]:
    """The modes to evaluate ``checkpoint`` in, its headline mode first, and the validation scores that
    chose it (empty when nothing was chosen). ``eval_mode``: ``"auto"`` (every mode of its learner, the
    headline chosen on validation seeds) or one mode."""
    from agents.registry import eval_modes

    modes = eval_modes(checkpoint)
    if eval_mode != "auto":
        if eval_mode not in modes:
            raise ValueError(f"--eval-mode: {checkpoint} plays {list(modes)}, not {eval_mode!r}")
        return [eval_mode], {}
    if len(modes) == 1:
        return list(modes), {}
    best, scores = choose_mode(env_name, checkpoint, scenario, validation_episodes)
    return [best] + [m for m in modes if m != best], scores


def evaluate(env_name: str, agents: list[str], checkpoints: list[Path], scenario: str, seeds: int, episodes: int,
             progress: bool = True, eval_mode: str = "auto", validation_episodes: int = 2) -> tuple[dict, dict]:
    """Every baseline in ``agents`` and every checkpoint over ``seeds`` x ``episodes``: the report (the
    result JSON) and, per agent, the per-task values of its episodes (the spec's ``run_episode`` extras).
    A checkpoint whose learner acts in several modes (greedy, sampled) is evaluated in each: its name
    alone for the mode chosen on ``validation_episodes`` validation episodes, ``name (mode)`` for the
    others; the report's ``meta.agents[name]`` records ``learner``, ``eval_mode`` and the validation scores."""
    from tqdm import tqdm

    from agents.registry import load_policy

    spec = get_spec(env_name)
    metrics = spec.metrics
    entries: list[tuple[str, object, str | None, dict]] = [("baseline", a, None, {}) for a in agents]
    for c in checkpoints:
        modes, scores = checkpoint_modes(env_name, c, scenario, eval_mode, validation_episodes)
        entries += [("checkpoint", c, m, {"selected": k == 0, "validation": scores}) for k, m in enumerate(modes)]
    results, per_task, extra, skipped = {}, {}, {}, {}
    t_start = time.perf_counter()
    for kind, ref, mode, choice in tqdm(entries, desc=f"evaluate {env_name}/{scenario}", disable=not progress):
        env = spec.make(scenario)
        policy = spec.baseline(ref, env, seed=0) if kind == "baseline" else load_policy(ref, env, mode)
        name = policy.name if kind == "baseline" or choice["selected"] else f"{policy.name} ({mode})"
        while name in results:
            name += "'"
        per_seed = {m: [] for m in metrics}
        task_values = []
        t0 = time.perf_counter()
        try:
            for s in range(seeds):
                infos = []
                for e in range(episodes):
                    info, d = spec.run_episode(env, policy, 1000 * s + e)
                    infos.append(info)
                    task_values.append(d)
                for m in metrics:
                    per_seed[m].append(float(np.mean([i[m] for i in infos])))
        except ValueError as exc:  # e.g. milp_optimal on an instance larger than it accepts
            skipped[name] = str(exc)
            continue
        results[name] = per_seed
        per_task[name] = np.concatenate(task_values) if task_values else np.zeros(0)
        extra[name] = {"wall_s": time.perf_counter() - t0}
        if kind == "checkpoint":
            extra[name].update({"learner": policy.name, "eval_mode": mode, "validation_seeds":
                                validation_seeds(validation_episodes) if choice["validation"] else [],
                                "validation": choice["validation"]})
        if hasattr(policy, "bisection_ms_per_task"):
            extra[name]["bisection_ms_per_task"] = policy.bisection_ms_per_task
    if spec.reference_baseline in results:
        best = np.asarray(results[spec.reference_baseline][spec.primary_metric])
        for per_seed in results.values():
            per_seed["optimality_gap"] = list(spec.optimality_gap(np.asarray(per_seed[spec.primary_metric]), best))
    report = {
        "env": env_name,
        "scenario": scenario,
        "meta": {"version": _version(), "git": git_commit(), "seeds": list(range(seeds)), "episodes": episodes,
                 "wall_s": time.perf_counter() - t_start, "agents": extra, "skipped": skipped},
        "agents": {name: {m: {"mean": float(np.mean(v)), "ci95": ci95(v), "per_seed": [float(x) for x in v]}
                          for m, v in per_seed.items()} for name, per_seed in results.items()},
    }
    return report, per_task


def validation_seeds(episodes: int) -> list[int]:
    from agents.common import VALIDATION_SEED_BASE

    return [VALIDATION_SEED_BASE + i for i in range(episodes)]


def _version() -> str:
    import leo_envs

    return leo_envs.__version__


def markdown_table(report: dict) -> str:
    names = list(report["agents"])
    if not names:
        return "(no agent evaluated)\n"
    metrics = list(report["agents"][names[0]])
    lines = [f"### {report['env']} / {report['scenario']} ({len(report['meta']['seeds'])} seeds, "
             f"{report['meta']['episodes']} episode(s) each; mean [95% CI])", "",
             "| agent | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name in names:
        cells = []
        for m in metrics:
            v = report["agents"][name][m]
            cells.append(f"{v['mean']:.4g} [{v['ci95'][0]:.4g}, {v['ci95'][1]:.4g}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, why in report["meta"]["skipped"].items():
        lines.append(f"\nskipped {name}: {why}")
    return "\n".join(lines) + "\n"


def plots(report: dict, per_task: dict, out: Path, stem: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = get_spec(report["env"])
    written = [p for p in (plot(report, per_task, out, stem) for plot in spec.extra_plots) if p is not None]
    key = spec.primary_metric
    names = list(report["agents"])
    if names:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        means = [report["agents"][n][key]["mean"] for n in names]
        lo = [m - report["agents"][n][key]["ci95"][0] for n, m in zip(names, means)]
        hi = [report["agents"][n][key]["ci95"][1] - m for n, m in zip(names, means)]
        ax.bar(names, means, yerr=[lo, hi], capsize=3)
        ax.set_ylabel(key)
        ax.set_title(f"{report['env']} / {report['scenario']}")
        ax.tick_params(axis="x", rotation=30)
        path = out / f"{stem}-{key}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", choices=tuple(SPECS), nargs="?", help="the env (not needed with --submission)")
    parser.add_argument("--agents", default="", help="comma-separated baselines, or 'all'")
    parser.add_argument("--checkpoint", default="", help="comma-separated run directories written by train.py")
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--seeds", type=positive_int, default=5)
    parser.add_argument("--episodes", type=positive_int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--eval-mode", choices=("auto", "greedy", "sampled"), default="auto",
                        help="how checkpoints act: auto plays every mode of the learner and heads its row with "
                             "the one best on validation seeds; greedy or sampled plays that mode alone")
    parser.add_argument("--validation-episodes", type=positive_int, default=2,
                        help="validation episodes per mode that choose a checkpoint's headline mode (auto)")
    parser.add_argument("--submission", type=Path, default=None,
                        help="a submission folder (submission.json + ONNX policy): evaluate it and write its row")
    parser.add_argument("--row", type=Path, default=None, help="where --submission writes its row (DIR/row.json)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.submission is not None:
        return evaluate_submission_cli(parser, args)
    if args.env is None:
        parser.error("the following arguments are required: env (or --submission DIR)")

    from agents.registry import checkpoint_meta, load_policy

    spec = SPECS[args.env]
    scenario = args.scenario or spec.default_scenario
    if scenario not in spec.scenarios:
        parser.error(f"--scenario: {scenario!r} is not one of {list(spec.scenarios)}")
    agents = list(spec.baselines) if args.agents == "all" else [a for a in args.agents.split(",") if a]
    unknown = [a for a in agents if a not in spec.baselines]
    if unknown:
        parser.error(f"--agents: {unknown} are not baselines of {args.env} ({', '.join(spec.baselines)})")
    checkpoints = [Path(c) for c in args.checkpoint.split(",") if c]
    if not agents and not checkpoints:
        parser.error("nothing to evaluate: give --agents and/or --checkpoint")
    for c in checkpoints:  # every checkpoint loads before any work (a damaged one is one line)
        try:
            env = checkpoint_meta(c)["env"]
            if env != args.env:
                parser.error(f"--checkpoint {c}: trained on {env}, not {args.env}")
            load_policy(c, spec.make(scenario))
        except ValueError as exc:
            parser.error(f"--checkpoint {exc}")
    try:
        ensure_out_dir(args.out)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        report, per_task = evaluate(args.env, agents, checkpoints, scenario, args.seeds, args.episodes,
                                    progress=not args.no_progress, eval_mode=args.eval_mode,
                                    validation_episodes=args.validation_episodes)
    except ValueError as exc:
        parser.error(str(exc))
    stem = f"{args.env}-{scenario}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(report)
    (args.out / f"{stem}.md").write_text(table)
    plots(report, per_task, args.out, stem)
    print(table)
    return 0


def evaluate_submission_cli(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from agents.submission.manifest import load_submission
    from agents.submission.row import ROW_FILE, evaluate_submission, load_policies, write_row

    try:
        sub = load_submission(args.submission)
        if args.env is not None and args.env != sub.spec.name:
            parser.error(f"--submission {args.submission}: its env_id {sub.env_id} is {sub.spec.name}, not {args.env}")
        load_policies(sub)  # every claimed scenario's signature checked before anything is played
        row = evaluate_submission(args.submission, args.seeds, args.episodes, progress=not args.no_progress)
    except ValueError as exc:
        parser.error(f"--submission {exc}")
    path = write_row(row, args.row or args.submission / ROW_FILE)
    spec = sub.spec
    for scenario, result in row["scenarios"].items():
        v = result["metrics"][spec.primary_metric]
        print(f"{sub.name} on {spec.name}/{scenario}: {spec.primary_metric} {v['mean']:.4g} "
              f"[{v['ci95'][0]:.4g}, {v['ci95'][1]:.4g}] over seeds {row['protocol']['seeds']}")
    print(f"row written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
