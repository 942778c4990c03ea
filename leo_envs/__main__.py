"""``python -m leo_envs validate [--out DIR]``: the core validation report; exits 1 if a check fails."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leo_envs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser("validate", help="validate the orbit, geometry and link-budget core")
    val.add_argument("--out", type=Path, default=None, help="also write validation.md and validation.json here")
    args = parser.parse_args(argv)

    from .validation import as_json, render_markdown, run_checks

    checks = run_checks()
    table = render_markdown(checks)
    print(table, end="")
    failed = [c for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "validation.md").write_text("# Core validation\n\n" + table)
        (args.out / "validation.json").write_text(json.dumps(as_json(checks), indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
