"""The env registry (agents/specs): a third env is one spec. A toy Gymnasium env defined here, with two
baselines (one of them the optimum) and a learner, goes through train.py, evaluate.py, the leaderboard and
calibration by being inserted into SPECS, and no script dispatches on an env's or a learner's name."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agents.checkpoint import MODEL_DIR, WEIGHTS_FILE, read_model, torch_bytes, write_snapshot
from agents.registry import load_policy, make_baseline, train_learner
from agents.specs import SPECS, EnvSpec, LearnerSpec, get_spec
from agents.specs.base import mean_halfwidth, play_gym, run_gym_episode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import calibration  # noqa: E402

import evaluate  # noqa: E402
import leaderboard  # noqa: E402
import train  # noqa: E402


class GuessEnv(gym.Env):
    """Guess a hidden bit ``length`` times; the bit is 1 with probability ``p_one``. Info at the end:
    ``hit_rate`` (primary, higher is better) and ``misses``."""

    metadata = {"render_modes": []}

    def __init__(self, p_one: float = 0.8, length: int = 5):
        self.p_one, self.length = p_one, length
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.hits = 0, 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        bit = int(self.np_random.random() < self.p_one)
        self.hits += int(action) == bit
        self.t += 1
        done = self.t >= self.length
        info = {"hit_rate": self.hits / self.t, "misses": float(self.t - self.hits)}
        return np.full(1, self.t / self.length, np.float32), float(int(action) == bit), done, False, info


SCENARIOS = {"tiny": 0.8, "fair": 0.5}


class ConstantPolicy:
    def __init__(self, name: str, action: int):
        self.name, self.action = name, action

    def reset(self, seed=None):
        pass

    def act(self, observation):
        return self.action


def make_toy_baseline(name: str, env, seed: int = 0):
    return ConstantPolicy(name, {"always_zero": 0, "always_one": 1}[name])


@dataclass
class BestConstantConfig:
    seed: int = 0
    scenario: str = "tiny"
    steps: int = 50


def train_best_constant(cfg: BestConstantConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """A learner: counts ones over ``cfg.steps`` guesses, keeps the likelier bit as its action."""
    import torch

    env = GuessEnv(SCENARIOS[cfg.scenario], length=cfg.steps)
    env.reset(seed=cfg.seed)
    ones = sum(int(env.step(1)[1]) for _ in range(cfg.steps))
    write_snapshot(out / MODEL_DIR, {"agent": "best_constant", "env": "toy", "version": "test", "config": vars(cfg),
                                     "step": cfg.steps},
                   {WEIGHTS_FILE: torch_bytes({"action": torch.tensor(int(2 * ones >= cfg.steps))})})
    return {"step": cfg.steps}


def load_best_constant(env, weights: dict, cfg: BestConstantConfig) -> ConstantPolicy:
    return ConstantPolicy("best_constant", int(weights["action"]))


def calibrate_toy(seeds: int, scenario: str | None = None) -> str:
    env, policy = GuessEnv(SCENARIOS[scenario or "tiny"]), make_toy_baseline("always_one", None)
    mean, half = mean_halfwidth([play_gym(env, policy, s)["hit_rate"] for s in range(seeds)])
    return f"| toy | always_one | {mean:.3f} +- {half:.3f} |"


def toy_spec(runs_seen: list) -> EnvSpec:
    def checkpoints(scenario: str, runs: Path) -> list[Path]:
        runs_seen.append(scenario)
        return [runs / "best"] if (runs / "best").is_dir() else []

    def hit_plot(report: dict, per_task: dict, out: Path, stem: str) -> Path:
        path = out / f"{stem}-agents.txt"
        path.write_text(",".join(report["agents"]))
        return path

    return EnvSpec(
        name="toy", api="gymnasium", ids=(), make=lambda scenario: GuessEnv(SCENARIOS[scenario]),
        scenarios=tuple(SCENARIOS), default_scenario="tiny", test_scenario="tiny",
        primary_metric="hit_rate", better="higher", metrics=("hit_rate", "misses"), side_metrics=("misses",),
        baselines=("always_zero", "always_one"), make_baseline=make_toy_baseline, run_episode=run_gym_episode,
        learners=(LearnerSpec(name="best_constant", config=BestConstantConfig, train=train_best_constant,
                              policy=load_best_constant, full_budget=lambda scenario: 80),),
        reference_baseline="always_one", extra_plots=(hit_plot,), leaderboard_checkpoints=checkpoints,
        leaderboard_runs=(("best", "best_constant", "tiny"),),
        calibrate=calibrate_toy, quality_scenario="tiny", quality_targets=("always_zero", "always_one"))


@pytest.fixture
def toy(monkeypatch):
    """The toy spec inserted into SPECS for one test; yields the scenarios the leaderboard asked it about."""
    asked: list = []
    monkeypatch.setitem(SPECS, "toy", toy_spec(asked))
    return asked


def test_a_third_env_is_one_spec(toy, tmp_path, capsys, monkeypatch):
    # train.py trains its learner and evaluate.py loads the checkpoint through the learner table
    assert train.main(["toy", "best_constant", "--out", str(tmp_path / "runs" / "best"), "--no-progress"]) == 0
    assert isinstance(load_policy(tmp_path / "runs" / "best", GuessEnv()), ConstantPolicy)
    assert evaluate.main(["toy", "--agents", "all", "--checkpoint", str(tmp_path / "runs" / "best"), "--seeds",
                          "3", "--out", str(tmp_path / "ev"), "--no-progress"]) == 0
    report = json.loads((tmp_path / "ev" / "toy-tiny.json").read_text())
    assert report["env"] == "toy" and set(report["agents"]) == {"always_zero", "always_one", "best_constant"}
    ones = report["agents"]["always_one"]
    assert set(ones) == {"hit_rate", "misses", "optimality_gap"} and len(ones["hit_rate"]["per_seed"]) == 3
    assert ones["optimality_gap"]["per_seed"] == [0.0] * 3  # the reference baseline is its own optimum
    assert report["agents"]["always_zero"]["optimality_gap"]["mean"] > 0
    assert report["agents"]["best_constant"] == ones  # it learned that ones are likelier on "tiny"
    assert (tmp_path / "ev" / "toy-tiny-agents.txt").read_text() == "always_zero,always_one,best_constant"
    assert (tmp_path / "ev" / "toy-tiny-hit_rate.png").stat().st_size > 1000
    assert "| always_one |" in (tmp_path / "ev" / "toy-tiny.md").read_text()

    # the leaderboard trains the runs the spec expects only where missing
    before = (tmp_path / "runs" / "best" / "model" / "manifest.json").read_bytes()
    assert leaderboard.train_runs(tmp_path / "runs", "quick", envs=["toy"], missing_only=True) == {}
    assert list(leaderboard.train_runs(tmp_path / "fresh", "quick", envs=["toy"], missing_only=True)) == ["best"]
    assert read_model(tmp_path / "fresh" / "best").meta["step"] == 50  # the learner's quick budget
    leaderboard.train_runs(tmp_path / "full", "full", envs=["toy"])
    assert read_model(tmp_path / "full" / "best").meta["step"] == 80  # and its full one
    assert (tmp_path / "runs" / "best" / "model" / "manifest.json").read_bytes() == before
    # the leaderboard's loop: every scenario of the spec, ranked on its metric, the spec's side column
    rows = leaderboard.collect_rows(2, tmp_path / "runs", envs=["toy"])
    assert toy == ["tiny", "fair"] and {r["scenario"] for r in rows} == {"tiny", "fair"}
    tiny = [r for r in rows if r["scenario"] == "tiny"]
    assert [r["agent"] for r in tiny][-1] == "always_zero" and tiny[0]["better"] == "higher"
    assert {r["train_steps"] for r in tiny if r["agent"] == "best_constant"} == {50}
    # a checkpoint's rows are reused from its run directory while its weights stand; the baselines are evaluated
    played, real_evaluate = [], evaluate.evaluate

    def recording(env_name, agents, checkpoints, *args, **kwargs):
        played.append(list(checkpoints))
        return real_evaluate(env_name, agents, checkpoints, *args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate", recording)
    assert leaderboard.collect_rows(2, tmp_path / "runs", envs=["toy"]) == rows
    assert played == [[], []]  # two scenarios, no checkpoint evaluated again
    bounds = leaderboard.scenario_bounds(rows)
    assert set(bounds) == {"toy/tiny", "toy/fair"}  # its reference baseline's values: every row gets a gap
    leaderboard.write_outputs(leaderboard.with_bounds(rows, bounds), tmp_path / "lb", 0.0, bounds)
    leaderboard.validate(tmp_path / "lb")
    md = (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert "## toy (hit_rate, higher is better)" in md and "| misses |" in md
    assert "misses" in leaderboard.columns()

    # calibration: the hook's table
    capsys.readouterr()
    calibration.main(["--env", "toy", "--seeds", "2"])
    assert capsys.readouterr().out.startswith("| toy | always_one |")


def test_registry_errors_name_the_choices(toy, tmp_path):
    with pytest.raises(ValueError, match="offload_routing"):
        get_spec("teleport")
    with pytest.raises(ValueError, match="always_one"):
        make_baseline("toy", "teleport", GuessEnv())
    with pytest.raises(ValueError, match="best_constant"):
        train_learner("toy", "madqn", tmp_path, scenario=None, steps=None, seed=0, resume=False)
    write_snapshot(tmp_path / MODEL_DIR, {"agent": "teleport", "env": "toy", "version": "test", "config": {},
                                          "step": 0}, {})
    with pytest.raises(ValueError, match="teleport"):
        load_policy(tmp_path, GuessEnv())
    train_learner("toy", "best_constant", tmp_path / "r", scenario="fair", steps=7, seed=1, resume=False,
                  randomize=False)  # an option the learner does not take is ignored
    meta = read_model(tmp_path / "r").meta
    assert meta["config"] == {"seed": 1, "scenario": "fair", "steps": 7}
    assert int(read_model(tmp_path / "r").torch()["action"]) in (0, 1)


def test_spec_rejects_inconsistent_fields():
    spec = toy_spec([])
    fields = {f: getattr(spec, f) for f in spec.__dataclass_fields__ if f != "learner_table"}
    for bad, match in (({"better": "more"}, "better"), ({"primary_metric": "score"}, "primary metric"),
                       ({"default_scenario": "huge"}, "scenario"), ({"reference_baseline": "oracle"}, "reference"),
                       ({"leaderboard_runs": (("x", "madqn", "tiny"),)}, "leaderboard run")):
        with pytest.raises(ValueError, match=match):
            EnvSpec(**{**fields, **bad})


def test_registered_specs_are_consistent():
    import leo_envs

    for name, spec in SPECS.items():
        assert spec.name == name
        assert list(spec.scenarios) == leo_envs.scenarios()[name]
        env = spec.make(spec.test_scenario)
        policy = spec.baseline(spec.baselines[0], env)
        info, _ = spec.run_episode(env, policy, 0)
        assert set(spec.metrics) <= set(info)
        assert spec.learners and all(lr.name for lr in spec.learners)


# what the scripts must not do: choose behaviour by comparing with an env's or a learner's name
SCANNED = ["train.py", "evaluate.py", "reproduce.py", "agents/registry.py", *sorted(
    str(p.relative_to(ROOT)) for p in [*(ROOT / "agents" / "specs").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")])]


def dispatch_lines(text: str, names: set[str]) -> list[str]:
    name = "|".join(sorted(map(re.escape, names)))
    literal = rf"""["'](?:{name})["']"""
    patterns = [rf"\b(?:if|elif|while)\b.*(?:[=!]=|\bin\b)\s*[(\[{{]?\s*{literal}",  # if env == "aggregation"
                rf"\b(?:if|elif|while)\b.*{literal}\s*(?:[=!]=|\bin\b)",  # if "madqn" == agent
                rf"^\s*case\s+{literal}"]  # match env: case "aggregation"
    return [line for line in text.splitlines() if any(re.search(p, line) for p in patterns)]


def test_dispatch_lines_are_found():
    names = {"offload_routing", "madqn"}
    assert dispatch_lines('    if env_name == "offload_routing":', names)
    assert dispatch_lines("x = a if meta['agent'] == 'madqn' else b", names)
    assert dispatch_lines('    if args.env in ("offload_routing", "both"):', names)
    assert dispatch_lines('        case "madqn":', names)
    assert not dispatch_lines('runs / "madqn"', names)


def test_no_script_dispatches_on_an_env_name():
    names = set(SPECS) | {lr.name for spec in SPECS.values() for lr in spec.learners}
    found = {path: hits for path in SCANNED if (hits := dispatch_lines((ROOT / path).read_text(), names))}
    assert not found, found


def test_time_to_quality_loops_over_the_specs(toy, tmp_path):
    """bench_quality trains the toy learner at growing budgets until it reaches each target, and the
    BENCHMARKS.md section renders from its JSON."""
    import json

    from benchmarks import bench_quality
    from benchmarks.run_all import quality_section

    out = tmp_path / "quality.json"
    bench_quality.main(["--envs", "toy", "--seeds", "3", "--train-seeds", "2", "--out", str(out)])
    results = json.loads(out.read_text())["results"]
    assert [r["train_seed"] for r in results] == [0, 1]
    assert all(run["agent_steps"] == run["steps"] and run["eval_mode"] == "greedy"  # one agent a step
               for r in results for run in r["runs"])
    result = results[0]
    assert result["learner"] == "best_constant" and result["budget_steps"] == 50
    one = result["targets"]["always_one"]
    runs = result["runs"]
    # the first budget whose learned action is 1 reaches always_one (p(one) = 0.8): same hit rate
    assert one["reached"] is not None and one["reached"]["hit_rate"] >= one["value"]
    assert all(r["hit_rate"] < one["value"] for r in runs if r["steps"] < one["reached"]["steps"])
    assert result["targets"]["always_zero"]["reached"]["steps"] <= one["reached"]["steps"]
    table = "\n".join(quality_section(tmp_path))
    assert "| toy | tiny | best_constant | always_one (hit_rate) |" in table and "of 2 (budget 50 steps)" in table
    assert (tmp_path / "curves_toy.png").stat().st_size > 1000 and "curves_toy.png" in table
