"""Known defects of Aggregation-v1, pinned by strict xfail tests: each fails today for the stated reason, and the
fix (a new env version) turns it into a pass, which strict mode reports, so the marker has to go with the fix."""

from __future__ import annotations

import numpy as np
import pytest

from agents.specs import get_spec


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="Aggregation-v1's EDR ignores businesses left unassigned: assigning two and then playing "
                          "masked actions until truncation scores 26.7M J/s on tiny seed 1000, twice milp_optimal's "
                          "13.0M (net energy saved / max(delay added, 1 ms); a satellite kept awake finishes its own "
                          "work before the others, so stalling adds no delay). Needs a metric that charges unassigned "
                          "work, in a new version.")
def test_leaving_businesses_unassigned_does_not_beat_the_milp_optimum():
    spec = get_spec("aggregation")
    env = spec.make("tiny")
    optimum = spec.run_episode(env, spec.baseline("milp_optimal", env, seed=0), 1000)[0]["edr_j_per_s"]
    obs, _ = env.reset(seed=1000)
    plan = [0, 2]  # the first sender's two businesses, then nothing but masked actions
    done, step, info = False, 0, {}
    while not done:
        masked = np.flatnonzero(obs["action_mask"] == 0)
        action = plan[step] if step < len(plan) else int(masked[0])
        obs, _, terminated, truncated, info = env.step(action)
        done, step = terminated or truncated, step + 1
    assert info["unassigned"] > 0 and info["masked_actions"] > 0
    assert info["edr_j_per_s"] <= optimum
