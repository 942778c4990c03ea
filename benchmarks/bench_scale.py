"""offload_routing_v3 at mega-constellation scale: 66 (Iridium), 1156 (Kuiper shell 1), 1584 (Starlink
shell 1) and 4408 satellites (Starlink Gen1 phase 1, five shells). Each size runs in its own process:
steps/s (array and dict API, random masked actions; only the env's step is timed, best of 3 runs after a
warm-up), peak resident memory, and the exponent b of step time ~ N^b fitted over the sizes (target:
b <= 1.2, 4408 satellites within 2 GB).

Usage: python benchmarks/bench_scale.py [--steps 200] [--out benchmarks/results/scale.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

SIZES = (("iridium", "iridium"), ("kuiper_shell1", "starlink_shell1"), ("starlink_shell1", "starlink_shell1"),
         ("starlink_gen1", "starlink_shell1"))  # (constellation, scenario whose traffic settings it uses)


def measure(constellation: str, scenario: str, steps: int, repeats: int = 3, warmup: int = 20) -> dict:
    from timing import best_interleaved, step_time

    from leo_envs import offload_routing_v3

    env = offload_routing_v3.parallel_env(scenario, constellation=constellation,
                                          max_cycles=warmup + 2 * repeats * steps + 2)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    step_time(env, rng, "arrays", warmup)  # queues fill and caches warm before the clock starts
    out = {"constellation": constellation, "satellites": len(env.possible_agents), "repeats": repeats,
           "warmup_steps": warmup}
    best = best_interleaved({api: lambda api=api: step_time(env, rng, api, steps) for api in ("arrays", "dict")},
                            repeats)
    for api, elapsed in best.items():
        out[f"{api}_steps_per_s"] = steps / elapsed
        out[f"{api}_ms_per_step"] = 1e3 * elapsed / steps
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.json"))
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # worker mode: constellation scenario
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], args.one[1], args.steps)))
        return
    rows = []
    for constellation, scenario in SIZES:  # a fresh process per size: peak memory is that size's own
        res = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--one", constellation, scenario],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['constellation']:16s} {r['satellites']:5d} sats  arrays {r['arrays_steps_per_s']:7.1f} steps/s "
              f"({r['arrays_ms_per_step']:.2f} ms)  dict {r['dict_steps_per_s']:7.1f} steps/s  "
              f"peak {r['peak_rss_mb']:.0f} MB", flush=True)
    n = np.array([r["satellites"] for r in rows], float)
    fit = {api: float(np.polyfit(np.log(n), np.log([r[f"{api}_ms_per_step"] for r in rows]), 1)[0])
           for api in ("arrays", "dict")}
    biggest = rows[-1]
    targets = {"step cost grows no faster than N^1.2 (arrays API)": fit["arrays"] <= 1.2,
               "4408 satellites within 2 GB peak memory": biggest["peak_rss_mb"] <= 2048}
    print(f"fitted exponent b (step time ~ N^b): arrays {fit['arrays']:.2f}, dict {fit['dict']:.2f}")
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    from bench_core import write_results

    from leo_envs.envs.offload_routing import OffloadRoutingEnv

    write_results(args.out, rows, env=OffloadRoutingEnv.metadata["name"], exponent=fit, targets=targets)


if __name__ == "__main__":
    main()
