"""The upper bound on Aggregation-v2's EDR: the model's rows hold at every outcome the env produces (so no
policy can beat it), it is met by the optimum where the MILP proves it, and every agent, degenerate ones
included, stays below it."""

import numpy as np
import pytest

from agents.baselines import make_aggregation_baseline
from leo_envs import aggregation_v2
from leo_envs.envs.aggregation import AggregationState, upper_bound
from leo_envs.envs.aggregation.bound import SAFETY, _EdrModel
from leo_envs.envs.aggregation.dynamics import MIN_DELAY_INCREMENT_S


def model_point(model: _EdrModel, st: AggregationState) -> np.ndarray:
    """The model's variables at the env's outcome ``st``: x from the assignment, T and D the env's, y the
    senders that sleep, w their sending time."""
    inst = st.inst
    z = np.zeros(model.n)
    for p, (k, j) in enumerate(model.pairs):
        z[p] = float(st.assigned[k] == j)
    work = np.flatnonzero(inst.working)
    z[model.nx: model.nx + len(work)] = st.delays()[work]
    m = st.metrics()
    z[model.ix_d] = max(m["delay_increment_s"], MIN_DELAY_INCREMENT_S)
    senders = np.unique(inst.sender)
    asleep = st.asleep()
    for i, u in enumerate(senders):
        z[model.ix_d + 1 + i] = float(asleep[u])
        z[model.ix_d + 1 + len(senders) + i] = st.send_backlog_s[u] if asleep[u] else 0.0
    return z


def play(env, act, seed: int, options: dict | None = None) -> dict:
    """The final info of the episode reset with ``seed`` under ``act(observation) -> action``."""
    obs, _ = env.reset(seed=seed, options=options)
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(act(obs))
        done = terminated or truncated
    return info


def baseline_info(env, name: str, seed: int, **kwargs) -> dict:
    policy = make_aggregation_baseline(name, env, seed, **kwargs)
    policy.reset(seed)
    return play(env, policy.act, seed, policy.reset_options)


def outcomes(level: str, seeds, names=("random", "greedy", "fastest_link")):
    env = aggregation_v2.env(level)
    for seed in seeds:
        for name in names:
            info = baseline_info(env, name, seed)
            yield env.unwrapped, info


@pytest.mark.parametrize("level", ["tiny", "sparse_traffic", "high_traffic"])
def test_every_outcome_satisfies_the_model_with_its_own_energy_and_delay(level):
    """Validity: the env's outcome (stranded businesses included) is a point of the model, with N = E_net
    and D = max(dT, 1 ms), so max N / D over the model is at least its EDR."""
    stranded = 0
    for env, info in outcomes(level, range(1000, 1008)):
        if env.state.k == 0 and env.instance.num_transfers == 0:
            continue
        if AggregationState(env.instance).done:
            continue
        model = _EdrModel(env.instance)
        z = model_point(model, env.state)
        lhs = model.a @ z
        scale = np.maximum(1.0, np.abs(np.where(np.isfinite(model.lo), model.lo, 0.0)))
        assert np.all(lhs >= model.lo - 1e-9 * scale) and np.all(lhs <= model.hi + 1e-9 * scale)
        assert np.all(z >= model.lb - 1e-12) and np.all(z <= model.ub + 1e-12)
        assert model.c @ z + model.const == pytest.approx(info["net_energy_saved_j"], rel=1e-9, abs=1e-6)
        assert z[model.ix_d] == pytest.approx(max(info["delay_increment_s"], MIN_DELAY_INCREMENT_S), rel=1e-12)
        stranded += info["stranded"]
    if level == "sparse_traffic":
        assert stranded > 0  # the stranding rows were exercised


@pytest.mark.parametrize("seed", [0, 1000, 2000, 3000, 4000])
def test_bound_is_the_optimum_on_tiny(seed):
    """Where the MILP proves it, the bound is a plan the env plays: milp_optimal's EDR (no deadline is at
    stake there) and the bound's own best plan, played."""
    env = aggregation_v2.env("tiny")
    env.reset(seed=seed)
    bound = upper_bound(env)
    assert bound.exact
    info = baseline_info(env, "milp_optimal", seed)
    assert info["edr_j_per_s"] <= bound.edr_j_per_s <= info["edr_j_per_s"] * (1 + 2 * SAFETY) + 1e-9
    env.reset(seed=seed)
    for action in bound.best_plan[bound.best_plan >= 0]:
        *_, info = env.step(int(action))
    assert info["metrics_final"] and info["edr_j_per_s"] == pytest.approx(bound.best_plan_edr_j_per_s, rel=1e-12)


@pytest.mark.parametrize("level, seeds", [("tiny", (1000, 2000, 3000)), ("sparse_traffic", (2000,)),
                                          ("low_traffic", (1000,))])
def test_no_agent_beats_the_bound(level, seeds):
    """Every baseline, and policies that refuse work or ignore the mask."""
    env = aggregation_v2.env(level)
    names = ["random", "greedy", "fastest_link", "ant_colony", "q_table"]
    if level != "low_traffic":
        names.append("milp_optimal")
    for seed in seeds:
        env.reset(seed=seed)
        bound = upper_bound(env)
        assert bound.edr_j_per_s <= bound.lp_edr_j_per_s * (1 + 2 * SAFETY)
        scores = {}
        for name in names:
            info = baseline_info(env, name, seed, **({"rounds": 4} if name == "ant_colony" else {}))
            scores[name] = info["edr_j_per_s"]
        rng = np.random.default_rng(seed)
        for name, act in (("ignores_mask", lambda obs, rng=rng: int(rng.integers(env.unwrapped.m))),
                          ("refuses", lambda obs: int(np.argmin(obs["action_mask"])))):
            scores[name] = play(env, act, seed)["edr_j_per_s"]
        assert max(scores.values()) <= bound.edr_j_per_s, (seed, scores, bound)
        assert bound.best_plan_edr_j_per_s <= bound.edr_j_per_s


def test_bound_of_an_episode_without_choices_is_its_outcome():
    env = aggregation_v2.env("low_traffic", max_volume_bits=2e6)  # CDSSQ keeps every satellite working
    env.reset(seed=0)
    bound = upper_bound(env)
    assert bound.exact and bound.edr_j_per_s == 0.0 and bound.subproblems == 0
    with pytest.raises(ValueError, match="source"):
        upper_bound("tiny")


def test_refused_work_cannot_beat_the_bound_when_transfers_pay():
    """With no sleep saving (p_sleep = p_idle) a transfer to a satellite that computes cheaper gains energy, so
    an episode truncated after such transfers has a positive net energy with nothing sleeping: the bound on
    refused work counts those gains (a bound on the sleep saving alone, 0 here, was beaten: 8.19 J/s)."""
    env = aggregation_v2.env("tiny", businesses_per_sat=6.0, max_volume_bits=9e6, p_sleep_w=120.0, sleep_s=0.02)
    env.reset(seed=24)
    bound = upper_bound(env)
    plan = iter([2, 2, 2, 2])
    info = play(env, lambda obs: next(plan, int(np.argmin(obs["action_mask"]))), 24)
    assert info["refused"] > 0 and info["net_energy_saved_j"] > 0 and info["energy_savings_j"] == 0.0
    assert info["edr_j_per_s"] <= bound.edr_j_per_s
