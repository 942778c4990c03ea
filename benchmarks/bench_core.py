"""Core speed, as ratios against references run side by side in this process.

1. ``Constellation.positions_ecef`` over a 600-step grid of Starlink shell 1 vs a bare
   ``SatrecArray.sgp4`` call on the same grid (target: <= 1.3x).
2. ``Network.at(t)`` + all-destination shortest paths from 10 sources (scipy.sparse.csgraph) vs
   networkx ``floyd_warshall_numpy`` on the same graph, the per-step method of Hypatia (target: >= 100x).

Usage: python benchmarks/bench_core.py [--out benchmarks/results/core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import networkx as nx
import numpy as np
from sgp4.api import SatrecArray

from leo_envs.core import Constellation, Network
from leo_envs.core.constants import SECONDS_PER_DAY

try:
    from timing import best_interleaved, seconds
except ImportError:  # run as a module
    from benchmarks.timing import best_interleaved, seconds


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo); the architecture elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "cpu_model": cpu_model()}


def write_results(path: Path, rows: list, **extra) -> None:
    """A benchmark's JSON: the machine it ran on, its rows, and anything else it reports."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), "results": rows, **extra}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/core.json"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default="starlink_shell1", help="constellation (smoke runs use iridium)")
    args = parser.parse_args()

    c = Constellation.from_preset(args.preset)
    times = np.arange(600) * 1.0
    bare = SatrecArray(c.satrecs)
    jd = np.full(times.shape, c.epoch_jd)
    fr = c.epoch_fr + times / SECONDS_PER_DAY
    c.positions_ecef(times[:2])  # warm-up
    t = best_interleaved({"bare": lambda: seconds(lambda: bare.sgp4(jd, fr)),
                          "ours": lambda: seconds(lambda: c.positions_ecef(times))}, args.repeats)
    t_bare, t_ours = t["bare"], t["ours"]

    net = Network(c)
    sources = np.linspace(0, len(c) - 1, 10).astype(int)

    def ours_routing():
        snap = net.at(123.0)
        return snap.distances(sources)

    t_route = best_interleaved({"route": lambda: seconds(ours_routing)}, args.repeats)["route"]
    snap = net.at(123.0)
    g = nx.Graph()
    g.add_nodes_from(range(len(c)))
    up = snap.isl_up
    g.add_weighted_edges_from(zip(snap.isl_pairs[up, 0].tolist(), snap.isl_pairs[up, 1].tolist(),
                                  snap.isl_delay_s[up].tolist()))
    t0 = time.perf_counter()
    fw = nx.floyd_warshall_numpy(g, nodelist=range(len(c)))
    t_fw = time.perf_counter() - t0
    ours, _ = ours_routing()
    if not np.allclose(ours, fw[sources], rtol=1e-9, atol=1e-12):  # both must compute the same thing
        raise SystemExit("routing mismatch between csgraph and networkx")

    rows = [
        {"name": "positions_ecef / bare SatrecArray.sgp4", "grid": f"{args.preset}, {len(c)} sats x 600 steps",
         "ours_s": t_ours, "reference_s": t_bare, "ratio": t_ours / t_bare, "target": "<= 1.3",
         "pass": t_ours / t_bare <= 1.3},
        {"name": "networkx floyd_warshall_numpy / (net.at + dijkstra from 10 sources)",
         "grid": f"{args.preset}, {len(c)} nodes, {len(net.isl_pairs)} ISLs", "ours_s": t_route, "reference_s": t_fw,
         "ratio": t_fw / t_route, "target": ">= 100", "pass": t_fw / t_route >= 100},
    ]
    print(f"{'benchmark':70s} {'ours':>10s} {'reference':>10s} {'ratio':>9s}  target")
    for r in rows:
        print(f"{r['name']:70s} {r['ours_s'] * 1e3:8.2f}ms {r['reference_s'] * 1e3:8.1f}ms {r['ratio']:9.2f}  "
              f"{r['target']} {'ok' if r['pass'] else 'MISSED'}")
    write_results(args.out, rows)


if __name__ == "__main__":
    main()
