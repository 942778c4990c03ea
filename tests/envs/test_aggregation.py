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
from leo_envs import aggregation_v2
from leo_envs.core import PowerModel
from leo_envs.envs.aggregation import AggregationInstance, AggregationState, objective


def play(env, policy, seed):
    obs, _ = env.reset(seed=seed, options=policy.reset_options)
    policy.reset(seed)
    done, trace = False, []
    while not done:
        action = policy.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        trace.append((action, reward))
    return info, trace


def test_check_env_without_warnings():
    for scenario in ("tiny", "low_traffic"):
        env = gym.make("leo_envs/Aggregation-v2", scenario=scenario).unwrapped
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env)


def test_registered_ids_and_variants():
    env = gym.make("leo_envs/Aggregation-v2", scenario="low_traffic")
    assert env.unwrapped.config.businesses_per_sat == 10.0
    for env_id, scenario in leo_envs.AGGREGATION_VARIANTS.items():
        assert gym.make(env_id).unwrapped.scenario == scenario
    assert set(leo_envs.scenarios()["aggregation"]) >= {"low_traffic", "medium_traffic", "high_traffic"}


def test_earlier_versions_name_the_current_one():
    """v1's ids raise Gymnasium's DeprecatedEnv naming v2, its module form PettingZoo's."""
    from pettingzoo.utils.deprecated_module import DeprecatedEnv

    for old in ("leo_envs/Aggregation-v1", *(i.replace("-v2", "-v1") for i in leo_envs.AGGREGATION_VARIANTS)):
        with pytest.raises(gym.error.DeprecatedEnv, match=old.replace("-v1", "-v2")):
            gym.make(old)
    with pytest.raises(DeprecatedEnv, match="aggregation_v2"):
        leo_envs.aggregation_v1.env("tiny")


def test_environments_match_and_multi_episode_determinism():
    check_environments_match(aggregation_v2.env("low_traffic"), aggregation_v2.env("low_traffic"), num_steps=20, seed=3)
    a, b = aggregation_v2.env("medium_traffic"), aggregation_v2.env("medium_traffic")
    pa, pb = make_aggregation_baseline("random", a, 1), make_aggregation_baseline("random", b, 1)
    a.reset(seed=5)
    b.reset(seed=5)
    for _ in range(4):  # episodes continue the seeded stream
        ia, ta = play(a, pa, None)
        ib, tb = play(b, pb, None)
        assert ta == tb and ia == ib


def test_pickle_round_trip_mid_episode():
    env = aggregation_v2.env("low_traffic")
    obs, _ = env.reset(seed=2)
    for _ in range(5):
        obs, *_ = env.step(int(np.argmax(obs["action_mask"])))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(10):
        a = int(np.argmax(obs["action_mask"]))
        obs, r, *_ = env.step(a)
        obs2, r2, *_ = clone.step(a)
        assert r == r2 and np.array_equal(obs["observation"], obs2["observation"])
    fresh = pickle.loads(pickle.dumps(aggregation_v2.env("tiny")))
    reference = aggregation_v2.env("tiny").reset(seed=1)[0]["observation"]
    assert np.array_equal(fresh.reset(seed=1)[0]["observation"], reference)


POWER_DRAWS = {  # per satellite 0, 1, 2 and the control satellite (3)
    "draw_a": dict(p_tx_w=[10.0, 20.0, 30.0, 40.0], p_rx_w=[5.0, 6.0, 7.0, 8.0], p_comp_w=[100.0, 200.0, 300.0, 400.0]),
    "draw_b": dict(p_tx_w=[50.0, 10.0, 10.0, 10.0], p_rx_w=[25.0, 5.0, 25.0, 5.0], p_comp_w=[415.0, 60.0, 415.0, 60.0]),
}


def three_satellite_instance(draw: str, capacity_bits: float = 10e6) -> AggregationInstance:
    """Satellite 0 sleeps with two businesses; 1 and 2 work; direct links only. Numbers to check by hand."""
    p = POWER_DRAWS[draw]
    power = PowerModel(p_tx_w=np.array(p["p_tx_w"]), p_rx_w=np.array(p["p_rx_w"]), p_comp_w=np.array(p["p_comp_w"]),
                       p_idle_w=100.0, p_sleep_w=20.0)
    bits = np.array([1e6, 2e6, 3e6, 4e6])
    origin = np.array([0, 0, 1, 2])
    comp = bits * 1e-8  # 0.01, 0.02, 0.03, 0.04 s
    send = np.array([[0.0, 0.005, 0.01], [0.0, 0.01, 0.02]])  # first hop = whole route (direct)
    link = np.array([[False, True, True], [False, True, True]])
    transfer_energy = (power.p_tx_w[0] + power.p_rx_w[None, :3]) * send
    extra = (power.p_comp_w[None, :3] - power.p_comp_w[0]) * comp[:2, None] * link
    return AggregationInstance(
        t_s=0.0, sat_position_m=np.zeros((3, 3)), control_position_m=np.zeros(3), power=power, period_s=100.0,
        capacity_bits=capacity_bits, bits=bits, deadline_s=np.array([0.2, 0.2, 0.2, 0.035]), origin=origin,
        comp_s=comp, own_finish_s=np.array([0.01, 0.03, 0.03, 0.04]), own_load_s=np.array([0.03, 0.03, 0.04]),
        volume_bits=np.array([3e6, 3e6, 4e6]), working=np.array([False, True, True]), cdssq_v=2,
        transfer=np.array([0, 1]), link=link, relayed=np.zeros((2, 3), bool), send_s=send, tx_s=send,
        prop_s=np.array([[0.0, 0.001, 0.002], [0.0, 0.001, 0.002]]), distance_m=np.zeros((2, 3)),
        transfer_energy_j=transfer_energy, extra_comp_j=extra, t_before_s=0.04,
        e_noagg_j=3 * 100.0 * 100.0 + float((power.p_comp_w[origin] * comp).sum()),
    )


# by hand: business 0 -> sat 1 leaves at 0 and arrives at 0.005 + 0.001 = 0.006; business 1 -> sat 2 leaves
# once the sender is free (0.005) and arrives at 0.005 + 0.02 + 0.002 = 0.027. T_1 = max(0.03, 0.006) + 0.01
# = 0.04, T_2 = max(0.04, 0.027) + 0.02 = 0.06: dT = 0.02 s. Satellite 0 sends until 0.025 s, then sleeps to
# 100 s: saving (100 - 20) W x 99.975 s = 7998 J.
HAND = {
    # transfers (10 + 6) W x 0.005 s + (10 + 7) W x 0.02 s = 0.42 J; extra compute (200 - 100) W x 0.01 s
    # + (300 - 100) W x 0.02 s = 5 J; no aggregation: 30000 J idle + compute 100 x 0.03 + 200 x 0.03 + 300 x 0.04
    "draw_a": {"net": 7998.0 - 0.42 - 5.0, "e_noagg": 30000.0 + 3.0 + 6.0 + 12.0},
    # transfers (50 + 5) x 0.005 + (50 + 25) x 0.02 = 1.775 J; extra compute (60 - 415) x 0.01 + 0 = -3.55 J
    # (satellite 1 computes cheaper); no aggregation: 30000 + 415 x 0.03 + 60 x 0.03 + 415 x 0.04
    "draw_b": {"net": 7998.0 - 1.775 + 3.55, "e_noagg": 30000.0 + 12.45 + 1.8 + 16.6},
}


@pytest.mark.parametrize("draw", list(POWER_DRAWS))
def test_edr_energy_and_delay_by_hand(draw):
    inst = three_satellite_instance(draw)
    st_ = AggregationState(inst)
    st_.assign(1)
    st_.assign(2)
    np.testing.assert_allclose(st_.delays(), [0.0, 0.04, 0.06])
    m = st_.metrics()
    want = HAND[draw]
    assert m["delay_increment_s"] == pytest.approx(0.02)
    assert m["energy_savings_j"] == pytest.approx(7998.0)
    assert m["net_energy_saved_j"] == pytest.approx(want["net"])
    assert inst.e_noagg_j == pytest.approx(want["e_noagg"])
    assert m["energy_reduction"] == pytest.approx(want["net"] / want["e_noagg"])
    assert m["edr_j_per_s"] == pytest.approx(want["net"] / 0.02)
    # satellite 2's own business (deadline 0.035) finishes at 0.04: one violation, counted
    assert m["deadline_violations"] == 1 and m["working_sats"] == 2 and m["sleeping_sats"] == 1
    inst.deadline_s[1] = 0.05  # business 1 now finishes (with sat 2's batch) at 0.06: a second violation
    assert st_.metrics()["deadline_violations"] == 2


def test_refused_business_counts_as_served_at_the_end_of_the_period():
    """Business 0 assigned, business 1 refused (the episode ended first): satellite 0 stays awake (no
    saving), business 1 is a violation and counts as served at the period's end (100 s), so dT = 100 - 0.04
    s; the same business stranded instead runs on satellite 0 from t = 0 and adds no delay."""
    inst = three_satellite_instance("draw_a")
    st_ = AggregationState(inst)
    st_.assign(1)
    m = st_.metrics()
    assert (m["refused"], m["stranded"], m["unassigned"], m["sleeping_sats"]) == (1, 0, 1, 0)
    assert m["energy_savings_j"] == 0.0 and m["net_energy_saved_j"] == pytest.approx(-(16 * 0.005) - 100 * 0.01)
    assert m["delay_increment_s"] == pytest.approx(100.0 - 0.04)
    assert m["edr_j_per_s"] == pytest.approx(m["net_energy_saved_j"] / (100.0 - 0.04))
    assert m["deadline_violations"] == 1 + 1  # satellite 2's own business, and the refused one
    stranded = st_.clone()
    stranded.stranded[1] = True  # as if no satellite had room for it when its turn came
    s = stranded.metrics()
    assert (s["refused"], s["stranded"], s["unassigned"]) == (0, 1, 1)
    assert s["delay_increment_s"] == pytest.approx(0.0)  # T_1 = max(0.03, 0.006) + 0.01 = 0.04 = T_before


def test_power_draws_change_the_energy_not_the_delay():
    a, b = (AggregationState(three_satellite_instance(d)) for d in POWER_DRAWS)
    for st_ in (a, b):
        st_.assign(1)
        st_.assign(2)
    ma, mb = a.metrics(), b.metrics()
    assert ma["delay_increment_s"] == mb["delay_increment_s"]
    assert ma["net_energy_saved_j"] != pytest.approx(mb["net_energy_saved_j"])


def test_capacity_strands_a_business_that_fits_nowhere():
    # C_max 5 Mbit: satellite 1 has room for 2 Mbit, satellite 2 for 1 Mbit
    st_ = AggregationState(three_satellite_instance("draw_a", capacity_bits=5e6))
    assert st_.valid().tolist() == [False, True, True]
    st_.assign(1)  # business 0 (1 Mbit) -> sat 1, which has 1 Mbit left: business 1 (2 Mbit) fits nowhere
    assert st_.done and st_.stranded.tolist() == [False, True]
    m = st_.metrics()
    assert m["unassigned"] == 1 and m["stranded"] == 1 and m["sleeping_sats"] == 0  # sat 0 stays awake
    assert m["energy_savings_j"] == 0.0 and m["net_energy_saved_j"] < 0  # the transfer was wasted
    assert m["deadline_violations"] == 1 + 1  # sat 2's own late business + the unassigned one
    with pytest.raises(ValueError, match="action"):
        AggregationState(three_satellite_instance("draw_a", capacity_bits=5e6)).assign(0)  # not working


def test_generator_transfer_energy_follows_the_hops():
    env = aggregation_v2.env("medium_traffic")
    for seed in range(5):
        env.reset(seed=seed)
        inst = env.instance
        p, src, m = inst.power, inst.sender, inst.num_sats
        direct = inst.link & ~inst.relayed
        want = (p.p_tx_w[src][:, None] + p.p_rx_w[None, :m]) * inst.tx_s
        np.testing.assert_allclose(inst.transfer_energy_j[direct], want[direct])
        relay = inst.relayed
        hop2 = inst.tx_s - inst.send_s
        want = ((p.p_tx_w[src][:, None] + p.p_rx_w[m]) * inst.send_s + (p.p_tx_w[m] + p.p_rx_w[None, :m]) * hop2)
        np.testing.assert_allclose(inst.transfer_energy_j[relay], want[relay])
        comp = inst.comp_s[inst.transfer][:, None]
        np.testing.assert_allclose(inst.extra_comp_j[inst.link],
                                   ((p.p_comp_w[None, :m] - p.p_comp_w[src][:, None]) * comp)[inst.link])
        # powers are drawn per satellite from the paper's ranges
        assert np.all((p.p_tx_w >= 10) & (p.p_tx_w <= 50)) and np.all((p.p_rx_w >= 5) & (p.p_rx_w <= 25))
        assert np.all((p.p_comp_w >= 60) & (p.p_comp_w <= 415)) and np.ptp(p.p_comp_w) > 0
    fixed = aggregation_v2.env("low_traffic", p_comp_min_w=200.0, p_comp_max_w=200.0)
    fixed.reset(seed=0)
    assert np.all(fixed.instance.power.p_comp_w == 200.0)


def test_edr_floor_when_no_delay_is_added():
    inst = three_satellite_instance("draw_a")
    inst.own_load_s[:] = [0.03, 0.03, 0.1]
    inst.t_before_s = 0.1
    st_ = AggregationState(inst)
    st_.assign(1)
    st_.assign(1)
    m = st_.metrics()
    assert m["delay_increment_s"] == pytest.approx(0.0)
    assert m["edr_j_per_s"] == pytest.approx(m["net_energy_saved_j"] / 1e-3)


@pytest.mark.parametrize("name", [n for n in AGGREGATION_BASELINES if n != "milp_optimal"])
def test_no_business_lost_or_assigned_twice(name):
    env = aggregation_v2.env("low_traffic")
    policy = make_aggregation_baseline(name, env, 0, **({"rounds": 3} if name == "ant_colony" else {}))
    if name == "q_table":
        policy.episodes = 20
    info, trace = play(env, policy, 7)
    core = env.unwrapped
    inst, st_ = core.instance, core.state
    if name == "no_aggregation":
        assert inst.num_transfers == 0 and info["working_sats"] == core.m and info["edr_j_per_s"] == 0
        return
    assert len(trace) == inst.num_transfers  # one step per business of a sleeping satellite
    placed = st_.assigned >= 0
    assert np.all(placed | st_.stranded) and np.all(inst.working[st_.assigned[placed]])
    assert st_.count.sum() == placed.sum() and info["unassigned"] == (~placed).sum()
    assert np.all(st_.count[~inst.working] == 0)
    stays = inst.working[inst.origin].sum()
    assert stays + inst.num_transfers == inst.bits.size
    # C_max holds at every working satellite
    assert np.all(inst.volume_bits + st_.received_bits <= inst.capacity_bits * (1 + 1e-12) + (~inst.working) * 1e18)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000))
def test_milp_optimal_is_at_least_every_baseline(seed):
    results = {}
    for name in AGGREGATION_BASELINES:
        if name == "no_aggregation":
            continue
        env = aggregation_v2.env("tiny")
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
            # the MILP is solved to HiGHS's tolerances: exact to ~1e-7 relative, not to the last bit
            assert best[1] >= value[1] * (1 - 1e-6) - 1e-6, (name, best, value)


def test_masked_and_bad_actions():
    env = aggregation_v2.env("low_traffic")
    obs, _ = env.reset(seed=0)
    masked = int(np.argmin(obs["action_mask"]))
    assert obs["action_mask"][masked] == 0
    before = env.unwrapped.state.k
    obs2, reward, *_, info = env.step(masked)
    assert info["masked_action"] and info["rewards"]["invalid"] == -0.1 and info["masked_actions"] == 1
    assert env.unwrapped.state.k == before and np.array_equal(obs2["action_mask"], obs["action_mask"])  # no progress
    for bad in (env.unwrapped.m, -1, 1.5, float("nan"), "x", True, "1"):
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
        (dict(p_comp_min_w=300.0, p_comp_max_w=200.0), "p_comp_min_w"),
        (dict(step_limit_factor=0.5), "step_limit_factor"),
        (dict(p_sleep_w=500.0), "p_sleep_w"),
        (dict(deadline_min_s=1.0, deadline_max_s=0.5), "deadline_min_s"),
        (dict(cpu_hz=float("nan")), "cpu_hz"),
    ],
)
def test_bad_config_raises_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        aggregation_v2.env("low_traffic", **kw)
    with pytest.raises(ValueError, match="scenario"):
        aggregation_v2.env("rush_hour")


def test_transfer_prior_and_render():
    env = aggregation_v2.env("tiny", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    p = env.unwrapped.transfer_prior()
    assert p.sum() == pytest.approx(1.0) and np.all(p[obs["action_mask"] == 0] == 0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0


def test_hotspot_pattern_loads_the_hotspot_plane():
    env = aggregation_v2.env("medium_traffic", traffic_pattern="hotspot", hotspot_factor=4.0)
    vols = []
    for seed in range(10):
        env.reset(seed=seed)
        vols.append(env.unwrapped.instance.volume_bits)
    vols = np.mean(vols, axis=0)
    plane = env.unwrapped.generator.plane
    assert vols[plane == 0].mean() > 2.5 * vols[plane != 0].mean()


def test_sparse_traffic_instances_offer_real_choices():
    """The MILP instances: every evaluation instance (seeds 1000 s + e) has V >= 2 working satellites,
    at most 40 businesses to reassign, and most businesses can go to two or more satellites."""
    env = aggregation_v2.env("sparse_traffic")
    for s in range(10):
        for e in range(2):
            obs, _ = env.reset(seed=1000 * s + e)
            inst = env.instance
            assert inst.working.sum() >= 2 and 5 <= inst.num_transfers <= 40
            choices = inst.link.sum(axis=1)
            assert np.mean(choices >= 2) > 0.5 and obs["action_mask"].sum() >= 1
