"""Calibration tables: each env's heuristic baselines over N seeds beside its source paper's figures
(docs/physics.md, "Calibration against the papers"): offload_routing_v3 on iridium, Aggregation-v2 at the paper's
three traffic levels.
Every env whose spec (agents/specs) has a ``calibrate`` hook gets a table.
Usage: python benchmarks/calibration.py [--seeds 5] [--scenario S] [--env offload_routing|aggregation|both]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.specs import SPECS  # noqa: E402  (after the sys.path insert)


def main(argv: list[str] | None = None) -> None:
    calibrated = [name for name, spec in SPECS.items() if spec.calibrate is not None]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scenario", default=None,
                        help="scenario for the envs whose hook takes one (default: the hook's own, e.g. iridium)")
    parser.add_argument("--env", default="both", choices=(*calibrated, "both"), help="both: every calibrated env")
    args = parser.parse_args(argv)
    names = calibrated if args.env == "both" else [args.env]
    print("\n\n".join(SPECS[name].calibrate(args.seeds, args.scenario) for name in names))


if __name__ == "__main__":
    main()
