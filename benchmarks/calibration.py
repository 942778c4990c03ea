"""Calibration tables: offload_routing_v1 on iridium and Aggregation-v1 at three traffic levels, every
heuristic baseline over N seeds, beside the papers' figures (DESIGN.md section 7).
Usage: python benchmarks/calibration.py [--seeds 5] [--env offload_routing|aggregation|both]"""

from __future__ import annotations

import argparse

import numpy as np

from agents.baselines import OFFLOAD_ROUTING_BASELINES, make_offload_routing_baseline
from leo_envs import offload_routing_v1

METRICS = ("mean_task_cost_s", "mean_delay_s", "p95_delay_s", "peak_isl_utilization", "completion_rate", "drop_rate",
           "csat_load_jain")
PAPER = {"full_local": {"mean_delay_s": 1.84, "p95_delay_s": 2.31, "peak_isl_utilization": None},
         "full_offload": {"mean_delay_s": 1.27, "peak_isl_utilization": 0.85}}


def episode(name: str, seed: int, scenario: str) -> dict:
    env = offload_routing_v1.parallel_env(scenario)
    obs, _ = env.reset(seed=seed)
    policy = make_offload_routing_baseline(name, env, seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(policy.act(obs))
    return infos[env.possible_agents[0]]


AGG_METRICS = ("energy_reduction", "delay_increment_s", "edr_j_per_s", "deadline_violations")
AGG_PAPER = {"low_traffic": (0.4787, 0.0161), "medium_traffic": (0.2675, 0.0189), "high_traffic": (0.0436, 0.0299)}


def aggregation_table(seeds: int) -> None:
    from agents.baselines import make_aggregation_baseline
    from leo_envs import aggregation_v1

    print("| traffic | baseline | " + " | ".join(AGG_METRICS) + " | paper (DDQN): reduction / delay |")
    print("|---" * (len(AGG_METRICS) + 3) + "|")
    for level, paper in AGG_PAPER.items():
        for name in ("random", "greedy", "ant_colony", "q_table"):
            env = aggregation_v1.env(level)
            policy = make_aggregation_baseline(name, env, 0)
            runs = []
            for seed in range(seeds):
                obs, _ = env.reset(seed=seed, options=policy.reset_options)
                done = False
                while not done:
                    obs, _, terminated, truncated, info = env.step(policy.act(obs))
                    done = terminated or truncated
                runs.append(info)
            cells = []
            for m in AGG_METRICS:
                x = np.array([r[m] for r in runs], float)
                half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
                cells.append(f"{x.mean():.4g} +- {half:.2g}")
            print(f"| {level} | {name} | " + " | ".join(cells) + f" | {paper[0]:.2%} / {paper[1]} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scenario", default="iridium")
    parser.add_argument("--env", default="both", choices=("offload_routing", "aggregation", "both"))
    args = parser.parse_args()
    if args.env in ("aggregation", "both"):
        aggregation_table(args.seeds)
        print()
    if args.env == "aggregation":
        return
    print("| baseline | " + " | ".join(METRICS) + " | paper mean / p95 / peak ISL |")
    print("|---" * (len(METRICS) + 2) + "|")
    for name in OFFLOAD_ROUTING_BASELINES:
        runs = [episode(name, s, args.scenario) for s in range(args.seeds)]
        cells = []
        for m in METRICS:
            x = np.array([r[m] for r in runs])
            half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
            cells.append(f"{x.mean():.3f} +- {half:.3f}")
        p = PAPER.get(name, {})
        paper = " / ".join("-" if p.get(k) is None else f"{p[k]:g}"
                           for k in ("mean_delay_s", "p95_delay_s", "peak_isl_utilization"))
        print(f"| {name} | " + " | ".join(cells) + f" | {paper} |")


if __name__ == "__main__":
    main()
