"""The lower bound on offload_routing_v3's mean_task_cost_s (leo_envs.envs.offload_routing.bound): no baseline
beats it on any task, a policy playing its per-task schedules reaches it exactly when tasks never meet, and
it refuses what it does not support."""

from __future__ import annotations

import numpy as np
import pytest

from agents.specs import get_spec
from leo_envs import offload_routing_v3
from leo_envs.envs.offload_routing import COMPUTE, FIRST_PORT, FIRST_RATIO, HOLD, LowerBound, lower_bound
from leo_envs.envs.offload_routing.bound import TaskSchedule, isolated_schedules

SPEC = get_spec("offload_routing")
ISL_FAULTS = {"isl_mtbf_s": 10.0, "isl_mttr_s": 5.0}


class IsolatedOracle:
    """Plays ``isolated_schedules``: splits each task at its level, sends each hop at its slot (holding until
    then), computes at the planned C-Sat on arrival. It reads the simulator's heads to know which task each
    satellite decides for."""

    name = "isolated_oracle"

    def __init__(self, env, schedules: list[TaskSchedule]):
        self.env, self.sim = env, env.sim
        self.level = np.array([s.level for s in schedules])
        self.csat = np.array([s.csat for s in schedules])
        self.sends = [{node: (port, slot) for node, port, slot in s.hops} for s in schedules]

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: dict) -> dict:
        state, now = self.sim.state, self.sim.steps
        actions = np.full(self.sim.n, HOLD)
        splitting = np.flatnonzero(state.head_task >= 0)
        actions[splitting] = FIRST_RATIO + self.level[state.head_task[splitting]]
        for node in np.flatnonzero((state.head_bundle >= 0) & (state.head_task < 0)):
            task = state.bundles.task[state.head_bundle[node]]
            if node == self.csat[task]:
                actions[node] = COMPUTE
            elif node in self.sends[task] and now >= self.sends[task][node][1]:
                actions[node] = FIRST_PORT + self.sends[task][node][0]
        return {agent: int(actions[self.env.agent_index[agent]]) for agent in observations}


def play(env, policy, seed: int) -> dict:
    info, _ = SPEC.run_episode(env, policy, seed)
    return info


def achieved(env, bound: LowerBound) -> np.ndarray:
    """What each task the bound scores cost in the episode just played."""
    return env.sim.task_costs()[bound.task_index]


@pytest.mark.parametrize("seed", [0, 1000])
def test_no_baseline_beats_the_bound_on_any_task(seed):
    env = offload_routing_v3.parallel_env("tiny")
    first = None
    on_bound = 0
    for name in SPEC.baselines:
        info = play(env, SPEC.baseline(name, env, seed=0), seed)
        bound = lower_bound(env)
        if first is None:
            first = bound
        # the tasks do not depend on the policy, so neither does the bound
        np.testing.assert_array_equal(bound.task_cost_s, first.task_cost_s)
        assert bound.n_tasks == info["scored_tasks"] > 100
        assert info["mean_task_cost_s"] >= bound.mean_task_cost_s, name
        cost = achieved(env, bound)
        assert np.all(cost >= bound.task_cost_s), (name, np.min(cost - bound.task_cost_s))
        on_bound += int(np.count_nonzero(cost == bound.task_cost_s))
    assert on_bound > 0  # reached by some tasks: the bound is not loose everywhere
    assert 0.5 < first.mean_task_cost_s < 1.0


def test_bound_holds_under_satellite_and_isl_faults():
    env = offload_routing_v3.parallel_env("tiny", sat_mtbf_s=100.0, sat_mttr_s=10.0, **ISL_FAULTS)
    for name in ("full_offload", "congestion_aware"):
        info = play(env, SPEC.baseline(name, env, seed=0), 0)
        bound = lower_bound(env)
        assert info["drops_by_reason"]["sat_failure"] > 0 and env.sim.counts["rerouted_bundles"] > 0
        assert np.all(achieved(env, bound) >= bound.task_cost_s), name
        assert info["mean_task_cost_s"] >= bound.mean_task_cost_s


@pytest.mark.parametrize(("scenario", "seed", "overrides"), [
    ("tiny", 2, {"task_rate_hz": 0.02}),
    ("tiny", 2, {"task_rate_hz": 0.02, **ISL_FAULTS}),  # a task holds at its origin for a later slot
    ("iridium", 2, {"task_rate_hz": 0.01}),
    ("iridium", 2, {"task_rate_hz": 0.01, "isl_mtbf_s": 20.0, "isl_mttr_s": 10.0}),  # detours of up to 4 hops
])
def test_the_oracle_reaches_the_bound_on_every_task_when_tasks_never_meet(scenario, seed, overrides):
    env = offload_routing_v3.parallel_env(scenario, **overrides)
    play(env, SPEC.baseline("full_local", env, seed=0), seed)  # any policy: the episode's tasks
    bound = lower_bound(env)
    schedules = isolated_schedules(env)
    info = play(env, IsolatedOracle(env, schedules), seed)
    assert info["masked_actions_total"] == 0
    assert bound.n_tasks == info["scored_tasks"] > 5
    np.testing.assert_array_equal(achieved(env, bound), bound.task_cost_s)
    assert info["mean_task_cost_s"] == bound.mean_task_cost_s
    assert any(len(schedules[i].hops) >= 1 for i in bound.task_index)


def test_refusals():
    env = offload_routing_v3.parallel_env("tiny", max_cycles=30)
    with pytest.raises(ValueError, match="has not been reset"):
        lower_bound(env)
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, HOLD))
    with pytest.raises(ValueError, match=r"episode has not ended \(slot 1 of max_cycles=30\)"):
        lower_bound(env)
    with pytest.raises(ValueError, match="has not ended"):
        isolated_schedules(env)
    spread = offload_routing_v3.parallel_env("tiny", max_cycles=3, task_bits_spread=0.1)
    play(spread, SPEC.baseline("full_local", spread, seed=0), 0)
    with pytest.raises(ValueError, match=r"task_bits_spread: 0\.1 is not supported .* task_bits_spread=0\.0"):
        lower_bound(spread)
    with pytest.raises(TypeError, match="offload_routing_v3 ParallelEnv"):
        lower_bound(object())


def test_no_scored_tasks_gives_zero_like_the_metric():
    env = offload_routing_v3.parallel_env("tiny", max_cycles=30)  # 1.5 s: no task is a TTL old
    info = play(env, SPEC.baseline("full_local", env, seed=0), 0)
    bound = lower_bound(env)
    assert bound.n_tasks == info["scored_tasks"] == 0
    assert bound.mean_task_cost_s == info["mean_task_cost_s"] == 0.0
    assert bound.task_cost_s.shape == (0,)
