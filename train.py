"""Train one agent on one environment.

    python train.py ENV AGENT [--scenario S] [--steps N] [--seed K] [--out DIR] [--resume]

ENV: a registered env; AGENT: one of its learners in its spec (agents/specs: madqn on offload_routing,
double_dqn on aggregation). Shows a progress bar, logs to DIR/progress.csv and TensorBoard (DIR/tb or SB3's
events), writes checkpoints at episode ends; ``--resume`` continues an interrupted run from its last checkpoint.
DIR/model/ (model.pt, meta.json, manifest.json) is what evaluate.py --checkpoint DIR loads; DIR/checkpoint/
is the resume state. Both are written whole or not at all and checked against their manifest on load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.common import non_negative_int, positive_int
from agents.specs import SPECS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", choices=tuple(SPECS))
    parser.add_argument("agent")
    parser.add_argument("--scenario", default=None, help="scenario preset (default: the learner's own)")
    parser.add_argument("--steps", type=positive_int, default=None, help="environment steps to train for")
    parser.add_argument("--seed", type=non_negative_int, default=None,
                        help="run seed (default 0; with --resume, the run's)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: runs/<env>-<agent>-s<seed>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in --out (it must exist and match: agent, env, "
                             "scenario, seed and config; only --steps may change)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-randomize", action="store_true",
                        help="madqn: train on the scenario alone (no domain randomisation)")
    args = parser.parse_args(argv)

    from agents.registry import train_learner

    out = args.out or Path("runs") / f"{args.env}-{args.agent}-s{args.seed or 0}"
    try:
        counters = train_learner(args.env, args.agent, out, scenario=args.scenario, steps=args.steps,
                                 seed=args.seed, resume=args.resume, progress=not args.no_progress,
                                 randomize=not args.no_randomize)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"trained {args.agent} on {args.env}: {counters}; checkpoint in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
