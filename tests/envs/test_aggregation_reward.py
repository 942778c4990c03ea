"""What Aggregation-v2's return teaches: it is the episode's EDR (violations and masked actions charged),
it orders the baselines as their EDR does, and degenerate policies (masked actions, ignoring the mask,
refusing the rest of the work, doing nothing) score worst on both. Measured over 5 seeds of every traffic
level."""

import numpy as np
import pytest

from agents.baselines import make_aggregation_baseline
from leo_envs import aggregation_v2

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


class IgnoresMask:
    """Uniform over every satellite, valid or not."""

    name = "ignores_mask"
    reset_options = None

    def __init__(self, m):
        self.m, self.rng = m, np.random.default_rng(0)

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)

    def act(self, obs):
        return int(self.rng.integers(self.m))


class RefusesAfter:
    """Plays ``plan`` (a complete episode's actions) for its first ``keep`` steps, then masked actions."""

    name = "refuses_after"
    reset_options = None

    def __init__(self, plan, keep):
        self.plan, self.keep, self.k = plan, keep, 0

    def reset(self, seed=None):
        self.k = 0

    def act(self, obs):
        self.k += 1
        if self.k <= self.keep:
            return self.plan[self.k - 1]
        return AlwaysMasked().act(obs)


def scores(level, name, **kw):
    env = aggregation_v2.env(level)
    if name == "always_masked":
        policy = AlwaysMasked()
    elif name == "ignores_mask":
        policy = IgnoresMask(env.m)
    else:
        policy = make_aggregation_baseline(name, env, 0, **kw)
    runs = [episode(env, policy, seed) for seed in SEEDS]
    return {"return": float(np.mean([r for r, _, _ in runs])),
            "edr": float(np.mean([i["edr_j_per_s"] for _, i, _ in runs])), "runs": runs}


@pytest.fixture(scope="module")
def results():
    names = ("always_masked", "ignores_mask", "no_aggregation", "random", "greedy", "fastest_link", "ant_colony")
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
    assert masked["return"] < min(r["return"] for n, r in res.items() if n not in ("always_masked", "ignores_mask"))
    for (_, info, steps), seed in zip(masked["runs"], SEEDS):
        env = aggregation_v2.env(level)
        env.reset(seed=seed)
        k = env.instance.num_transfers
        assert info["unassigned"] == k and info["sleeping_sats"] == 0 and info["net_energy_saved_j"] == 0
        assert steps == max(1, int(np.ceil(2.0 * k)))  # truncated at the step limit
        assert info["masked_actions"] == (steps if k else 0)


@pytest.mark.parametrize("level", LEVELS)
def test_ignoring_the_mask_scores_below_every_baseline(results, level):
    """Uniform over all satellites: masked picks make no progress, the episode is truncated with work
    refused, and both the EDR and the return fall below random valid actions' (and every baseline's)."""
    res = results[level]
    blind = res["ignores_mask"]
    assert any(info["refused"] > 0 for _, info, _ in blind["runs"])
    for name in ("random", "greedy", "fastest_link", "ant_colony"):
        assert blind["edr"] < res[name]["edr"], name
        assert blind["return"] < res[name]["return"], name


def play_plan(env, seed, policy):
    obs, _ = env.reset(seed=seed)
    policy.reset(seed)
    actions, ret, done = [], 0.0, False
    while not done:
        actions.append(policy.act(obs))
        obs, r, terminated, truncated, info = env.step(actions[-1])
        ret += r
        done = terminated or truncated
    return actions, ret, info


@pytest.mark.parametrize("level", ("tiny", "sparse_traffic", *LEVELS))
def test_refusing_the_rest_of_the_work_never_pays(level):
    """No gain by refusing work: greedy's plan played for its first p steps, then masked actions until
    truncation, scores below the whole plan on both the EDR and the return, for every p (v1's defect:
    the refused businesses ran on their satellites from t = 0, so stopping early cut the delay added)."""
    env = aggregation_v2.env(level)
    greedy = make_aggregation_baseline("greedy", env, 0)
    checked = 0
    for seed in (1000, 1001, 1002):
        plan, full_return, full = play_plan(env, seed, greedy)
        assert full["refused"] == 0 and full["masked_actions"] == 0
        keeps = range(len(plan)) if len(plan) <= 20 else sorted({0, 1, 2, len(plan) // 2, len(plan) - 1})
        for keep in keeps:
            if env.unwrapped.instance.num_transfers == 0:
                continue
            _, ret, cut = play_plan(env, seed, RefusesAfter(plan, keep))
            assert cut["refused"] > 0 and cut["unassigned"] == cut["refused"] + cut["stranded"]
            assert cut["delay_increment_s"] >= env.unwrapped.config.sleep_s - env.unwrapped.instance.t_before_s
            assert cut["edr_j_per_s"] < full["edr_j_per_s"], (seed, keep)
            assert ret < full_return, (seed, keep)
            checked += 1
    assert checked >= 5


def test_stalling_does_not_beat_the_milp_optimum():
    """v1's counterexample, tiny seed 1000: the first sender's two businesses assigned, then masked actions
    until truncation, scored 26.7M J/s and a return of 1.86 against milp_optimal's 13.0M and 1.30."""
    env = aggregation_v2.env("tiny")
    milp = make_aggregation_baseline("milp_optimal", env, 0)
    _, best_return, best = play_plan(env, 1000, milp)
    _, stall_return, stall = play_plan(env, 1000, RefusesAfter([0, 2], 2))
    assert stall["refused"] > 0 and stall["masked_actions"] > 0
    assert stall["edr_j_per_s"] < best["edr_j_per_s"]
    assert stall_return < best_return


@pytest.mark.parametrize("level", LEVELS)
def test_no_aggregation_does_not_outrank_aggregating(results, level):
    res = results[level]
    for name in ("random", "greedy", "fastest_link", "ant_colony"):
        assert res["no_aggregation"]["edr"] < res[name]["edr"]
        assert res["no_aggregation"]["return"] < res[name]["return"]


def test_cdssq_sleeps_nobody_above_m_times_cmax():
    env = aggregation_v2.env("low_traffic", max_volume_bits=2e6)  # ~8 Mbit per satellite, C_max 2 Mbit
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
        env = aggregation_v2.env(level)
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
    env = aggregation_v2.env(level, edr_weight=0.0, delay_weight=0.0, energy_weight=0.0, log_edr_weight=1.0)
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
    env = aggregation_v2.env("tiny")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"options\['instance'\]"):
        env.reset(options={"instance": "seed 0"})
    with pytest.raises(ValueError, match="working_sats"):
        env.reset(options={"instance": env.unwrapped.instance, "working_sats": 1})
