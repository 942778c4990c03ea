"""Aggregation-v2's native vector env: copy k of K is the single env reset with copy k's seed, bit for bit,
over whole episodes and autoresets (``SyncVectorEnv`` over ``gym.make`` envs is the reference), at every
traffic level, in both autoreset modes, with every reward option; bad input is a ValueError naming the
argument; businesses and bits are accounted for in every copy at every step."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

from leo_envs import AGGREGATION_ID
from leo_envs.envs.aggregation.batch import selected_sum
from leo_envs.envs.aggregation.vector import AggregationVectorEnv

SEEDS = [3, 1, 4, 1, 5, 9, 2, 6]  # a repeated seed too: copies must not share a random stream
# steps so that every copy ends at least two episodes (low and medium traffic episodes are ~66 steps)
STEPS = {"tiny": 40, "sparse_traffic": 60, "high_traffic": 60, "low_traffic": 220, "medium_traffic": 220}


def assert_same(ref, got, path="") -> None:
    """Equal keys, dtypes, shapes and values (bit for bit; None where the reference has None)."""
    if isinstance(ref, tuple):
        assert isinstance(got, tuple) and len(got) == len(ref), path
        for i, (r, g) in enumerate(zip(ref, got)):
            assert_same(r, g, f"{path}[{i}]")
    elif isinstance(ref, dict):
        assert set(ref) == set(got), f"{path}: keys differ: {set(ref) ^ set(got)}"
        for key in ref:
            assert_same(ref[key], got[key], f"{path}/{key}")
    elif isinstance(ref, np.ndarray) and ref.dtype == object:
        assert isinstance(got, np.ndarray) and got.dtype == object and len(got) == len(ref), path
        for i, (r, g) in enumerate(zip(ref, got)):
            assert (r is None) == (g is None), f"{path}[{i}]"
            if r is not None:
                assert_same(r, g, f"{path}[{i}]")
    else:
        ref, got = np.asarray(ref), np.asarray(got)
        assert (ref.dtype, ref.shape) == (got.dtype, got.shape), f"{path}: {got.dtype}{got.shape}, not {ref.shape}"
        assert np.array_equal(ref, got), f"{path}: {ref} != {got}"


def random_actions(mask: np.ndarray, rng: np.random.Generator, masked_share: float) -> np.ndarray:
    """An allowed action per copy, or with probability ``masked_share`` any action (often a masked one)."""
    acts = rng.integers(mask.shape[1], size=len(mask))
    for c, row in enumerate(mask):
        if row.any() and rng.random() >= masked_share:
            acts[c] = rng.choice(np.flatnonzero(row))
    return acts


def play_both(scenario: str, steps: int, mode=AutoresetMode.NEXT_STEP, masked_share=0.1,
              **overrides) -> tuple[int, int]:
    """Step SyncVectorEnv (the reference) and the native vector env side by side; returns the fewest episode
    ends of a copy and the number of truncations."""
    ref = gym.make_vec(AGGREGATION_ID, num_envs=len(SEEDS), vectorization_mode="sync", scenario=scenario,
                       vector_kwargs={"autoreset_mode": mode}, **overrides)
    vec = gym.make_vec(AGGREGATION_ID, num_envs=len(SEEDS), vectorization_mode="vector_entry_point",
                       scenario=scenario, autoreset_mode=mode, **overrides)
    assert isinstance(vec.unwrapped, AggregationVectorEnv)
    try:
        obs, info = ref.reset(seed=SEEDS)
        assert_same((obs, info), vec.reset(seed=SEEDS), "reset")
        rng = np.random.default_rng(0)
        ends, truncations = np.zeros(len(SEEDS), int), 0
        for t in range(steps):
            mask = obs["action_mask"]
            assert np.array_equal(vec.unwrapped.action_masks(), mask.astype(bool))
            acts = random_actions(mask, rng, masked_share)
            out = ref.step(acts)
            assert_same(out, vec.step(acts), f"step {t}")
            obs = out[0]
            ends += out[2] | out[3]
            truncations += int(out[3].sum())
        return int(ends.min()), truncations
    finally:
        ref.close()
        vec.close()


@pytest.mark.parametrize("scenario", list(STEPS))
def test_copies_equal_single_envs_next_step_autoreset(scenario):
    assert play_both(scenario, STEPS[scenario])[0] >= 2


@pytest.mark.parametrize("scenario", ["tiny", "high_traffic"])
def test_copies_equal_single_envs_same_step_autoreset(scenario):
    assert play_both(scenario, STEPS[scenario], mode=AutoresetMode.SAME_STEP)[0] >= 2


def test_copies_equal_single_envs_with_reward_options_and_truncation():
    """log_edr (math.log, as the single env), a discounting learner's shaping, and a policy that mostly plays
    masked actions, so episodes end by truncation with refused businesses."""
    assert play_both("sparse_traffic", 60, log_edr_weight=1.0, edr_weight=0.0)[0] >= 2
    ends, truncations = play_both("sparse_traffic", 60, shaping_gamma=0.99, step_limit_factor=1.0, masked_share=0.8)
    assert ends >= 2 and truncations >= 4


@pytest.mark.parametrize("mode", [AutoresetMode.DISABLED, AutoresetMode.NEXT_STEP])
def test_partial_resets_equal_sync_vector_env(mode):
    """Gymnasium's partial reset (``options={"reset_mask": mask}``): with autoreset disabled, the copies whose
    episode ended are reset by hand; in next-step mode, a copy is cut short mid-episode."""
    k = 4
    ref = gym.make_vec(AGGREGATION_ID, num_envs=k, vectorization_mode="sync", scenario="sparse_traffic",
                       vector_kwargs={"autoreset_mode": mode})
    vec = gym.make_vec(AGGREGATION_ID, num_envs=k, vectorization_mode="vector_entry_point", scenario="sparse_traffic",
                       autoreset_mode=mode)
    obs, info = ref.reset(seed=11)
    assert_same((obs, info), vec.reset(seed=11), "reset")
    rng = np.random.default_rng(1)
    resets = 0
    for t in range(60):
        acts = random_actions(obs["action_mask"], rng, 0.1)
        out = ref.step(acts)
        assert_same(out, vec.step(acts), f"step {t}")
        obs = out[0]
        done = out[2] | out[3]
        mask = done if mode == AutoresetMode.DISABLED else (np.arange(k) == t % k) & (t % 7 == 3)
        if mask.any():
            options = {"reset_mask": mask, **({"working_sats": 2} if t % 2 else {})}
            obs, info = ref.reset(options=dict(options))
            assert_same((obs, info), vec.reset(options=dict(options)), f"partial reset {t}")
            resets += int(mask.sum())
    assert resets >= 4
    if mode == AutoresetMode.DISABLED:
        while not (out[2] | out[3]).any():
            out = vec.step(np.zeros(k, int))
        with pytest.raises(ValueError, match="reset_mask"):
            vec.step(np.zeros(k, int))


def test_seeds_like_sync_vector_env_and_reset_options():
    """An int seed gives copy k seed + k; a reset without a seed continues each copy's stream; reset options
    apply to the episodes that reset starts."""
    vec = AggregationVectorEnv(3, scenario="tiny")
    single = gym.make(AGGREGATION_ID, scenario="tiny")
    obs, _ = vec.reset(seed=10)
    for c in range(3):
        ref, _ = single.reset(seed=10 + c)
        assert np.array_equal(ref["observation"], obs["observation"][c])
    obs, info = vec.reset(options={"working_sats": "all"})
    assert np.all(info["working_sats"] == vec.m) and not obs["action_mask"].any()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"num_envs": 0}, "num_envs"), ({"num_envs": 2.5}, "num_envs"), ({"num_envs": True}, "num_envs"),
    ({"num_envs": 2, "autoreset_mode": "Never"}, "autoreset_mode"),
    ({"num_envs": 2, "render_mode": "human"}, "render_mode"),
    ({"num_envs": 2, "businesses_per_sat": -1}, "businesses_per_sat"),
])
def test_bad_construction_raises_value_error_naming_it(kwargs, field):
    with pytest.raises(ValueError, match=field):
        AggregationVectorEnv(scenario="tiny", **kwargs)


def test_bad_step_and_reset_input_raises_value_error_naming_it():
    vec = AggregationVectorEnv(2, scenario="tiny")
    with pytest.raises(ValueError, match="step: call reset"):
        vec.step(np.zeros(2, int))
    with pytest.raises(ValueError, match="seed"):
        vec.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="seed"):
        vec.reset(seed="7")
    with pytest.raises(ValueError, match="options"):
        vec.reset(options={"instance": None})
    with pytest.raises(ValueError, match="working_sats"):
        vec.reset(options={"working_sats": 0})
    for mask in (np.array([True, False]), np.array([1, 1]), np.zeros(2, bool), [True, True]):
        with pytest.raises(ValueError, match="reset_mask"):  # the first reset starts every copy
            vec.reset(options={"reset_mask": mask})
    with pytest.raises(ValueError, match=r"seed\[1\]"):
        vec.reset(seed=[5, -1])
    with pytest.raises(ValueError, match=r"seed\[0\]"):
        vec.reset(seed=[True, 1])
    vec.reset(seed=0)
    for c in (-1, 2, 1.0):
        with pytest.raises(ValueError, match="instance"):
            vec.instance(c)
    for bad, what in ((np.zeros(3, int), "shape"), (np.zeros((2, 1), int), "shape"), (np.zeros(2), "dtype"),
                      (np.array([0, vec.m]), r"\[0, 3\]"), (np.array([-1, 0]), r"\[0, 3\]"), ([True, False], "dtype")):
        with pytest.raises(ValueError, match=f"actions.*{what}"):
            vec.step(bad)


def test_a_refused_seed_list_changes_nothing():
    """Every seed is checked before any copy is reseeded: after a refused reset the copies go on as if it had
    not been called."""
    vec, ref = AggregationVectorEnv(2, scenario="tiny"), AggregationVectorEnv(2, scenario="tiny")
    vec.reset(seed=[3, 4])
    ref.reset(seed=[3, 4])
    with pytest.raises(ValueError, match="seed"):
        vec.reset(seed=[5, -1])
    assert_same(ref.reset(), vec.reset())


@pytest.mark.parametrize("m", [1, 4, 7, 8, 12, 17, 64, 128, 129, 300])
def test_selected_sum_is_numpy_sum_of_the_selection_bit_for_bit(m):
    """numpy's summation order, emulated a column at a time, for every count of selected numbers."""
    rng = np.random.default_rng(m)
    values = rng.uniform(0, 1e4, (3000, m)) * rng.choice([1e-3, 1.0, 1e3], (3000, m))
    mask = rng.random((3000, m)) < rng.random((3000, 1))
    assert np.array_equal(selected_sum(values, mask), [v[s].sum() for v, s in zip(values, mask)])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), masked_share=st.floats(0.0, 1.0),
       scenario=st.sampled_from(["tiny", "sparse_traffic"]))
def test_every_business_and_bit_accounted_for_in_every_copy(seed, masked_share, scenario):
    """Reassigned + stranded + still to place (refused if the episode ended now) = businesses to reassign, and
    the bits the working satellites received are those of the reassigned businesses, in every copy, at
    every step, whatever the actions."""
    vec = AggregationVectorEnv(4, scenario=scenario)
    obs, info = vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(25):
        b = vec.batch
        assert np.array_equal(info["reassigned"] + info["stranded"] + info["refused"], info["businesses_to_reassign"])
        assigned = b.assigned >= 0  # -1: not (yet) assigned, and the padding
        assert np.allclose(b.received_bits.sum(axis=1), np.where(assigned, b.bits, 0.0).sum(axis=1), rtol=1e-12)
        assert np.array_equal(b.count.sum(axis=1), assigned.sum(axis=1))
        obs, _, _, _, info = vec.step(random_actions(obs["action_mask"], rng, masked_share))



def first_episodes(scenario: str, policy, seeds=range(8)) -> tuple[np.ndarray, np.ndarray]:
    """Each copy's first episode under ``policy(mask, rng) -> actions``: its return and its EDR."""
    vec = AggregationVectorEnv(len(seeds), scenario=scenario)
    obs, _ = vec.reset(seed=list(seeds))
    rng = np.random.default_rng(0)
    returns, edr, ended = np.zeros(len(seeds)), np.zeros(len(seeds)), np.zeros(len(seeds), bool)
    while not ended.all():
        obs, reward, terminated, truncated, info = vec.step(policy(obs["action_mask"], rng))
        returns += np.where(ended, 0.0, reward)
        edr = np.where(~ended & info["metrics_final"], info["edr_j_per_s"], edr)
        ended |= terminated | truncated
    return returns, edr


def always_masked(mask, rng):
    return np.argmin(mask, axis=1)  # a masked satellite wherever there is one


def ignores_mask(mask, rng):
    return rng.integers(mask.shape[1], size=len(mask))


def random_allowed(mask, rng):
    return (rng.random(mask.shape) * mask).argmax(axis=1)


@pytest.mark.parametrize("scenario", ["low_traffic", "medium_traffic", "high_traffic"])
def test_degenerate_policies_score_worst_on_return_and_edr_in_a_batch(scenario):
    """In the vector env as in the single env: always a masked action (no progress: nothing is ever placed)
    and ignoring the mask both score below random allowed actions on the summed return and on the EDR."""
    valid_return, valid_edr = first_episodes(scenario, random_allowed)
    for policy in (always_masked, ignores_mask):
        ret, edr = first_episodes(scenario, policy)
        assert ret.mean() < valid_return.mean() and edr.mean() < valid_edr.mean(), policy.__name__
