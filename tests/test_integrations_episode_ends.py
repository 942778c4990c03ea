"""The toolkits users arrive with, each across at least two episode ends: TorchRL (PettingZooWrapper on
offload_routing, GymWrapper on Aggregation, with masks), SuperSuit + SB3 (parameter sharing), sb3-contrib's
MaskablePPO through gym.make, and gymnasium.make_vec (sync and async). Episodes are kept short (offload
"tiny" cut to a few dozen slots, Aggregation "tiny" and "high_traffic", whose instances often have nothing
to reassign: an all-zero mask from the first observation). RLlib across episode ends: tests/ of the
RLlib example."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import leo_envs  # noqa: F401  (registers the ids here and, by import, in subprocess workers)
from leo_envs import offload_routing_v3
from leo_envs.wrappers import GymHoldWhenIdle, GymScalarInfos, HoldWhenIdle, ScalarInfos

OFFLOAD_SLOTS = 20  # a short tiny episode (1 s): two ends in ~40 steps


def strict_sample(mask: np.ndarray, rng) -> int:
    """A masked sampler that, like TorchRL's, fails on an all-zero mask."""
    allowed = np.flatnonzero(mask)
    if not allowed.size:
        raise ValueError("all-zero mask")
    return int(rng.choice(allowed))


# ----------------------------------------------------------------------------------------------- TorchRL
def test_torchrl_pettingzoo_wrapper_across_episode_ends():
    pytest.importorskip("torchrl", reason="TorchRL is the optional extra: pip install 'leo-envs[torchrl]'")
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper
    from torchrl.envs.utils import check_env_specs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchRL notes it was tested with an older PettingZoo
        env = PettingZooWrapper(HoldWhenIdle(ScalarInfos(offload_routing_v3.parallel_env(
            "tiny", max_cycles=OFFLOAD_SLOTS))), use_mask=True, seed=0)
        check_env_specs(env)
        td = env.rollout(2 * OFFLOAD_SLOTS + 5, break_when_any_done=False)  # resets inside the rollout
    done = td["next", "done"].squeeze(-1)
    assert int(done.sum()) >= 2
    info = td["next", "sat", "info"]
    final = info["metrics_final"].bool()  # (steps, agents)
    assert bool((final == done[:, None]).all())  # True at the last step of each episode only
    assert np.allclose(info["t_s"][done].numpy(), OFFLOAD_SLOTS * 0.05)
    assert bool((info["arrived_tasks"][done] > 0).all())
    assert bool((td["sat", "info", "metrics_final"] == 0).all())  # the observations acted on: not final
    actions, masks = td["sat", "action"], td["sat", "action_mask"]
    assert bool(masks.any(-1).all())  # HoldWhenIdle: always an allowed action
    assert bool(masks.gather(-1, actions.long().unsqueeze(-1)).all())  # sampled actions respect the masks


@pytest.mark.parametrize("scenario", ["tiny", "high_traffic"])
def test_torchrl_gym_wrapper_aggregation_across_episode_ends(scenario):
    pytest.importorskip("torchrl", reason="TorchRL is the optional extra: pip install 'leo-envs[torchrl]'")
    from torchrl.envs import GymWrapper, TransformedEnv
    from torchrl.envs.gym_like import default_info_dict_reader
    from torchrl.envs.transforms import ActionMask
    from torchrl.envs.utils import check_env_specs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = GymWrapper(GymHoldWhenIdle(GymScalarInfos(gym.make("leo_envs/Aggregation-v2", scenario=scenario))))
        base.set_info_dict_reader(default_info_dict_reader())  # every key, specs from the first reset
        env = TransformedEnv(base, ActionMask())
        env.set_seed(0)
        check_env_specs(env)
        td = env.rollout(40, break_when_any_done=False)
    done = td["next", "done"].squeeze(-1)
    assert int(done.sum()) >= 2
    assert bool((td["next", "metrics_final"].squeeze(-1).bool() == done).all())
    assert bool((td["next", "masked_actions"].squeeze(-1) == 0).all())  # ActionMask: only allowed actions
    mask = td["action_mask"].bool()
    assert bool(mask.any(-1).all())
    assert bool((td["action"].bool() & ~mask).sum() == 0)  # one-hot actions inside the masks


# ------------------------------------------------------------------------------------------ SuperSuit + SB3
def test_supersuit_sb3_ppo_learns_across_episode_ends():
    pytest.importorskip("supersuit", reason="SuperSuit is in the 'train' extra: pip install 'leo-envs[train]'")
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    from agents.supersuit_sb3 import make_sb3_vec_env

    torch.set_num_threads(1)

    class EpisodeEnds(BaseCallback):
        def __init__(self):
            super().__init__()
            self.ends, self.keys, self.mismatches = [], None, 0

        def _on_step(self) -> bool:
            infos, dones = self.locals["infos"], self.locals["dones"]
            for info, d in zip(infos, dones):
                keys = set(info) - {"terminal_observation"}
                self.keys = self.keys or keys
                self.mismatches += keys != self.keys or bool(info["metrics_final"]) != bool(d)
            if dones.all():
                self.ends.append(infos)
            return True

    vec = make_sb3_vec_env(offload_routing_v3.parallel_env("tiny", max_cycles=OFFLOAD_SLOTS))
    n_agents = vec.num_envs
    model = PPO("MultiInputPolicy", vec, n_steps=32, batch_size=n_agents * 16, n_epochs=1, seed=0, device="cpu")
    cb = EpisodeEnds()
    model.learn(n_agents * OFFLOAD_SLOTS * 2 + 1, callback=cb)
    assert len(cb.ends) >= 2 and cb.mismatches == 0
    for infos in cb.ends:
        # the done step's info is the last step's (SuperSuit alone would merge the next reset's over it)
        assert all(i["metrics_final"] and i["t_s"] == pytest.approx(OFFLOAD_SLOTS * 0.05) for i in infos)
        assert infos[0]["arrived_tasks"] > 0
        # each slot its own terminal observation (RS-Sats and C-Sats differ in is_csat)
        terminal = np.stack([i["terminal_observation"]["observation"] for i in infos])
        assert len({row.tobytes() for row in terminal}) > 1
    assert not vec.venv.vec_envs[0].reset_infos[0]["metrics_final"]  # the next episode's first info


# ------------------------------------------------------------------------------------- sb3-contrib MaskablePPO
@pytest.mark.parametrize("scenario", ["tiny", "high_traffic"])
def test_maskable_ppo_gym_make_across_episode_ends(scenario):
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    class EpisodeEnds(BaseCallback):
        def __init__(self):
            super().__init__()
            self.ends, self.masked, self.mismatches = 0, 0, 0

        def _on_step(self) -> bool:
            info, done = self.locals["infos"][0], bool(self.locals["dones"][0])
            self.mismatches += bool(info["metrics_final"]) != done
            if done:
                self.ends += 1
                self.masked += info["masked_actions"]
                assert "terminal_observation" in info and not info["terminal_observation"]["action_mask"].any()
            return True

    env = gym.make("leo_envs/Aggregation-v2", scenario=scenario)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    cb = EpisodeEnds()
    model.learn(64, callback=cb)
    assert cb.ends >= 2 and cb.mismatches == 0 and cb.masked == 0


# ---------------------------------------------------------------------------------------- gymnasium.make_vec
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_across_episode_ends(mode):
    """Default (next-step) autoreset: the step that ends an episode returns its terminal observation and
    final info; the next step resets that env and ignores its action. GymHoldWhenIdle gives the terminal
    observation (and empty first ones) one allowed action, so a strict sampler never sees an all-zero mask."""
    envs = gym.make_vec("leo_envs/Aggregation-v2", num_envs=3, vectorization_mode=mode, scenario="high_traffic",
                        wrappers=[GymHoldWhenIdle])
    try:
        obs, info = envs.reset(seed=0)
        keys, terms = set(info), set(info["rewards"])
        rng = np.random.default_rng(0)
        ends = 0
        for _ in range(40):
            actions = np.array([strict_sample(m, rng) for m in obs["action_mask"]])
            obs, rewards, terminated, truncated, info = envs.step(actions)
            done = terminated | truncated
            assert set(info) == keys and set(info["rewards"]) == terms
            assert np.array_equal(info["metrics_final"], done)
            assert np.all(np.isfinite(rewards)) and np.all(info["masked_actions"] == 0)
            ends += int(done.sum())
        assert ends >= 2
    finally:
        envs.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_same_step_autoreset_final_info(mode):
    """Same-step autoreset: the step returns the next episode's first observation and info, the terminal
    observation in info["final_obs"] (all-zero mask) and the last step's info in info["final_info"]."""
    envs = gym.make_vec("leo_envs/Aggregation-v2", num_envs=2, vectorization_mode=mode, scenario="tiny",
                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    try:
        obs, info = envs.reset(seed=0)
        keys = set(info)
        rng = np.random.default_rng(0)
        ends = 0
        for _ in range(30):
            # a first observation with nothing to reassign has an all-zero mask: any action (ignored)
            actions = np.array([strict_sample(m, rng) if m.any() else 0 for m in obs["action_mask"]])
            obs, _, terminated, truncated, info = envs.step(actions)
            done = terminated | truncated
            assert set(info) - {"final_obs", "final_info", "_final_obs", "_final_info"} == keys
            assert not info["metrics_final"].any()  # the new episodes' first infos
            if done.any():
                assert set(info["final_info"]) == keys
                assert np.array_equal(info["final_info"]["metrics_final"], done)
                for i in np.flatnonzero(done):
                    assert not info["final_obs"][i]["action_mask"].any()
            ends += int(done.sum())
        assert ends >= 2
    finally:
        envs.close()
