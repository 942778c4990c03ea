"""Run directories are written whole or not at all and read back as data only (``agents.checkpoint``).

- A damaged directory (truncated, empty, missing or foreign files, bad JSON, a config that does not fit, a
  malicious pickle) is refused by evaluate.py, train.py --resume and the leaderboard with one line naming
  the file; no code from the directory runs.
- ``--resume`` checks the run: another agent, env, scenario or seed is refused naming the field, and a run
  without a checkpoint says so; a refused resume changes nothing.
- Training killed from outside (SIGKILL at random moments, mid-write included) and resumed, many times,
  ends bit for bit where an uninterrupted run does, with its log rewound to each checkpoint.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MANIFEST_FILE,
    MODEL_DIR,
    CheckpointError,
    json_bytes,
    locate,
    read_checkpoint,
    read_model,
    torch_bytes,
    write_snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
MADQN_TINY = ["offload_routing", "madqn", "--scenario", "tiny", "--no-progress", "--no-randomize"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(script: str, *argv: str) -> Result:
    """``python script argv...`` run in this process (the CLIs' ``main``): its exit code and output. Any
    exception other than argparse's exit propagates (a raw traceback fails the test)."""
    import evaluate
    import train
    from benchmarks import leaderboard

    main = {"train.py": train.main, "evaluate.py": evaluate.main, "benchmarks/leaderboard.py": leaderboard.main}[script]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return Result(int(code or 0), out.getvalue(), err.getvalue())


def one_line_error(out: Result, *needles: str) -> None:
    """A refusal: exit code 2 (argparse's), no traceback, the last stderr line naming ``needles``."""
    assert out.returncode == 2, out.stdout[-1000:] + out.stderr[-2000:]
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, last


@pytest.fixture(scope="module")
def madqn_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("madqn") / "run"
    out = cli("train.py", *MADQN_TINY, "--steps", "200", "--out", str(run))
    assert out.returncode == 0, out.stderr[-2000:]
    return run


def copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def reseal(snapshot_dir: Path) -> None:
    """Rewrite the manifest to match the files as they are now (what an attacker who edits files can do)."""
    import hashlib

    manifest = json.loads((snapshot_dir / MANIFEST_FILE).read_text())
    for name in manifest["files"]:
        data = (snapshot_dir / name).read_bytes()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (snapshot_dir / MANIFEST_FILE).write_bytes(json_bytes(manifest))


def edit_meta(snapshot_dir: Path, change) -> None:
    meta = json.loads((snapshot_dir / "meta.json").read_text())
    (snapshot_dir / "meta.json").write_text(json.dumps(change(meta)))
    reseal(snapshot_dir)


class Marker:
    """A pickle that, if ever unpickled, creates ``path`` (the proof that code from a file ran)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_snapshot_round_trip_and_every_damage_named(tmp_path):
    path = tmp_path / "snap"
    meta = {"agent": "a", "env": "e", "version": "0", "config": {"x": 1}, "step": 3}
    write_snapshot(path, meta, {"model.pt": torch_bytes({"w": torch.ones(2)})})
    snap = read_model(path)
    assert snap.meta == meta and snap.step == 3 and torch.equal(snap.torch()["w"], torch.ones(2))
    write_snapshot(path, {**meta, "step": 4}, {"model.pt": torch_bytes({"w": torch.zeros(2)})})  # replaced whole
    assert read_model(path).step == 4 and not list(tmp_path.glob(".snap.*"))

    def refused(damage, *needles):
        write_snapshot(path, meta, {"model.pt": torch_bytes({"w": torch.ones(2)})})
        damage(path)
        with pytest.raises(CheckpointError) as err:
            read_model(path).torch()
        assert "\n" not in str(err.value)
        for needle in needles:
            assert needle in str(err.value), str(err.value)

    data = (path / "model.pt").read_bytes()
    refused(lambda p: (p / "model.pt").write_bytes(data[: len(data) // 2]), "model.pt", "truncated")
    refused(lambda p: (p / "model.pt").write_bytes(b""), "model.pt", "0 bytes")
    refused(lambda p: (p / "model.pt").unlink(), "model.pt", "missing")
    refused(lambda p: (p / MANIFEST_FILE).unlink(), MANIFEST_FILE, "missing")
    refused(lambda p: (p / MANIFEST_FILE).write_text("{"), MANIFEST_FILE, "invalid JSON")
    refused(lambda p: ((p / "meta.json").write_text("[1, 2]"), reseal(p)), "meta.json", "expected an object")
    refused(lambda p: ((p / "meta.json").write_text("{nope"), reseal(p)), "meta.json", "invalid JSON")
    refused(lambda p: edit_meta(p, lambda m: {k: v for k, v in m.items() if k != "agent"}), "meta.json", "agent")
    refused(lambda p: ((p / "model.pt").write_bytes(b"x" * len(data))), "model.pt", "sha256")
    refused(lambda p: ((p / "model.pt").write_bytes(pickle.dumps(Marker(tmp_path / "pwned"))), reseal(p)),
            "model.pt", "expected a state_dict")
    assert not (tmp_path / "pwned").exists()


def test_a_swap_cut_between_its_renames_leaves_a_whole_snapshot(tmp_path, monkeypatch):
    run = tmp_path / "run"
    path = run / MODEL_DIR
    meta = {"agent": "a", "env": "e", "version": "0", "config": {}, "step": 1}
    write_snapshot(path, meta, {"model.pt": torch_bytes({"w": torch.ones(1)})})
    real_rename, calls = os.rename, []

    def crash_on_second(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies between moving the old one aside and the new one in
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        write_snapshot(path, {**meta, "step": 2}, {"model.pt": torch_bytes({"w": torch.zeros(1)})})
    monkeypatch.undo()
    assert not path.exists() and locate(path) != path
    assert read_model(run).step == 2  # the complete new one is found
    write_snapshot(path, {**meta, "step": 3}, {"model.pt": torch_bytes({"w": torch.zeros(1)})})
    assert read_model(run).step == 3 and not [p for p in run.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("damage", "needles"), [
    ("truncate", ("model.pt", "truncated")),
    ("empty", ("model.pt", "0 bytes")),
    ("missing", ("model.pt", "missing")),
    ("meta_list", ("meta.json", "expected an object")),
    ("no_agent", ("meta.json", "agent")),
    ("extra_config", ("meta.json", "config does not fit madqn", "bogus")),
    ("hidden", ("model.pt", "weights do not fit")),
    ("other_learner", ("model.pt", "weights do not fit")),
    ("invalid_json", ("meta.json", "invalid JSON")),
])
def test_evaluate_refuses_a_damaged_run_in_one_line(madqn_run, tmp_path, damage, needles):
    run = copy_run(madqn_run, tmp_path / "run")
    model = run / MODEL_DIR
    pt = model / "model.pt"
    if damage == "truncate":
        pt.write_bytes(pt.read_bytes()[:100])
    elif damage == "empty":
        pt.write_bytes(b"")
    elif damage == "missing":
        pt.unlink()
    elif damage == "meta_list":
        (model / "meta.json").write_text("[1, 2]")
        reseal(model)
    elif damage == "no_agent":
        edit_meta(model, lambda m: {k: v for k, v in m.items() if k != "agent"})
    elif damage == "extra_config":
        edit_meta(model, lambda m: {**m, "config": {**m["config"], "bogus": 1}})
    elif damage == "hidden":
        edit_meta(model, lambda m: {**m, "config": {**m["config"], "hidden": m["config"]["hidden"] * 2}})
    elif damage == "other_learner":
        pt.write_bytes(torch_bytes({"policy": {"w": torch.ones(1)}}))
        reseal(model)
    elif damage == "invalid_json":
        (model / "meta.json").write_text("{\"agent\": ")
        reseal(model)
    out = cli("evaluate.py", "offload_routing", "--checkpoint", str(run), "--scenario", "tiny", "--seeds", "1",
              "--out", str(tmp_path / "ev"), "--no-progress")
    one_line_error(out, *needles)
    assert not (tmp_path / "ev").exists()  # refused before any work


def test_a_malicious_pickle_in_every_file_never_runs(madqn_run, tmp_path):
    """Every file of both snapshots replaced by a pickle that would create a marker file, manifests resealed:
    whoever reads it (evaluate and the leaderboard model/, train --resume checkpoint/) refuses with one line
    naming it, and the marker never appears."""
    marker = tmp_path / "MARKER"
    evil = {".pt": torch_bytes({"x": Marker(marker)}),  # a torch zip whose data.pkl reduces to os.system
            ".npz": pickle.dumps(Marker(marker)), ".json": pickle.dumps(Marker(marker))}
    targets = [(sub, f.name) for sub in (MODEL_DIR, CHECKPOINT_DIR) for f in sorted((madqn_run / sub).iterdir())
               if f.name != MANIFEST_FILE]
    assert {("model", "model.pt"), ("checkpoint", "learner.pt"), ("checkpoint", "replay.npz")} <= set(targets)
    for sub, name in targets:
        runs = tmp_path / f"{sub}-{name}"
        run = copy_run(madqn_run, runs / "madqn")
        (run / sub / name).write_bytes(evil[Path(name).suffix])
        reseal(run / sub)
        if sub == MODEL_DIR:  # what evaluate.py and the leaderboard load
            readers = [cli("evaluate.py", "offload_routing", "--checkpoint", str(run), "--scenario", "tiny",
                           "--seeds", "1", "--out", str(runs / "ev"), "--no-progress"),
                       cli("benchmarks/leaderboard.py", "--smoke", "--checkpoints", str(runs), "--out",
                           str(runs / "lb"))]
        else:  # what --resume loads
            readers = [cli("train.py", *MADQN_TINY, "--steps", "400", "--out", str(run), "--resume")]
        assert not marker.exists(), (sub, name)
        for r in readers:
            one_line_error(r, name)
    assert not marker.exists()


def test_resume_checks_the_run(madqn_run, tmp_path):
    run = copy_run(madqn_run, tmp_path / "run")
    meta_before = (run / MODEL_DIR / "meta.json").read_bytes()
    one_line_error(cli("train.py", "aggregation", "double_dqn", "--scenario", "tiny", "--out", str(run), "--resume",
                       "--no-progress"), "'madqn' run, not 'double_dqn'")
    one_line_error(cli("train.py", *MADQN_TINY, "--seed", "7", "--out", str(run), "--resume"), "seed is 7")
    one_line_error(cli("train.py", "offload_routing", "madqn", "--scenario", "iridium", "--no-randomize",
                       "--out", str(run), "--resume", "--no-progress"), "scenario is 'iridium'")
    one_line_error(cli("train.py", *MADQN_TINY, "--out", str(tmp_path / "fresh"), "--resume"), "no checkpoint")
    assert not (tmp_path / "fresh").exists()
    one_line_error(cli("train.py", *MADQN_TINY, "--seed", "-1", "--out", str(tmp_path / "neg")), "--seed")
    one_line_error(cli("train.py", "offload_routing", "madqn", "--scenario", "huge", "--out", str(tmp_path / "s")),
                   "scenario", "huge")
    assert not (tmp_path / "s").exists()  # bad arguments leave nothing behind
    (tmp_path / "file").write_text("")
    one_line_error(cli("train.py", *MADQN_TINY, "--steps", "10", "--out", str(tmp_path / "file")), "--out")
    one_line_error(cli("evaluate.py", "offload_routing", "--agents", "full_local", "--scenario", "tiny",
                       "--out", "/proc/nope"), "--out /proc/nope")
    assert (run / MODEL_DIR / "meta.json").read_bytes() == meta_before  # refused resumes changed nothing
    # without --scenario / --seed a resume takes the run's, and goes on
    out = cli("train.py", "offload_routing", "madqn", "--no-randomize", "--steps", "400", "--out", str(run),
              "--resume", "--no-progress")
    assert out.returncode == 0, out.stderr[-2000:]
    assert read_model(run).meta["config"]["scenario"] == "tiny" and read_checkpoint(run).step >= 400


MADQN_FIELDS = {"scenario": "tiny", "steps": 1600, "randomize": False, "checkpoint_every": 400}
MADQN_SCRIPT = f"""
import sys
from pathlib import Path
from agents.madqn.config import MADQNConfig
from agents.madqn.train import train
train(MADQNConfig(**{MADQN_FIELDS!r}), Path(sys.argv[1]), resume=sys.argv[2] == "1", progress=False)
"""
DDQN_FIELDS = {"scenario": "tiny", "steps": 900, "learning_starts": 50, "hidden": 16, "checkpoint_every": 100,
               "validate_every": 5, "validation_instances": 2, "instance_episodes": 0}
DDQN_SCRIPT = f"""
import sys
from pathlib import Path
from agents.double_dqn.config import DoubleDQNConfig
from agents.double_dqn.train import train
train(DoubleDQNConfig(**{DDQN_FIELDS!r}), Path(sys.argv[1]), resume=sys.argv[2] == "1", progress=False)
"""


def timed_run(script: str, out: Path) -> float:
    """An uninterrupted run of ``script`` in a child process; its wall time (start-up included)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(out), "0"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def run_with_kills(script: str, out: Path, kills: int, rng: random.Random, window: tuple[float, float]) -> int:
    """Run ``script`` (argv: the run directory, "1" to resume) in a child process, SIGKILL it after a random
    delay ``kills`` times, each time resuming (or starting fresh while no checkpoint exists), then let it
    finish. Every child ends killed or successfully, never with an error. Returns how many resumed."""
    resumes = 0
    for attempt in range(kills + 1):
        resume = (out / CHECKPOINT_DIR).exists() or any(out.glob(f".{CHECKPOINT_DIR}.*"))
        resumes += resume
        child = subprocess.Popen([sys.executable, "-c", script, str(out), "1" if resume else "0"], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if attempt < kills:
            time.sleep(rng.uniform(*window))
            child.send_signal(signal.SIGKILL)
        _, err = child.communicate(timeout=600)
        assert child.returncode in (0, -signal.SIGKILL), err[-3000:]
    assert child.returncode == 0
    return resumes


def test_killed_madqn_resumes_bit_for_bit(tmp_path):
    """Checkpoints at both episode ends; each child is killed at a random moment in 35-85% of an uninterrupted
    run's time, so kills land in start-up, training and checkpoint writes alike."""
    full = timed_run(MADQN_SCRIPT, tmp_path / "full")
    resumes = run_with_kills(MADQN_SCRIPT, tmp_path / "cut", kills=5, rng=random.Random(1),
                             window=(0.35 * full, 0.85 * full))
    assert resumes >= 2
    a, b = read_model(tmp_path / "cut").torch(), read_model(tmp_path / "full").torch()
    assert all(torch.equal(a["online"][p], b["online"][p]) for p in b["online"])
    assert (tmp_path / "cut" / "progress.csv").read_text() == (tmp_path / "full" / "progress.csv").read_text()


def test_killed_double_dqn_resumes_bit_for_bit(tmp_path):
    """Double DQN (SB3) checkpoints every 100 steps here; its resume state has no pickle."""
    full = timed_run(DDQN_SCRIPT, tmp_path / "full")
    out = tmp_path / "cut"
    assert run_with_kills(DDQN_SCRIPT, out, kills=4, rng=random.Random(2), window=(0.35 * full, 0.85 * full)) >= 2
    a, b = read_model(out).torch()["policy"], read_model(tmp_path / "full").torch()["policy"]
    assert all(torch.equal(a[k], b[k]) for k in b)
    rows = [r.split(",") for r in (out / "progress.csv").read_text().splitlines()]
    col = rows[0].index("time/total_timesteps")
    logged = [int(float(r[col])) for r in rows[1:]]
    assert logged == sorted(logged) and len(logged) == len(set(logged))  # rewound: no row twice
