"""Evaluate agents (baselines and trained checkpoints) over seeds; write results, a table and plots.

    python evaluate.py {offload_routing|aggregation} [--agents a,b,..|all] [--checkpoint DIR[,DIR..]]
                       [--scenario S] [--seeds N] [--episodes N] [--out DIR]

Writes DIR/<env>-<scenario>.json ({"env", "scenario", "meta", "agents": {name: {metric: {"mean", "ci95",
"per_seed"}}}}), DIR/<env>-<scenario>.md and PNG plots beside them. Seed s runs episodes reset with seeds
1000 s + e, so every agent meets the same instances. CI95: percentile bootstrap over the seeds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# headline metric first; completion and drop rates beside it in every table
ROUTING_METRICS = ("mean_task_cost_s", "completion_rate", "drop_rate", "mean_delay_s", "p95_delay_s",
                   "mean_isl_utilization", "peak_isl_utilization", "csat_load_jain")
AGGREGATION_METRICS = ("edr_j_per_s", "energy_reduction", "net_energy_saved_j", "delay_increment_s",
                       "deadline_violations", "working_sats")
DEFAULT_SCENARIO = {"offload_routing": "iridium", "aggregation": "medium_traffic"}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ci95(values: list[float]) -> list[float]:
    x = np.asarray(values, float)
    if len(x) < 2 or np.all(x == x[0]):
        return [float(x.mean()), float(x.mean())]
    from scipy.stats import bootstrap

    res = bootstrap((x,), np.mean, confidence_level=0.95, method="percentile", n_resamples=2000, random_state=0)
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def make_env(env_name: str, scenario: str):
    if env_name == "offload_routing":
        from leo_envs import offload_routing_v1

        return offload_routing_v1.parallel_env(scenario)
    from leo_envs import aggregation_v1

    return aggregation_v1.env(scenario)


def run_episode(env_name: str, env, policy, seed: int) -> tuple[dict, np.ndarray]:
    """One episode; returns the final info and (routing) the finished tasks' delays."""
    policy.reset(seed)
    if env_name == "offload_routing":
        obs, _ = env.reset(seed=seed)
        while env.agents:
            obs, _, _, _, infos = env.step(policy.act(obs))
        from leo_envs.envs.offload_routing.types import DONE

        tk = env.sim.state.tasks
        done = tk.status[: tk.size] == DONE
        return infos[env.possible_agents[0]], (tk.finish - tk.arrival)[: tk.size][done]
    obs, _ = env.reset(seed=seed, options=getattr(policy, "reset_options", None))
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        done = terminated or truncated
    return info, np.zeros(0)


def evaluate(env_name: str, agents: list[str], checkpoints: list[Path], scenario: str, seeds: int, episodes: int,
             progress: bool = True) -> tuple[dict, dict]:
    from tqdm import tqdm

    from agents.registry import load_policy, make_baseline

    metrics = ROUTING_METRICS if env_name == "offload_routing" else AGGREGATION_METRICS
    entries = [("baseline", a) for a in agents] + [("checkpoint", c) for c in checkpoints]
    results, delays, extra, skipped = {}, {}, {}, {}
    t_start = time.perf_counter()
    for kind, ref in tqdm(entries, desc=f"evaluate {env_name}/{scenario}", disable=not progress):
        env = make_env(env_name, scenario)
        policy = make_baseline(env_name, ref, env, seed=0) if kind == "baseline" else load_policy(ref, env)
        name = policy.name
        while name in results:
            name += "'"
        per_seed = {m: [] for m in metrics}
        all_delays = []
        t0 = time.perf_counter()
        try:
            for s in range(seeds):
                infos = []
                for e in range(episodes):
                    info, d = run_episode(env_name, env, policy, 1000 * s + e)
                    infos.append(info)
                    all_delays.append(d)
                for m in metrics:
                    per_seed[m].append(float(np.mean([i[m] for i in infos])))
        except ValueError as exc:  # e.g. milp_optimal on an instance larger than it accepts
            skipped[name] = str(exc)
            continue
        results[name] = per_seed
        delays[name] = np.concatenate(all_delays) if all_delays else np.zeros(0)
        extra[name] = {"wall_s": time.perf_counter() - t0}
        if hasattr(policy, "bisection_ms_per_task"):
            extra[name]["bisection_ms_per_task"] = policy.bisection_ms_per_task
    if env_name == "aggregation" and "milp_optimal" in results:
        best = np.asarray(results["milp_optimal"]["edr_j_per_s"])
        for per_seed in results.values():
            per_seed["optimality_gap"] = list((best - np.asarray(per_seed["edr_j_per_s"])) / np.abs(best))
    report = {
        "env": env_name,
        "scenario": scenario,
        "meta": {"version": _version(), "git": git_commit(), "seeds": list(range(seeds)), "episodes": episodes,
                 "wall_s": time.perf_counter() - t_start, "agents": extra, "skipped": skipped},
        "agents": {name: {m: {"mean": float(np.mean(v)), "ci95": ci95(v), "per_seed": [float(x) for x in v]}
                          for m, v in per_seed.items()} for name, per_seed in results.items()},
    }
    return report, delays


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


def plots(report: dict, delays: dict, out: Path, stem: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if report["env"] == "offload_routing" and any(len(d) for d in delays.values()):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, d in delays.items():
            if len(d):
                x = np.sort(d)
                ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=name)
        ax.set_xlabel("service delay (s)")
        ax.set_ylabel("CDF of finished tasks")
        ax.set_title(f"{report['scenario']}: delay CDF")
        ax.legend(fontsize=8)
        path = out / f"{stem}-delay_cdf.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    key = "mean_task_cost_s" if report["env"] == "offload_routing" else "edr_j_per_s"
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
    parser.add_argument("env", choices=("offload_routing", "aggregation"))
    parser.add_argument("--agents", default="", help="comma-separated baselines, or 'all'")
    parser.add_argument("--checkpoint", default="", help="comma-separated run directories written by train.py")
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from agents.registry import BASELINES, checkpoint_env

    if args.seeds < 1 or args.episodes < 1:
        parser.error(f"--seeds {args.seeds} / --episodes {args.episodes}: both must be >= 1")
    agents = list(BASELINES[args.env]) if args.agents == "all" else [a for a in args.agents.split(",") if a]
    checkpoints = [Path(c) for c in args.checkpoint.split(",") if c]
    for c in checkpoints:
        try:
            if checkpoint_env(c) != args.env:
                parser.error(f"--checkpoint {c}: trained on {checkpoint_env(c)}, not {args.env}")
        except ValueError as exc:
            parser.error(str(exc))
    if not agents and not checkpoints:
        parser.error("nothing to evaluate: give --agents and/or --checkpoint")
    scenario = args.scenario or DEFAULT_SCENARIO[args.env]
    try:
        report, delays = evaluate(args.env, agents, checkpoints, scenario, args.seeds, args.episodes,
                                  progress=not args.no_progress)
    except ValueError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.env}-{scenario}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(report)
    (args.out / f"{stem}.md").write_text(table)
    plots(report, delays, args.out, stem)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
