"""The leaderboard and the speed suite: a one-seed smoke of both whose outputs must validate, and the
committed LEADERBOARD.md / BENCHMARKS.md must parse and carry their generator's header."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_all  # noqa: E402

import leaderboard  # noqa: E402


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


@pytest.fixture(scope="module")
def small_board(fewer_resamples, tmp_path_factory) -> tuple[Path, Path]:
    """A one-seed board of the tiny scenarios with a submission on it (the one-file example, on tiny): the folder of
    LEADERBOARD.md / leaderboard.json and the submissions folder."""
    root = tmp_path_factory.mktemp("board")
    subs = root / "submissions"
    run = subprocess.run([sys.executable, "examples/submission/bc_offload_routing.py", "--out", str(subs / "bc"),
                          "--scenario", "tiny", "--episodes", "1", "--epochs", "2", "--hidden", "16"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = leaderboard.collect_rows(1, root / "no-runs", smoke=True)
    rows = leaderboard.merged(rows, leaderboard.submission_rows(1, subs, progress=False))
    bounds = leaderboard.scenario_bounds(rows)
    leaderboard.write_outputs(leaderboard.with_bounds(rows, bounds), root / "out", 12.0, bounds)
    return root / "out", subs


REPLAYS: dict = {}


@pytest.fixture(scope="module")
def fewer_resamples():
    """The boards below test the bookkeeping, not the intervals' width: 200 bootstrap resamples instead of 2000."""
    import aggregates

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "REPS", 200)
        yield


@pytest.fixture(autouse=True)
def replayed_once(monkeypatch):
    """Each row's episode is played once in this module (the checks below replay the same rows)."""
    cache = REPLAYS
    replay = leaderboard.replay

    def cached(row: dict, submissions: Path) -> float:
        key = (row["env"], row["scenario"], row["agent"], row["kind"], row["eval_seeds"], str(submissions))
        if key not in cache:
            cache[key] = replay(row, submissions)
        return cache[key]

    monkeypatch.setattr(leaderboard, "replay", cached)
    yield


def edited_copy(board: Path, tmp_path: Path, edit) -> Path:
    out = tmp_path / "edited"
    shutil.copytree(board, out)
    data = json.loads((out / "leaderboard.json").read_text())
    edit(data["rows"])
    summary_data = leaderboard.summaries(data["rows"], data["bounds"])
    data.update(summary_data)
    (out / "leaderboard.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "LEADERBOARD.md").write_text(leaderboard.render(data["rows"], data["elapsed_s"], data["bounds"],
                                                           summary_data))
    return out


def test_a_generated_board_with_a_submission_passes_its_check(small_board):
    board, subs = small_board
    leaderboard.validate(board)
    rows = json.loads((board / "leaderboard.json").read_text())["rows"]
    sub = [r for r in rows if r["kind"] == "submission"]
    assert [(r["env"], r["scenario"], r["agent"]) for r in sub] == [("offload_routing", "tiny", "bc-congestion-aware")]
    problems, replayed, unchecked = leaderboard.check(board, subs)
    assert problems == [] and unchecked == []
    data = json.loads((board / "leaderboard.json").read_text())
    # offload_routing: the lower bound on the task cost; aggregation: the upper bound on the EDR
    assert set(data["bounds"]) == {"offload_routing/tiny", "aggregation/tiny"}
    for r in rows:  # no agent beats the bound; random scores 0, the bound 1
        assert r["optimality_gap"] >= 0 and (r["normalized_score"] == 0.0) == (r["agent"] == "random")
    assert "offload_routing/tiny/bc-congestion-aware" in replayed and "aggregation/tiny/milp_optimal" in replayed
    # a second pass reuses the row file: same ONNX file, claims, env version and episodes
    unbounded = [{k: v for k, v in r.items() if k not in leaderboard.BOUND_COLUMNS} for r in sub]
    assert leaderboard.submission_rows(1, subs, progress=False) == unbounded


def test_a_row_edited_by_hand_fails_the_check_naming_it(small_board, tmp_path):
    board, subs = small_board

    def better_mean(rows):
        row = next(r for r in rows if r["agent"] == "random" and r["env"] == "aggregation")
        row["mean"] *= 2

    problems, _, _ = leaderboard.check(edited_copy(board, tmp_path, better_mean), subs)
    assert len(problems) == 1 and problems[0].startswith("row aggregation/tiny/random: mean")


def test_a_consistent_edit_of_a_rows_values_fails_its_replay(small_board, tmp_path):
    """Per-seed values and statistics edited together: the replayed episode gives the truth away."""
    board, subs = small_board

    data = json.loads((board / "leaderboard.json").read_text())

    def forged(rows):
        for row in rows:
            if row["agent"] in ("full_local", "bc-congestion-aware"):
                row["per_seed"] = [v * 0.9 for v in row["per_seed"]]
                row.update(leaderboard.summary(row["per_seed"]))
        rows[:] = leaderboard.with_bounds(rows, data["bounds"])

    problems, _, _ = leaderboard.check(edited_copy(board, tmp_path, forged), subs)
    assert [p.split(":")[0] for p in problems] == ["row offload_routing/tiny/full_local",
                                                     "row offload_routing/tiny/bc-congestion-aware"]
    assert all("replays to" in p for p in problems)


def test_a_hand_edited_leaderboard_md_fails_the_check(small_board, tmp_path):
    board, subs = small_board
    out = tmp_path / "md"
    shutil.copytree(board, out)
    md = (out / "LEADERBOARD.md").read_text()
    (out / "LEADERBOARD.md").write_text(md.replace("| random |", "| random (tuned) |", 1))
    problems, _, _ = leaderboard.check(out, subs)
    assert problems == ["LEADERBOARD.md is not what leaderboard.json renders to (edited by hand?)"]


def test_speed_suite_smoke_renders(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--smoke", "--results",
                          str(tmp_path / "results"), "--out", str(tmp_path / "BENCHMARKS.md"), "--readme", str(readme)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert text.startswith(run_all.HEADER)
    for section in ("## Core", "## Environments", "## Scale", "## Training throughput", "## Batched environments"):
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


def test_the_submission_workflow_runs_the_documented_commands():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "leaderboard.yml").read_text())
    commands = "\n".join(step.get("run", "") for step in workflow["jobs"]["submission"]["steps"])
    assert "python evaluate.py --submission" in commands and "python benchmarks/leaderboard.py --check" in commands
    makefile = (ROOT / "Makefile").read_text()
    assert "benchmarks/leaderboard.py --check" in makefile.split("test: $(STAMP)")[1].split("\n\n")[0]


def test_a_row_better_than_its_bound_fails_the_check(small_board, tmp_path):
    board, subs = small_board
    data = json.loads((board / "leaderboard.json").read_text())
    bound = data["bounds"]["offload_routing/tiny"]["per_seed"][0]

    def impossible(rows):
        row = next(r for r in rows if r["agent"] == "even_split" and r["env"] == "offload_routing")
        row["per_seed"] = [bound * 0.9]
        row.update(leaderboard.summary(row["per_seed"]))
        rows[:] = leaderboard.with_bounds(rows, data["bounds"])

    problems, _, _ = leaderboard.check(edited_copy(board, tmp_path, impossible), subs)
    assert any(p.startswith("row offload_routing/tiny/even_split: episode seed 0 scores") and "better than the bound"
               in p for p in problems)
