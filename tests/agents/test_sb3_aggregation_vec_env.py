"""Aggregation-v2's vector env as an SB3 VecEnv: the same episodes as SB3's DummyVecEnv over gym.make envs
(observations, rewards, dones, infos, terminal observations), and MaskablePPO training on it across several
episode ends without playing a masked action."""

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.sb3_aggregation_vec_env import AggregationSB3VecEnv
from leo_envs import AGGREGATION_ID


def same_obs(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


def test_same_episodes_as_dummy_vec_env_across_episode_ends():
    k, scenario = 4, "sparse_traffic"
    ours = AggregationSB3VecEnv(k, scenario)
    ref = DummyVecEnv([lambda: gym.make(AGGREGATION_ID, scenario=scenario) for _ in range(k)])
    ours.seed(7)
    ref.seed(7)
    obs, obs_ref = ours.reset(), ref.reset()
    assert same_obs(obs, obs_ref)
    rng = np.random.default_rng(0)
    ends = np.zeros(k, int)
    for _ in range(60):
        masks = ours.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, rewards, dones, infos = ours.step(actions)
        obs_ref, rewards_ref, dones_ref, infos_ref = ref.step(actions)
        assert same_obs(obs, obs_ref) and np.array_equal(rewards, rewards_ref) and np.array_equal(dones, dones_ref)
        for c in range(k):
            info, info_ref = dict(infos[c]), dict(infos_ref[c])
            if dones[c]:
                assert same_obs(info.pop("terminal_observation"), info_ref.pop("terminal_observation"))
                assert info["metrics_final"] and not info["masked_action"]
                assert ours.reset_infos[c] == ref.reset_infos[c]
            assert info == info_ref
        ends += dones
    assert ends.min() >= 2


def test_maskable_ppo_trains_on_copies_and_never_plays_a_masked_action():
    env = AggregationSB3VecEnv(8, "tiny")
    env.seed(0)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(3 * 16 * 8)
    obs = env.reset()
    finals = []
    for _ in range(30):
        actions, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=False)
        obs, _, dones, infos = env.step(actions)
        assert not any(info["masked_action"] for info in infos)
        finals += [info for info, done in zip(infos, dones) if done]
    assert len(finals) >= 16 and all(info["masked_actions"] == 0 for info in finals)


def test_options_reach_every_copy_and_bad_actions_are_refused():
    env = AggregationSB3VecEnv(2, "tiny")
    env.seed(0)
    env.set_options({"working_sats": "all"})
    env.reset()
    assert [info["working_sats"] for info in env.reset_infos] == [env.env.m] * 2
    env.set_options([{"working_sats": 1}, {"working_sats": 2}])
    with pytest.raises(ValueError, match="set_options"):
        env.reset()
    env.set_options(None)
    env.reset()
    for bad in (np.array([1.7, 0.2]), np.array([True, False]), np.array([0, 9]), np.zeros(3, int)):
        with pytest.raises(ValueError, match="actions"):
            env.step(bad)
    assert env.get_attr("steps") == [0, 0] and len(env.env_method("action_masks")) == 2
    with pytest.raises(ValueError, match="set_attr"):
        env.set_attr("render_mode", None, indices=[0])
