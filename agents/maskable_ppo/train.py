"""Training sb3-contrib's MaskablePPO on Aggregation-v2 like our own learners: tqdm progress, CSV +
TensorBoard through SB3's logger with the episode metrics, checkpoints and ``--resume``
(``agents.sb3_training``), ``model.pt`` + ``meta.json``.

The env is ``gym.make("leo_envs/Aggregation-v2", ...)`` with no wrapper: MaskablePPO finds its
``action_masks()`` itself and never plays a masked action, in training or after. Its vector env
(``TrainingSeedsVecEnv``, SB3's DummyVecEnv) resets every episode with the next seed of the run's training
range."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import sb3_contrib
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

import leo_envs
from agents.sb3_training import EpisodeSeeds, train_sb3

from .config import MaskablePPOConfig

LENGTH_SAMPLES = 20  # training episodes whose mean length turns an episode budget into steps


class TrainingSeedsVecEnv(DummyVecEnv):
    """SB3's DummyVecEnv of one env, resetting every episode (its first and the automatic resets at
    episode ends) with ``seeds.next_seed()`` rather than the run seed once and then none."""

    def __init__(self, make_env, seeds: EpisodeSeeds):
        super().__init__([make_env])
        self.seeds = seeds

    def reset(self):
        obs, self.reset_infos[0] = self.envs[0].reset(seed=self.seeds.next_seed())
        self._save_obs(0, obs)
        self._reset_seeds()
        self._reset_options()
        return self._obs_from_buf()

    def step_wait(self):
        obs, self.buf_rews[0], terminated, truncated, self.buf_infos[0] = self.envs[0].step(self.actions[0])
        self.buf_dones[0] = terminated or truncated
        self.buf_infos[0]["TimeLimit.truncated"] = truncated and not terminated
        if self.buf_dones[0]:  # as DummyVecEnv does, with the next training seed
            self.buf_infos[0]["terminal_observation"] = obs
            obs, self.reset_infos[0] = self.envs[0].reset(seed=self.seeds.next_seed())
        self._save_obs(0, obs)
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), [dict(self.buf_infos[0])]


def training_env(cfg: MaskablePPOConfig) -> gym.Env:
    gym.register_envs(leo_envs)
    return gym.make(leo_envs.AGGREGATION_ID, scenario=cfg.scenario, shaping_gamma=cfg.gamma)


def total_steps(cfg: MaskablePPOConfig) -> int:
    """``cfg.steps``, or ``cfg.episodes`` times the mean length of the run's first training episodes."""
    if cfg.steps is not None:
        return cfg.steps
    seeds, env = EpisodeSeeds(cfg.seed), training_env(cfg).unwrapped
    lengths = []
    for _ in range(min(cfg.episodes, LENGTH_SAMPLES)):
        env.reset(seed=seeds.next_seed())
        lengths.append(max(env.instance.num_transfers, 1))
    return max(int(round(cfg.episodes * float(np.mean(lengths)))), 1)


def build(cfg: MaskablePPOConfig):
    seeds = EpisodeSeeds(cfg.seed)
    vec = VecMonitor(TrainingSeedsVecEnv(lambda: training_env(cfg), seeds))
    model = MaskablePPO("MultiInputPolicy", vec, n_steps=cfg.n_steps, batch_size=cfg.batch_size, **cfg.ppo_kwargs(),
                        seed=cfg.seed, device="cpu", verbose=0)
    return model, vec, seeds


META = {"agent": "maskable_ppo", "env": "aggregation", "library": "sb3-contrib",
        "library_version": sb3_contrib.__version__}


def train(cfg: MaskablePPOConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train for ``total_steps(cfg)`` env steps into ``out`` (``resume``: from its last checkpoint, bit for bit)."""
    return train_sb3(cfg, out, resume, progress, build=build, meta=META, total_steps=total_steps(cfg),
                     desc="maskable_ppo", unit="step")


def quick_steps(scenario: str) -> int:
    """The quick budget on ``scenario`` in env steps (``episodes`` at its default, Double DQN's quick budget)."""
    return total_steps(MaskablePPOConfig(scenario=scenario))


FULL_EPISODES = 500  # Double DQN's full budget per traffic level (the paper's)


def full_steps(scenario: str) -> int:
    """The full budget on ``scenario`` in env steps: as many episodes as Double DQN's full budget."""
    return total_steps(MaskablePPOConfig(scenario=scenario, episodes=FULL_EPISODES))
