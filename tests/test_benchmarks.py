"""The leaderboard and the speed suite: a one-seed smoke of both whose outputs must validate, and the
committed LEADERBOARD.md / BENCHMARKS.md must parse and carry their generator's header."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import leaderboard  # noqa: E402
import run_all  # noqa: E402


def test_leaderboard_smoke_validates(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "leaderboard.py"), "--smoke", "--out",
                          str(tmp_path), "--checkpoints", str(tmp_path / "none")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    leaderboard.validate(tmp_path)
    rows = json.loads((tmp_path / "leaderboard.json").read_text())["rows"]
    assert {r["env"] for r in rows} == {"offload_routing", "aggregation"}
    assert (tmp_path / "leaderboard_aggregation.png").stat().st_size > 1000
    # a broken file fails validation
    (tmp_path / "LEADERBOARD.md").write_text("# hand-edited\n")
    try:
        leaderboard.validate(tmp_path)
    except ValueError as exc:
        assert "header" in str(exc)
    else:
        raise AssertionError("a hand-edited LEADERBOARD.md passed validation")


def test_speed_suite_smoke_renders(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--smoke", "--results",
                          str(tmp_path / "results"), "--out", str(tmp_path / "BENCHMARKS.md"), "--readme", str(readme)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert text.startswith(run_all.HEADER)
    for section in ("## Core", "## Environments", "## Scale", "## Training throughput"):
        assert section in text
    assert text == run_all.render(tmp_path / "results")  # the file is exactly what the generator renders
    assert run_all.readme_summary(tmp_path / "results") in readme.read_text()
    assert readme.read_text() != (ROOT / "README.md").read_text()  # the smoke's figures replaced the committed ones


def test_readme_speed_summary_is_generated_from_the_committed_results():
    """The README's speed figures are the committed run's, not copied by hand (so they cannot go stale)."""
    assert run_all.readme_summary(ROOT / "benchmarks" / "results") in (ROOT / "README.md").read_text()


def test_committed_leaderboard_and_benchmarks_are_generated():
    leaderboard.validate(ROOT)
    rows = json.loads((ROOT / "leaderboard.json").read_text())["rows"]
    assert all(r["n_seeds"] >= 5 for r in rows)
    assert (ROOT / "BENCHMARKS.md").read_text().startswith(run_all.HEADER)
    assert (ROOT / "BENCHMARKS.md").read_text() == run_all.render(ROOT / "benchmarks" / "results")
