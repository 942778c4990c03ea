"""Training sb3-contrib's MaskablePPO on offload_routing_v3 with parameter sharing: every satellite is a row of
one native SB3 vector env over one env (``agents.sb3_offload_vec_env.OffloadRoutingVecEnv``, through the env's
``step_arrays``), all rows share one policy, and MaskablePPO samples from the masks it gets from the vector
env's ``action_masks()``, so no masked action is ever played; a row with nothing to decide allows hold only
and gives no policy gradient. Like our own learners: tqdm progress, CSV + TensorBoard through SB3's logger
with the episode metrics, checkpoints and ``--resume`` (``agents.sb3_training``), ``model.pt`` + ``meta.json``.

Budgets come in two units: env steps (slots; ``steps`` in the config and meta.json, ``time/env_steps`` in
progress.csv) and agent-steps (slots x satellites; SB3's timesteps: ``timesteps`` in meta.json,
``time/total_timesteps`` in progress.csv); meta.json also records ``agents_per_step``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sb3_contrib
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import VecMonitor

from agents.sb3_offload_vec_env import OffloadRoutingVecEnv
from agents.sb3_training import EpisodeSeeds, train_sb3
from leo_envs import offload_routing_v3

from .config import PPOSB3Config


class SharedMaskablePPO(MaskablePPO):
    """MaskablePPO that also logs env steps (``time/env_steps``: agent-steps / rows) beside SB3's timesteps."""

    def dump_logs(self, iteration: int = 0) -> None:
        self.logger.record("time/env_steps", self.num_timesteps // self.n_envs)
        super().dump_logs(iteration)


def training_env(cfg: PPOSB3Config):
    overrides = {} if cfg.max_cycles is None else {"max_cycles": cfg.max_cycles}
    return offload_routing_v3.parallel_env(cfg.scenario, reward_mode=cfg.reward_mode, **overrides)


def build(cfg: PPOSB3Config):
    """The MaskablePPO model on the vector env of the training env (one row per satellite)."""
    if cfg.minibatches < 1 or cfg.n_steps < 1:
        raise ValueError(f"n_steps {cfg.n_steps} and minibatches {cfg.minibatches} must be >= 1")
    seeds = EpisodeSeeds(cfg.seed)
    vec = VecMonitor(OffloadRoutingVecEnv(training_env(cfg), seeds, cfg.reward_scale))
    model = SharedMaskablePPO("MlpPolicy", vec, n_steps=cfg.n_steps,
                              batch_size=max(cfg.n_steps * vec.num_envs // cfg.minibatches, 1), **cfg.ppo_kwargs(),
                              seed=cfg.seed, device="cpu", verbose=0)
    return model, vec, seeds


META = {"agent": "ppo_sb3", "env": "offload_routing", "library": "sb3-contrib",
        "library_version": sb3_contrib.__version__, "algorithm": "MaskablePPO",
        "parameter_sharing": "agents.sb3_offload_vec_env.OffloadRoutingVecEnv (one row per satellite)"}


@contextlib.contextmanager
def no_distribution_checks() -> Iterator[None]:
    """torch's distributions without argument validation while training (about a tenth of the wall time on
    iridium goes to checking the masked logits' constraints; the values are the same)."""
    old = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(old)


def train(cfg: PPOSB3Config, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train for ``cfg.steps`` slots into ``out`` (``resume``: from its last checkpoint, bit for bit)."""
    meta = dict(META)

    def build_recording(c: PPOSB3Config):
        model, vec, seeds = build(c)
        meta["agents_per_step"] = vec.num_envs  # agent-steps = env steps x this
        return model, vec, seeds

    with no_distribution_checks():
        return train_sb3(cfg, out, resume, progress, build=build_recording, meta=meta, total_steps=cfg.steps,
                         desc="ppo_sb3", unit="slot")
