"""Export a trained checkpoint as a leaderboard submission: its policy network as ONNX and a submission.json.

    python export.py RUN_DIR --out DIR [--scenario S] [--name NAME] [--eval-mode greedy|sampled]
                               [--authors "A, B"]

RUN_DIR: a run directory written by train.py. DIR receives policy.onnx (observation and action mask in, logits or
Q-values out: docs/submit.md) and submission.json (the claims, filled from the run's meta.json: env id, scenario,
budget in env steps and agent-steps, seed, library, the command that reproduces it). The exported policy plays
exactly what the checkpoint plays on the same seeds; ``python evaluate.py --submission DIR`` scores it.
Learners whose policy is more than a network (madqn's online bisection, double_dqn's per-instance fine-tuning)
cannot be exported and stay in-repo rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.policy import EVAL_MODES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run directory written by train.py")
    parser.add_argument("--out", type=Path, required=True, help="the submission folder to write")
    parser.add_argument("--scenario", default=None, help="the scenario it claims (default: the one it trained on)")
    parser.add_argument("--name", default=None, help="its name on the board (default: <learner>-seed<seed>)")
    parser.add_argument("--eval-mode", choices=EVAL_MODES, default=None,
                        help="how the evaluator plays it (default: its learner's first mode, greedy)")
    parser.add_argument("--authors", default="leo-envs", help="comma-separated author names")
    args = parser.parse_args(argv)

    from agents.submission.export import export_checkpoint

    authors = tuple(a.strip() for a in args.authors.split(",") if a.strip())
    try:
        out = export_checkpoint(args.run, args.out, scenario=args.scenario, name=args.name,
                                eval_mode=args.eval_mode, authors=authors)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"exported {args.run} to {out} (policy.onnx, submission.json); score it with "
          f"python evaluate.py --submission {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
