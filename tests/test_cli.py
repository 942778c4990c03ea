import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args, ok=True):
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if ok:
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


def test_train_and_evaluate_smoke(tmp_path):
    run("train.py", "offload_routing", "madqn", "--scenario", "tiny", "--steps", "200", "--out", str(tmp_path / "m"),
        "--no-progress", "--no-randomize")
    run("train.py", "aggregation", "double_dqn", "--scenario", "tiny", "--steps", "150", "--out", str(tmp_path / "d"),
        "--no-progress")
    run("train.py", "aggregation", "double_dqn", "--scenario", "tiny", "--steps", "300", "--out", str(tmp_path / "d"),
        "--resume", "--no-progress")
    # the resumed run reached its budget; model.pt is the best validated weights of the whole run
    assert json.loads((tmp_path / "d" / "checkpoint" / "meta.json").read_text())["step"] == 300
    best = json.loads((tmp_path / "d" / "model" / "meta.json").read_text())
    history = json.loads((tmp_path / "d" / "validation.json").read_text())["history"]
    assert history[-1]["step"] == 300 and best["step"] == best["validation"]["step"] <= 300
    run("evaluate.py", "offload_routing", "--agents", "full_local,random", "--checkpoint", str(tmp_path / "m"),
        "--scenario", "tiny", "--seeds", "2", "--out", str(tmp_path / "ev"), "--no-progress")
    run("evaluate.py", "aggregation", "--agents", "all", "--checkpoint", str(tmp_path / "d"), "--scenario", "tiny",
        "--seeds", "2", "--out", str(tmp_path / "ev"), "--no-progress")
    routing = json.loads((tmp_path / "ev" / "offload_routing-tiny.json").read_text())
    assert set(routing["agents"]) == {"full_local", "random", "madqn"}
    assert "bisection_ms_per_task" in routing["meta"]["agents"]["madqn"]
    for metrics in routing["agents"].values():
        for v in metrics.values():
            assert len(v["per_seed"]) == 2 and v["ci95"][0] <= v["mean"] <= v["ci95"][1]
    agg = json.loads((tmp_path / "ev" / "aggregation-tiny.json").read_text())
    assert {"milp_optimal", "double_dqn", "greedy"} <= set(agg["agents"])
    assert all(gap >= -1e-9 for a in agg["agents"].values() for gap in a["optimality_gap"]["per_seed"])
    assert (tmp_path / "ev" / "offload_routing-tiny-delay_cdf.png").stat().st_size > 1000
    assert (tmp_path / "ev" / "aggregation-tiny.md").read_text().count("|") > 20


def test_cli_bad_input_is_a_clear_error(tmp_path):
    out = run("train.py", "aggregation", "madqn", "--out", str(tmp_path), ok=False)
    assert out.returncode == 2 and "madqn" in out.stderr and "double_dqn" in out.stderr
    out = run("evaluate.py", "offload_routing", "--agents", "teleport", ok=False)
    assert out.returncode == 2 and "teleport" in out.stderr
    out = run("evaluate.py", "aggregation", "--checkpoint", str(tmp_path), ok=False)
    assert out.returncode == 2 and "no model/ snapshot" in out.stderr and "train.py" in out.stderr
