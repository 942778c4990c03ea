import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.utils.env_match import check_environments_match
from hypothesis import given, settings
from hypothesis import strategies as st

import leo_envs
from agents.baselines import AGGREGATION_BASELINES, make_aggregation_baseline
from leo_envs import aggregation_v0
from leo_envs.envs.aggregation import AggregationConfig, AggregationInstance, AggregationState, objective


def play(env, policy, seed):
    obs, _ = env.reset(seed=seed, options=policy.reset_options)
    policy.reset(seed)
    done, trace = False, []
    while not done:
        action = policy.act(obs)
        obs, reward, done, trunc, info = env.step(action)
        trace.append((action, reward))
    return info, trace


def test_check_env_without_warnings():
    for scenario in ("tiny", "low_traffic"):
        env = gym.make("leo_envs/Aggregation-v0", scenario=scenario).unwrapped
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env)


def test_registered_ids_and_variants():
    env = gym.make("leo_envs/Aggregation-v0", scenario="low_traffic")
    assert env.unwrapped.config.businesses_per_sat == 10.0
    for env_id, scenario in leo_envs.AGGREGATION_VARIANTS.items():
        assert gym.make(env_id).unwrapped.scenario == scenario
    assert set(leo_envs.scenarios()["aggregation"]) >= {"low_traffic", "medium_traffic", "high_traffic"}


def test_environments_match_and_multi_episode_determinism():
    check_environments_match(aggregation_v0.env("low_traffic"), aggregation_v0.env("low_traffic"), num_steps=20, seed=3)
    a, b = aggregation_v0.env("medium_traffic"), aggregation_v0.env("medium_traffic")
    pa, pb = make_aggregation_baseline("random", a, 1), make_aggregation_baseline("random", b, 1)
    a.reset(seed=5)
    b.reset(seed=5)
    for _ in range(4):  # episodes continue the seeded stream
        ia, ta = play(a, pa, None)
        ib, tb = play(b, pb, None)
        assert ta == tb and ia == ib


def test_pickle_round_trip_mid_episode():
    env = aggregation_v0.env("low_traffic")
    obs, _ = env.reset(seed=2)
    for _ in range(5):
        obs, *_ = env.step(int(np.argmax(obs["action_mask"])))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(10):
        a = int(np.argmax(obs["action_mask"]))
        obs, r, *_ = env.step(a)
        obs2, r2, *_ = clone.step(a)
        assert r == r2 and np.array_equal(obs["observation"], obs2["observation"])
    fresh = pickle.loads(pickle.dumps(aggregation_v0.env("tiny")))
    reference = aggregation_v0.env("tiny").reset(seed=1)[0]["observation"]
    assert np.array_equal(fresh.reset(seed=1)[0]["observation"], reference)


def three_satellite_instance() -> tuple[AggregationInstance, AggregationConfig]:
    """Satellite 0 sleeps with two businesses; 1 and 2 work. Numbers chosen to check by hand."""
    cfg = AggregationConfig(p_idle_w=100.0, p_sleep_w=20.0, p_comp_w=200.0, p_tx_w=10.0, sleep_s=100.0)
    bits = np.array([1e6, 2e6, 3e6, 4e6])
    origin = np.array([0, 0, 1, 2])
    comp_per_bit = 1e-8  # s/bit
    comp = bits * comp_per_bit  # 0.01, 0.02, 0.03, 0.04 s
    inst = AggregationInstance(
        t_s=0.0, sat_position_m=np.zeros((3, 3)), control_position_m=np.zeros(3), bits=bits,
        deadline_s=np.array([0.2, 0.2, 0.2, 0.035]), origin=origin,
        own_finish_s=np.array([0.01, 0.03, 0.03, 0.04]), own_load_s=np.array([0.03, 0.03, 0.04]),
        volume_bits=np.array([3e6, 3e6, 4e6]), working=np.array([False, True, True]), transfer=np.array([0, 1]),
        tx_s=np.array([[0.0, 0.005, 0.01], [0.0, 0.01, 0.02]]),
        prop_s=np.array([[0.0, 0.001, 0.002], [0.0, 0.001, 0.002]]),
        energy_j=np.array([[0.0, 0.05, 0.1], [0.0, 0.1, 0.2]]),
        comp_s=np.array([[0.0, 0.01, 0.01], [0.0, 0.02, 0.02]]),
        distance_m=np.zeros((2, 3)), feasible=np.array([[False, True, True], [False, True, True]]),
        t_before_s=0.04, e_noagg_j=3 * 100.0 * 100.0 + 200.0 * comp.sum(), savings_j=(100.0 - 20.0) * 100.0,
    )
    return inst, cfg


def test_edr_energy_and_delay_by_hand():
    inst, cfg = three_satellite_instance()
    st_ = AggregationState(inst, cfg)
    st_.assign(1)  # business 0 -> sat 1: leaves at 0, arrives 0.005 + 0.001 = 0.006
    st_.assign(2)  # business 1 -> sat 2: leaves after 0.005 (sender busy), arrives 0.005 + 0.02 + 0.002 = 0.027
    # T_1 = max(0.03, 0.006) + 0.01 = 0.04 ; T_2 = max(0.04, 0.027) + 0.02 = 0.06
    np.testing.assert_allclose(st_.delays(), [0.0, 0.04, 0.06])
    m = st_.metrics()
    assert m["delay_increment_s"] == pytest.approx(0.06 - 0.04)
    # energy: no aggregation 3 x 100 W x 100 s + compute 200 W x 0.1 s = 30020 J
    # aggregated: 2 x 100 W x 100 s + 20 W x 100 s + compute 200 W x 0.1 s + transfers 0.05 + 0.2 J = 22020.25 J
    assert m["net_energy_saved_j"] == pytest.approx(30020.0 - 22020.25)
    assert m["energy_reduction"] == pytest.approx((30020.0 - 22020.25) / 30020.0)
    assert m["edr_j_per_s"] == pytest.approx((30020.0 - 22020.25) / 0.02)
    # satellite 2's own business (deadline 0.035) finishes at 0.04: one violation, counted
    assert m["deadline_violations"] == 1 and m["working_sats"] == 2
    inst.deadline_s[1] = 0.05  # business 1 now finishes (with sat 2's batch) at 0.06: a second violation
    assert st_.metrics()["deadline_violations"] == 2


def test_edr_floor_when_no_delay_is_added():
    inst, cfg = three_satellite_instance()
    inst.own_load_s[:] = [0.03, 0.03, 0.1]
    inst.t_before_s = 0.1
    st_ = AggregationState(inst, cfg)
    st_.assign(1)
    st_.assign(1)
    m = st_.metrics()
    assert m["delay_increment_s"] == pytest.approx(0.0)
    assert m["edr_j_per_s"] == pytest.approx(m["net_energy_saved_j"] / 1e-3)


@pytest.mark.parametrize("name", [n for n in AGGREGATION_BASELINES if n != "milp_optimal"])
def test_no_business_lost_or_assigned_twice(name):
    env = aggregation_v0.env("low_traffic")
    policy = make_aggregation_baseline(name, env, 0, **({"rounds": 3} if name == "ant_colony" else {}))
    if name == "q_table":
        policy.episodes = 20
    info, trace = play(env, policy, 7)
    core = env.unwrapped
    inst, st_ = core.instance, core.state
    if name == "no_aggregation":
        assert inst.transfer.size == 0 and info["working_sats"] == core.m
        return
    assert len(trace) == inst.transfer.size  # one step per business of a sleeping satellite
    assert np.all(st_.assigned >= 0) and np.all(inst.working[st_.assigned])
    assert st_.count.sum() == inst.transfer.size
    assert np.all(st_.count[~inst.working] == 0)
    stays = inst.working[inst.origin].sum()
    assert stays + inst.transfer.size == inst.bits.size


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000))
def test_milp_optimal_is_at_least_every_baseline(seed):
    results = {}
    for name in AGGREGATION_BASELINES:
        if name == "no_aggregation":
            continue
        env = aggregation_v0.env("tiny")
        kw = {"rounds": 4, "ants": 6} if name == "ant_colony" else {}
        policy = make_aggregation_baseline(name, env, seed, **kw)
        if name == "q_table":
            policy.episodes = 30
        info, _ = play(env, policy, seed)
        results[name] = objective(info)
    best = results.pop("milp_optimal")
    for name, value in results.items():
        assert best[0] >= value[0], (name, best, value)
        if best[0] == value[0]:
            assert best[1] >= value[1] * (1 - 1e-9) - 1e-6, (name, best, value)


def test_masked_and_bad_actions():
    env = aggregation_v0.env("low_traffic")
    obs, _ = env.reset(seed=0)
    masked = int(np.argmin(obs["action_mask"]))
    assert obs["action_mask"][masked] == 0
    obs, reward, *_, info = env.step(masked)
    assert info["masked_action"] and info["rewards"]["invalid"] == -1.0 and info["masked_actions"] == 1
    for bad in (env.unwrapped.m, -1, 1.5, float("nan"), "x"):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(bogus=1), "bogus"),
        (dict(businesses_per_sat=0), "businesses_per_sat"),
        (dict(traffic_pattern="spiral"), "traffic_pattern"),
        (dict(plane_altitudes_km=(200.0,)), "plane_altitudes_km"),
        (dict(working_sats=99), "working_sats"),
        (dict(p_sleep_w=500.0), "p_sleep_w"),
        (dict(deadline_min_s=1.0, deadline_max_s=0.5), "deadline_min_s"),
        (dict(cpu_hz=float("nan")), "cpu_hz"),
    ],
)
def test_bad_config_raises_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        aggregation_v0.env("low_traffic", **kw)
    with pytest.raises(ValueError, match="scenario"):
        aggregation_v0.env("rush_hour")


def test_transfer_prior_and_render():
    env = aggregation_v0.env("tiny", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    p = env.unwrapped.transfer_prior()
    assert p.sum() == pytest.approx(1.0) and np.all(p[obs["action_mask"] == 0] == 0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0


def test_hotspot_pattern_loads_the_hotspot_plane():
    env = aggregation_v0.env("medium_traffic", traffic_pattern="hotspot", hotspot_factor=4.0)
    vols = []
    for seed in range(10):
        env.reset(seed=seed)
        vols.append(env.unwrapped.instance.volume_bits)
    vols = np.mean(vols, axis=0)
    plane = env.unwrapped.generator.plane
    assert vols[plane == 0].mean() > 2.5 * vols[plane != 0].mean()
