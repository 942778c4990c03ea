"""Training PPO from stable-baselines3 on offload_routing_v2 with SuperSuit parameter sharing
(``agents.supersuit_sb3.make_sb3_vec_env``: every satellite is a slot of one vector env and all share one
policy), like our own learners: tqdm progress, CSV + TensorBoard through SB3's logger with the episode
metrics, checkpoints and ``--resume`` (``agents.sb3_training``), ``model.pt`` + ``meta.json``.

PPO samples from its policy unmasked while it trains (SuperSuit does not enforce masks; the env holds a
masked action's data for the slot and counts it; the mask is part of the policy's input); the trained
policy (``agents.ppo_sb3.policy``) plays the masked greedy action."""

from __future__ import annotations

import warnings
from pathlib import Path

import stable_baselines3
import supersuit
from pettingzoo.utils.wrappers import BaseParallelWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from agents.sb3_training import EpisodeSeeds, train_sb3
from agents.supersuit_sb3 import make_sb3_vec_env
from leo_envs import offload_routing_v2

from .config import PPOSB3Config


class TrainingSeeds(BaseParallelWrapper):
    """Every reset (SB3's first, seeded with the run seed, and SuperSuit's automatic ones, unseeded) uses
    the next seed of the run's training range instead."""

    def __init__(self, env, run_seed: int):
        super().__init__(env)
        self.seeds = EpisodeSeeds(run_seed)

    def reset(self, seed=None, options=None):
        return self.env.reset(seed=self.seeds.next_seed(), options=options)


def training_env(cfg: PPOSB3Config):
    overrides = {} if cfg.max_cycles is None else {"max_cycles": cfg.max_cycles}
    return offload_routing_v2.parallel_env(cfg.scenario, reward_mode=cfg.reward_mode, **overrides)


def build(cfg: PPOSB3Config):
    """The PPO model on a SuperSuit vector env of the training env (one slot per satellite)."""
    if cfg.minibatches < 1 or cfg.n_steps < 1:
        raise ValueError(f"n_steps {cfg.n_steps} and minibatches {cfg.minibatches} must be >= 1")
    with warnings.catch_warnings():  # SuperSuit's SB3 wrapper has no get_attr("render_mode"); None it is
        warnings.filterwarnings("ignore", message="The `render_mode` attribute is not defined")
        vec = VecMonitor(make_sb3_vec_env(TrainingSeeds(training_env(cfg), cfg.seed)))
    seeds = vec.venv.venv.vec_envs[0].par_env.seeds  # SuperSuit works on a copy of the env: its seeds
    model = PPO("MultiInputPolicy", vec, n_steps=cfg.n_steps,
                batch_size=max(cfg.n_steps * vec.num_envs // cfg.minibatches, 1), **cfg.ppo_kwargs(),
                seed=cfg.seed, device="cpu", verbose=0)
    return model, vec, seeds


META = {"agent": "ppo_sb3", "env": "offload_routing", "library": "stable-baselines3",
        "library_version": stable_baselines3.__version__, "parameter_sharing": f"SuperSuit {supersuit.__version__}"}


def train(cfg: PPOSB3Config, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train for ``cfg.steps`` slots into ``out`` (``resume``: from its last checkpoint, bit for bit)."""
    return train_sb3(cfg, out, resume, progress, build=build, meta=META, total_steps=cfg.steps, desc="ppo_sb3",
                     unit="slot")
