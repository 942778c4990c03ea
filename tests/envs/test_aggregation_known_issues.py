"""Known defects of Aggregation-v1, pinned by strict xfail tests: each fails today for the stated reason, and the
fix (a new env version) turns it into a pass, which strict mode reports, so the marker has to go with the fix."""

from __future__ import annotations

import numpy as np
import pytest

from agents.specs import get_spec

STALLING = ("Aggregation-v1's EDR ignores businesses left unassigned: assigning two and then playing masked actions "
            "until truncation scores 26.7M J/s on tiny seed 1000, twice milp_optimal's 13.0M (net energy saved / "
            "max(delay added, 1 ms); a satellite kept awake finishes its own work before the others, so stalling adds "
            "no delay), and its return (1.86) beats milp_optimal's (1.30) despite the masked-action charges. Needs a "
            "metric and a return that charge unassigned work, in a new version.")


def play(env, act, seed: int = 1000) -> tuple[float, dict]:
    obs, _ = env.reset(seed=seed)
    done, step, ret, info = False, 0, 0.0, {}
    while not done:
        obs, reward, terminated, truncated, info = env.step(act(obs, step))
        done, step, ret = terminated or truncated, step + 1, ret + reward
    return ret, info


def optimum_and_stall() -> tuple[tuple[float, dict], tuple[float, dict]]:
    """(return, final info) of milp_optimal and of the stalling policy on tiny seed 1000."""
    spec = get_spec("aggregation")
    env = spec.make("tiny")
    milp = spec.baseline("milp_optimal", env, seed=0)
    milp.reset(1000)
    plan = [0, 2]  # the first sender's two businesses, then nothing but masked actions
    stall = play(env, lambda obs, k: plan[k] if k < len(plan) else int(np.flatnonzero(obs["action_mask"] == 0)[0]))
    return play(env, lambda obs, k: milp.act(obs)), stall


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=STALLING)
def test_leaving_businesses_unassigned_does_not_beat_the_milp_optimum_on_the_metric():
    (_, optimum), (_, stalled) = optimum_and_stall()
    assert stalled["unassigned"] > 0 and stalled["masked_actions"] > 0
    assert stalled["edr_j_per_s"] <= optimum["edr_j_per_s"]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=STALLING)
def test_leaving_businesses_unassigned_does_not_beat_the_milp_optimum_on_the_return():
    (optimum_return, _), (stalled_return, stalled) = optimum_and_stall()
    assert stalled["unassigned"] > 0 and stalled["masked_actions"] > 0
    assert stalled_return <= optimum_return
