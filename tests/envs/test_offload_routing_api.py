import copy
import pickle

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, seed_test

import leo_envs
from leo_envs import offload_routing_v3
from leo_envs.envs.offload_routing import COMPUTE, FIRST_PORT, FIRST_RATIO, HOLD
from leo_envs.envs.offload_routing.types import DONE


def tiny(**kw):
    return offload_routing_v3.parallel_env("tiny", **kw)


def masked_random(env, rng):
    obs, mask = env.observation_arrays()
    scores = rng.random(mask.shape) * mask
    return dict(zip(env.agents, scores.argmax(axis=1).tolist()))


def test_parallel_api():
    parallel_api_test(tiny(max_cycles=120), num_cycles=200)


def test_aec_api():
    api_test(offload_routing_v3.env("tiny", max_cycles=60), num_cycles=100)


def test_seed():
    seed_test(lambda: offload_routing_v3.env("tiny", max_cycles=80), num_cycles=80)


def test_max_cycles():
    class Mod:
        @staticmethod
        def parallel_env(**kw):
            return offload_routing_v3.parallel_env("tiny", **kw)

        @staticmethod
        def env(**kw):
            return offload_routing_v3.env("tiny", **kw)

    max_cycles_test(Mod)


def test_render_rgb_array():
    render_test(lambda render_mode=None: offload_routing_v3.env("tiny", render_mode=render_mode, max_cycles=3))
    env = tiny(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8 and frame.std() > 0


def test_registry_and_module_forms_agree():
    assert leo_envs.OFFLOAD_ROUTING_ID == "leo_envs/OffloadRouting-v3"
    penv = pettingzoo.make("parallel", "leo_envs/OffloadRouting-v3", scenario="tiny")
    menv = tiny()
    o1, _ = penv.reset(seed=3)
    o2, _ = menv.reset(seed=3)
    assert all(np.array_equal(o1[a]["observation"], o2[a]["observation"]) for a in o1)
    assert penv.observation_space("sat_0") is penv.observation_space("sat_0")
    assert len({id(penv.observation_space(a)) for a in penv.possible_agents}) == 1


def run(env, seed, steps, policy_seed=0):
    rng = np.random.default_rng(policy_seed)
    obs, _ = env.reset(seed=seed)
    trace = []
    for _ in range(steps):
        if not env.agents:
            break
        obs, rew, term, trunc, info = env.step(masked_random(env, rng))
        trace.append((np.stack([obs[a]["observation"] for a in obs]) if obs else None,
                      np.array(list(rew.values())), info[env.possible_agents[0]]["rewards"]))
    return trace


def assert_same(t1, t2):
    assert len(t1) == len(t2)
    for (o1, r1, n1), (o2, r2, n2) in zip(t1, t2):
        assert (o1 is None and o2 is None) or np.array_equal(o1, o2)
        assert np.array_equal(r1, r2) and n1 == n2


def test_multi_step_determinism_200_steps_with_failures():
    kw = dict(max_cycles=200, isl_mtbf_s=30.0, isl_mttr_s=5.0, sat_mtbf_s=200.0, sat_mttr_s=20.0)
    a = run(tiny(**kw), seed=11, steps=200)
    b = run(tiny(**kw), seed=11, steps=200)
    assert len(a) == 200
    assert_same(a, b)
    c = run(tiny(**kw), seed=12, steps=200)
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a[:-1], c[:-1]))


@pytest.mark.parametrize("clone", [pickle.loads, copy.deepcopy])
def test_pickle_and_deepcopy_mid_episode_continue_identically(clone):
    env = tiny(isl_mtbf_s=50.0, isl_mttr_s=5.0)
    rng = np.random.default_rng(0)
    env.reset(seed=5)
    for _ in range(40):
        env.step(masked_random(env, rng))
    other = clone(pickle.dumps(env)) if clone is pickle.loads else clone(env)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(60):
        oa, ra, *_ = env.step(masked_random(env, rng_a))
        ob, rb, *_ = other.step(masked_random(other, rng_b))
        assert list(ra.values()) == list(rb.values())
        assert all(np.array_equal(oa[k]["observation"], ob[k]["observation"]) for k in oa)


def test_fresh_pickled_env_resets_like_the_original():
    env = tiny()
    clone = pickle.loads(pickle.dumps(env))
    o1, _ = env.reset(seed=1)
    o2, _ = clone.reset(seed=1)
    assert all(np.array_equal(o1[a]["observation"], o2[a]["observation"]) for a in o1)


def test_conservation_every_step_under_random_actions_with_failures():
    env = tiny(max_cycles=400, isl_mtbf_s=20.0, isl_mttr_s=5.0, sat_mtbf_s=60.0, sat_mttr_s=10.0,
               buffer_bits=60e6, ttl_s=4.0)
    rng = np.random.default_rng(1)
    env.reset(seed=2)
    seen = {"ttl": 0, "buffer": 0, "sat_failure": 0}
    while env.agents:
        *_, infos = env.step(masked_random(env, rng))
        acc = env.sim.accounting()
        assert acc["arrived_tasks"] == acc["finished_tasks"] + acc["dropped_tasks"] + acc["in_flight_tasks"]
        assert acc["arrived_bits"] == pytest.approx(acc["done_bits"] + acc["dropped_bits"] + acc["in_flight_bits"],
                                                    rel=1e-9)
        assert env.sim.counts["finished_tasks"] == acc["finished_tasks"]
        assert env.sim.counts["dropped_tasks"] == acc["dropped_tasks"]
    info = infos["sat_0"]
    for k in seen:
        seen[k] = info["drops_by_reason"][k]
    assert acc["arrived_tasks"] > 200
    assert seen["ttl"] > 0 and seen["sat_failure"] > 0 and seen["buffer"] > 0, seen
    assert env.sim.counts["rerouted_bundles"] > 0


def test_finished_tasks_respect_their_physical_lower_bound():
    from agents.baselines import make_offload_routing_baseline

    for name in ("full_offload", "even_split", "congestion_aware", "random"):
        env = tiny(max_cycles=300)
        obs, _ = env.reset(seed=4)
        policy = make_offload_routing_baseline(name, env, seed=0)
        while env.agents:
            obs, *_ = env.step(policy.act(obs))
        tk = env.sim.state.tasks
        done = tk.status[: tk.size] == DONE
        delay = (tk.finish - tk.arrival)[: tk.size][done]
        bound = tk.lower_bound[: tk.size][done]
        assert done.sum() > 50
        assert np.all(bound > 0)
        assert np.all(delay >= bound - 1e-9), name


def test_metrics_at_episode_end_and_named_reward_terms():
    env = tiny(max_cycles=50)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    while env.agents:
        _, rewards, _, trunc, infos = env.step(masked_random(env, rng))
    info = infos["sat_0"]
    for key in ("mean_task_cost_s", "total_cost_s", "mean_delay_s", "p95_delay_s", "completion_rate", "drop_rate",
                "mean_isl_utilization", "peak_isl_utilization", "csat_load_jain"):
        assert np.isfinite(info[key]), key
    assert set(info["rewards"]) == {"holding", "drop"}
    assert all(trunc.values())
    assert env.agents == []
    with pytest.raises(ValueError, match="episode is over"):
        env.step({})


def test_transitions_chain_per_bundle():
    env = tiny(max_cycles=200)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    total = 0
    for _ in range(200):
        *_, infos = env.step(masked_random(env, rng))
        tr = infos["sat_0"]["transitions"]
        total += tr.size
        if tr.size:
            assert np.all(tr.delay_s > 0)
            routed = (tr.action >= FIRST_PORT) & (tr.action <= COMPUTE)
            assert np.all(routed)
            live = ~tr.done
            # a non-terminal transition leads to the neighbour the action pointed at
            port = tr.action[live] - FIRST_PORT
            assert np.all(env.sim.port_nbr[tr.agent[live], port] == tr.next_agent[live])
            assert np.all(tr.next_action_mask[live].sum(axis=1) >= 1)
            assert np.all(tr.next_agent[tr.done] == -1)
    assert total > 100


def test_bad_actions_and_masked_actions():
    env = tiny()
    env.reset(seed=0)
    n_act = env.action_space("sat_0").n
    for bad in (n_act, -1, float("nan"), 1.5):
        with pytest.raises(ValueError, match="sat_0"):
            env.step({"sat_0": bad})
    with pytest.raises(ValueError, match="unknown agent 'sat_999'"):
        env.step({"sat_999": 0})
    # every satellite picks an action its mask forbids: deciding ones hold and are counted, idle ones
    # (all-zero mask) are ignored
    rng = np.random.default_rng(0)
    for _ in range(30):
        env.step(masked_random(env, rng))
    obs, mask = env.observation_arrays()
    deciding = mask.any(axis=1)
    assert 0 < deciding.sum() < len(mask)
    forbidden = np.argmin(mask, axis=1)
    assert np.all(mask[np.arange(len(mask)), forbidden] == 0)
    before = env.sim.accounting()
    *_, infos = env.step(dict(zip(env.agents, forbidden.tolist())))
    assert infos["sat_0"]["masked_actions"] == deciding.sum()
    assert env.sim.accounting()["finished_tasks"] >= before["finished_tasks"]
    assert HOLD == 0 and FIRST_RATIO == 6


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(bogus=1), "bogus"),
        (dict(dt_s=0), "dt_s"),
        (dict(task_rate_hz=-1), "task_rate_hz"),
        (dict(ratio_levels=1), "ratio_levels"),
        (dict(reward_mode="solo"), "reward_mode"),
        (dict(constellation="nope"), "constellation"),
        (dict(isl_mtbf_s=float("nan")), "isl_mtbf_s"),
        (dict(max_cycles=2.5), "max_cycles"),
    ],
)
def test_bad_config_raises_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        tiny(**kw)
    with pytest.raises(ValueError, match="scenario"):
        offload_routing_v3.parallel_env("atlantis")


def test_scenarios_listed_and_starlink_builds():
    assert {"tiny", "iridium", "starlink_shell1"} <= set(leo_envs.scenarios()["offload_routing"])
    env = offload_routing_v3.parallel_env("starlink_shell1", max_cycles=3)
    obs, _ = env.reset(seed=0)
    assert len(obs) == 1584
    assert env.state().shape == env.state_space.shape


def test_step_arrays_matches_step():
    a, b = tiny(max_cycles=80), tiny(max_cycles=80)
    a.reset(seed=3)
    b.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(80):
        _, mask = a.observation_arrays()
        acts = (rng.random(mask.shape) * mask).argmax(axis=1)
        obs_a, rew_a, _, trunc_a, _ = a.step(dict(zip(a.agents, acts.tolist())))
        obs_b, mask_b, rew_b, term_b, trunc_b, _ = b.step_arrays(acts)
        assert np.array_equal(np.stack([o["observation"] for o in obs_a.values()]), obs_b)
        assert np.array_equal(np.stack([o["action_mask"] for o in obs_a.values()]), mask_b)
        assert np.array_equal(np.array(list(rew_a.values())), rew_b)
        assert all(trunc_a.values()) == trunc_b and term_b is False
    with pytest.raises(ValueError, match="episode is over"):
        b.step_arrays(acts)
    b.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        b.step_arrays(np.zeros(3, int))
    with pytest.raises(ValueError, match="values must lie"):
        b.step_arrays(np.full(len(b.possible_agents), 99))


def test_masks_are_read_only_and_observations_fresh():
    env = tiny()
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        first = {a: o["observation"].copy() for a, o in obs.items()}
        kept = obs
        obs, *_ = env.step(masked_random(env, np.random.default_rng(0)))
        # last step's observations are not overwritten by this step
        assert all(np.array_equal(kept[a]["observation"], first[a]) for a in kept)
        assert all(o["observation"] is not kept[a]["observation"] for a, o in obs.items())
    idle = [a for a, o in obs.items() if not o["action_mask"].any()]
    busy = [a for a, o in obs.items() if o["action_mask"].any()]
    assert idle and busy
    for agent in (idle[0], busy[0]):
        with pytest.raises(ValueError, match="read-only"):
            obs[agent]["action_mask"][HOLD] = 1
    with pytest.raises(ValueError, match="read-only"):
        env.observation_arrays()[1][0, HOLD] = 1


def test_earlier_versions_name_the_current_one():
    """PettingZoo's convention: an old module form raises DeprecatedEnv pointing at the current version;
    names that are no env stay an AttributeError."""
    from pettingzoo.utils.deprecated_module import DeprecatedEnv

    import leo_envs

    for old in (leo_envs.offload_routing_v1, leo_envs.offload_routing_v2):
        with pytest.raises(DeprecatedEnv, match="offload_routing_v3"):
            old.parallel_env(scenario="tiny")
    with pytest.raises(AttributeError):
        leo_envs.offload_routing_v9  # noqa: B018
    assert leo_envs.offload_routing_v3.parallel_env("tiny").metadata["name"] == "offload_routing_v3"
