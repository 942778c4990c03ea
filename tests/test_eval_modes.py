"""Evaluation as each library evaluates: a learner whose policy can act greedily or by sampling is played
both ways; the mode that scores best on validation seeds (never the evaluation seeds) heads its row and the
other is reported beside it; sampled actions are masked and replayable from the episode seed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_registry import SCENARIOS, BestConstantConfig, GuessEnv, toy_spec, train_best_constant

import evaluate
from agents.common import VALIDATION_SEED_BASE
from agents.policy import masked_actions
from agents.registry import load_policy
from agents.specs import SPECS, LearnerSpec


def test_masked_actions_never_pick_a_masked_action_and_replay_from_the_seed():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 7)) * 3
    allowed = rng.random((500, 7)) < 0.4
    allowed[:10] = False  # nothing to decide: action 0
    for mode in ("greedy", "sampled"):
        a = masked_actions(logits, allowed, mode, np.random.default_rng(1))
        assert np.all(allowed[np.arange(500), a] | ~allowed.any(axis=1)) and np.all(a[:10] == 0)
    greedy = masked_actions(logits, allowed, "greedy")
    assert np.array_equal(greedy[10:], np.where(allowed, logits, -np.inf).argmax(axis=1)[10:])
    again = [masked_actions(logits, allowed, "sampled", np.random.default_rng(5)) for _ in range(2)]
    assert np.array_equal(*again)
    # a draw follows the softmax over the allowed logits
    row_logits, row_mask = np.array([[0.0, 1.0, 2.0, 5.0]]), np.array([[True, True, True, False]])
    draws = masked_actions(np.repeat(row_logits, 20_000, 0), np.repeat(row_mask, 20_000, 0), "sampled",
                           np.random.default_rng(2))
    p = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    assert np.allclose(np.bincount(draws, minlength=4)[:3] / 20_000, p, atol=0.015)
    assert not np.any(draws == 3)
    with pytest.raises(ValueError, match="mode"):
        masked_actions(logits, allowed, "argmax")


class GuessPolicy:
    """Plays the bit its weights learned (greedy) or a fair coin (sampled), seeded by reset."""

    name = "best_constant"

    def __init__(self, action: int, mode: str):
        self.action, self.mode, self.rng = action, mode, np.random.default_rng(0)

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)

    def act(self, observation):
        return self.action if self.mode == "greedy" else int(self.rng.integers(2))


def load_guess(env, weights: dict, cfg: BestConstantConfig, mode: str) -> GuessPolicy:
    return GuessPolicy(int(weights["action"]), mode)


@pytest.fixture
def two_mode_toy(monkeypatch):
    spec = toy_spec([])
    learner = LearnerSpec(name="best_constant", config=BestConstantConfig, train=train_best_constant,
                          policy=load_guess, eval_modes=("sampled", "greedy"))
    monkeypatch.setitem(SPECS, "toy", replace(spec, learners=(learner,)))


def test_a_two_mode_learner_is_evaluated_both_ways_headed_by_its_validation_choice(two_mode_toy, tmp_path):
    run = tmp_path / "best"
    train_best_constant(BestConstantConfig(steps=200), run)
    out = tmp_path / "ev"
    assert evaluate.main(["toy", "--checkpoint", str(run), "--seeds", "4", "--out", str(out), "--no-progress",
                          "--validation-episodes", "3"]) == 0
    report = json.loads((out / "toy-tiny.json").read_text())
    # on "tiny" ones come with p = 0.8: greedy (always one) beats a fair coin on the validation seeds
    assert list(report["agents"]) == ["best_constant", "best_constant (sampled)"]
    head, other = (report["meta"]["agents"][n] for n in report["agents"])
    assert head["eval_mode"] == "greedy" and other["eval_mode"] == "sampled"
    assert head["learner"] == other["learner"] == "best_constant"
    assert head["validation_seeds"] == [VALIDATION_SEED_BASE + i for i in range(3)]
    assert head["validation"]["greedy"] > head["validation"]["sampled"]
    assert report["agents"]["best_constant"]["hit_rate"]["mean"] > report["agents"]["best_constant (sampled)"][
        "hit_rate"]["mean"]
    # one mode on request, and a mode the learner lacks is refused naming its modes
    assert evaluate.main(["toy", "--checkpoint", str(run), "--seeds", "2", "--out", str(tmp_path / "s"),
                          "--no-progress", "--eval-mode", "sampled"]) == 0
    only = json.loads((tmp_path / "s" / "toy-tiny.json").read_text())
    assert list(only["agents"]) == ["best_constant"] and only["meta"]["agents"]["best_constant"]["validation"] == {}
    sampled = report["agents"]["best_constant (sampled)"]["hit_rate"]["per_seed"][:2]
    assert only["agents"]["best_constant"]["hit_rate"]["per_seed"] == sampled  # the same seeded draws
    with pytest.raises(ValueError, match="plays"):
        load_policy(run, GuessEnv(SCENARIOS["tiny"]), "epsilon")


def test_leaderboard_rows_of_both_modes_carry_the_training_record(two_mode_toy, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import leaderboard

    train_best_constant(BestConstantConfig(steps=60), tmp_path / "best")
    rows = leaderboard.collect_rows(2, tmp_path, envs=["toy"])
    learned = [r for r in rows if r["agent"].startswith("best_constant") and r["scenario"] == "tiny"]
    assert {r["agent"] for r in learned} == {"best_constant", "best_constant (sampled)"}
    assert {r["train_steps"] for r in learned} == {60}
