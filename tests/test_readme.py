import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_core_example_runs_and_prints_what_it_says():
    text = README.read_text()
    code = re.search(r"## Core example\s+```python\n(.*?)```", text, re.S).group(1)
    promised = re.search(r"prints `(.*?)`", text).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == promised


def test_readme_quick_start_is_the_two_make_commands():
    block = re.search(r"## Quick start.*?```\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make reproduce", "make test"]


def test_the_main_jobs_script_starts_from_anywhere(tmp_path):
    """``make reproduce`` runs reproduce.py, which imports the leaderboard module as ``benchmarks.leaderboard``
    (a module that also runs as a script): its imports must work both ways, whatever the working directory."""
    root = README.parent
    out = subprocess.run([sys.executable, str(root / "reproduce.py"), "--help"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage: reproduce.py" in out.stdout


def test_readme_tle_training_example_is_three_lines_that_train(tmp_path):
    """The README's MADQN-on-TLE example, run from the repo root with a smaller budget and run dir."""
    text = README.read_text()
    code = re.search(r"### On a real constellation \(TLE\).*?```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) == 3
    assert "steps=20_000" in code and 'out="runs/madqn-iridium-tle"' in code
    code = code.replace("steps=20_000", "steps=300, learning_starts=100, checkpoint_every=200").replace(
        '"runs/madqn-iridium-tle"', repr(str(tmp_path / "run")))
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", code], cwd=README.parent, check=True, capture_output=True, env=env)
    meta = __import__("json").loads((tmp_path / "run" / "model" / "meta.json").read_text())
    assert meta["config"]["constellation"] == "tests/data/tle/iridium.tle" and meta["step"] == 300
