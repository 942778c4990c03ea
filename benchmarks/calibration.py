"""Calibration table of offload_routing_v0 on iridium: every heuristic baseline over N seeds, beside the
offloading paper's figures (DESIGN.md section 7). Usage: python benchmarks/calibration.py [--seeds 5]"""

from __future__ import annotations

import argparse

import numpy as np

from agents.baselines import OFFLOAD_ROUTING_BASELINES, make_offload_routing_baseline
from leo_envs import offload_routing_v0

METRICS = ("mean_delay_s", "p95_delay_s", "peak_isl_utilization", "completion_rate", "csat_load_jain")
PAPER = {"full_local": {"mean_delay_s": 1.84, "p95_delay_s": 2.31, "peak_isl_utilization": None},
         "full_offload": {"mean_delay_s": 1.27, "peak_isl_utilization": 0.85}}


def episode(name: str, seed: int, scenario: str) -> dict:
    env = offload_routing_v0.parallel_env(scenario)
    obs, _ = env.reset(seed=seed)
    policy = make_offload_routing_baseline(name, env, seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(policy.act(obs))
    return infos[env.possible_agents[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scenario", default="iridium")
    args = parser.parse_args()
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
