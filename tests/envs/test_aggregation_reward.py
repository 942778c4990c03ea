"""What Aggregation-v1's return teaches: it is the episode's EDR (violations and masked actions charged),
it orders the baselines as their EDR does, and degenerate policies (masked actions, doing nothing) score
worst on both. Measured over 5 seeds of every traffic level."""

import numpy as np
import pytest

from agents.baselines import make_aggregation_baseline
from leo_envs import aggregation_v1

LEVELS = ("low_traffic", "medium_traffic", "high_traffic")
SEEDS = range(5)


class AlwaysMasked:
    """Plays a masked action whenever one exists (else the only kind there is)."""

    name = "always_masked"
    reset_options = None

    def reset(self, seed=None):
        pass

    def act(self, obs):
        masked = np.flatnonzero(obs["action_mask"] == 0)
        return int(masked[0]) if masked.size else 0


def episode(env, policy, seed):
    obs, _ = env.reset(seed=seed, options=policy.reset_options)
    policy.reset(seed)
    ret, steps, done = 0.0, 0, False
    while not done:
        mask = env.action_masks()
        assert np.array_equal(mask, obs["action_mask"].astype(bool))  # action_masks() == the observation's
        obs, r, terminated, truncated, info = env.step(policy.act(obs))
        ret += r
        steps += 1
        done = terminated or truncated
    assert not obs["action_mask"].any()  # the final observation's mask is all zero
    return ret, info, steps


def scores(level, name, **kw):
    env = aggregation_v1.env(level)
    policy = AlwaysMasked() if name == "always_masked" else make_aggregation_baseline(name, env, 0, **kw)
    runs = [episode(env, policy, seed) for seed in SEEDS]
    return {"return": float(np.mean([r for r, _, _ in runs])),
            "edr": float(np.mean([i["edr_j_per_s"] for _, i, _ in runs])), "runs": runs}


@pytest.fixture(scope="module")
def results():
    names = ("always_masked", "no_aggregation", "random", "greedy", "fastest_link", "ant_colony")
    return {level: {n: scores(level, n, **({"rounds": 8} if n == "ant_colony" else {})) for n in names}
            for level in LEVELS}


@pytest.mark.parametrize("level", LEVELS)
def test_return_is_the_episode_objective(results, level):
    """Shaping sums to zero: return = EDR / 1e7 - 0.001 violations - 0.1 masked actions, exactly."""
    for name, res in results[level].items():
        for ret, info, _ in res["runs"]:
            want = info["edr_j_per_s"] / 1e7 - 0.001 * info["deadline_violations"] - 0.1 * info["masked_actions"]
            assert ret == pytest.approx(want, rel=1e-9, abs=1e-9), name


@pytest.mark.parametrize("level", LEVELS)
def test_returns_order_the_baselines_as_their_edr(results, level):
    res = results[level]
    names = ["random", "greedy", "fastest_link", "ant_colony"]
    by_return = sorted(names, key=lambda n: res[n]["return"])
    by_edr = sorted(names, key=lambda n: res[n]["edr"])
    assert by_return == by_edr, {n: (res[n]["return"], res[n]["edr"]) for n in names}


@pytest.mark.parametrize("level", LEVELS)
def test_masked_actions_score_worst(results, level):
    """Always playing a masked action: no progress, truncation, every business unassigned (its satellite
    stays awake, a violation): EDR below random valid actions, return below greedy's and everyone's."""
    res = results[level]
    masked = res["always_masked"]
    assert masked["edr"] < res["random"]["edr"]
    assert masked["return"] < res["greedy"]["return"]
    assert masked["return"] < min(r["return"] for n, r in res.items() if n != "always_masked")
    for (_, info, steps), seed in zip(masked["runs"], SEEDS):
        env = aggregation_v1.env(level)
        env.reset(seed=seed)
        k = env.instance.num_transfers
        assert info["unassigned"] == k and info["sleeping_sats"] == 0 and info["net_energy_saved_j"] == 0
        assert steps == max(1, int(np.ceil(2.0 * k)))  # truncated at the step limit
        assert info["masked_actions"] == (steps if k else 0)


@pytest.mark.parametrize("level", LEVELS)
def test_no_aggregation_does_not_outrank_aggregating(results, level):
    res = results[level]
    for name in ("random", "greedy", "fastest_link", "ant_colony"):
        assert res["no_aggregation"]["edr"] < res[name]["edr"]
        assert res["no_aggregation"]["return"] < res[name]["return"]


def test_cdssq_sleeps_nobody_above_m_times_cmax():
    env = aggregation_v1.env("low_traffic", max_volume_bits=2e6)  # ~8 Mbit per satellite, C_max 2 Mbit
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        inst = env.instance
        assert inst.volume_bits.sum() > env.m * inst.capacity_bits and inst.cdssq_v > env.m
        assert inst.working.all() and inst.num_transfers == 0 and not obs["action_mask"].any()
        _, r, terminated, truncated, info = env.step(0)
        assert terminated and not truncated and info["sleeping_sats"] == 0 and not info["aggregated"]
        assert info["edr_j_per_s"] == 0.0 and info["masked_actions"] == 0


def test_cdssq_adds_a_satellite_when_the_working_ones_cannot_cover():
    """Where ceil(volume / C_max) satellites could not take the others' businesses within C_max, CDSSQ
    keeps one more working (high traffic: in some instances nobody sleeps)."""
    grew, none = 0, 0
    for level in LEVELS:
        env = aggregation_v1.env(level)
        for seed in range(30):
            env.reset(seed=seed)
            inst = env.instance
            v = int(inst.working.sum())
            grew += v > min(inst.cdssq_v, env.m)
            none += v == env.m
            room = inst.capacity_bits - inst.volume_bits[inst.working]
            assert v == env.m or inst.bits[inst.transfer].sum() <= np.clip(room, 0, None).sum()
    assert grew > 0 and none > 0


@pytest.mark.parametrize("level", LEVELS)
def test_log_edr_term_sums_to_log_edr_and_ranks_episodes_of_an_instance(level):
    """The training reward Double DQN uses: log_edr sums to log EDR minus a constant of the instance, so on
    one instance (replayed with the ``instance`` reset option) it ranks policies exactly as EDR does."""
    env = aggregation_v1.env(level, edr_weight=0.0, delay_weight=0.0, energy_weight=0.0, log_edr_weight=1.0)
    for seed in range(3):
        env.reset(seed=seed)
        inst = env.unwrapped.instance
        sums, edrs = [], []
        for name in ("random", "greedy", "fastest_link", "ant_colony"):
            policy = make_aggregation_baseline(name, env, 0, **({"rounds": 4} if name == "ant_colony" else {}))
            policy.reset(seed)
            obs, _ = env.reset(seed=seed, options={"instance": inst})
            assert env.unwrapped.instance is inst
            total, done = 0.0, False
            while not done:
                obs, r, terminated, truncated, info = env.step(policy.act(obs))
                assert r == pytest.approx(sum(info["rewards"].values()))
                total += info["rewards"]["log_edr"]
                done = terminated or truncated
            sums.append(total)
            edrs.append(info["edr_j_per_s"])
        offsets = np.log(np.maximum(edrs, 1e-300)) - np.array(sums)  # the instance's constant
        assert np.ptp(offsets[np.array(edrs) > 0]) < 1e-9
        assert np.argsort(sums, kind="stable").tolist() == np.argsort(edrs, kind="stable").tolist()


def test_instance_option_is_checked():
    env = aggregation_v1.env("tiny")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"options\['instance'\]"):
        env.reset(options={"instance": "seed 0"})
    with pytest.raises(ValueError, match="working_sats"):
        env.reset(options={"instance": env.unwrapped.instance, "working_sats": 1})
