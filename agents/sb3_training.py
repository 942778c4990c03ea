"""Training a stable-baselines3 on-policy algorithm (PPO, sb3-contrib's MaskablePPO) like our own learners:
a tqdm progress bar, CSV + TensorBoard through SB3's logger with the envs' end-of-episode metrics
(``agents.sb3_callbacks.EpisodeMetrics``), checkpoints, ``--resume``, and the evaluable ``model.pt`` (the
policy's state_dict) + ``meta.json``.

Nothing a run writes is a pickle. The checkpoint (the ``checkpoint/`` snapshot of ``agents.checkpoint``:
written whole or not at all) is ``state.pt`` (the policy's and the optimizer's state_dicts and torch's RNG
state, loaded with ``weights_only=True``), ``state.npz`` (numpy's global RNG state, which SB3 shuffles
minibatches with, and the actions played so far in the episode in progress) and ``meta.json`` (counters,
Python's RNG state). Checkpoints are written at the start of a
rollout, right after a policy update; an env in the middle of an episode is restored by resetting it with
that episode's seed and replaying its actions (the envs are deterministic given both), so a resumed run
continues bit for bit as if it had never stopped.

Training episodes reset with seeds of the run's training range (``agents.common.training_seed``): the
learner's vector env calls ``EpisodeSeeds.next_seed`` at every reset, the first one and the automatic ones
alike, so they never meet evaluate.py's seeds (1000 s + e).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from tqdm import tqdm

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    WEIGHTS_FILE,
    CheckpointError,
    check_resume,
    npz_bytes,
    read_checkpoint,
    rewind_csv,
    torch_bytes,
    write_snapshot,
)
from agents.common import TRAINING_SEEDS_PER_RUN, TrainClock, setup_torch, training_seed, training_seed_range
from agents.sb3_callbacks import EpisodeMetrics
from leo_envs import __version__

STATE_FILE = "state.pt"
ARRAYS_FILE = "state.npz"


@dataclass
class PPOHyperparameters:
    """PPO's own hyper-parameters, shared by the configs of the SB3 learners (each adds its env, its budget
    and its rollout size); defaults are SB3's unless a config overrides them."""

    n_epochs: int = 10
    """passes over each rollout"""
    lr: float = 3e-4
    """Adam learning rate (constant)"""
    gamma: float = 0.99
    """discount per env step"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    clip_range: float = 0.2
    """PPO's clipping of the probability ratio"""
    ent_coef: float = 0.0
    """entropy bonus"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    max_grad_norm: float = 0.5
    """gradient norm clip"""
    hidden: int = 64
    """width of the two hidden layers of the policy and of the value network"""
    checkpoint_every: int = 2_000
    """env steps between checkpoints (written at the start of the next rollout)"""

    def policy_kwargs(self) -> dict:
        return {"net_arch": [self.hidden, self.hidden]}

    def ppo_kwargs(self) -> dict:
        """Keywords of ``PPO(...)`` / ``MaskablePPO(...)`` from these fields."""
        return {"learning_rate": self.lr, "n_epochs": self.n_epochs, "gamma": self.gamma,
                "gae_lambda": self.gae_lambda, "clip_range": self.clip_range, "ent_coef": self.ent_coef,
                "vf_coef": self.vf_coef, "max_grad_norm": self.max_grad_norm, "policy_kwargs": self.policy_kwargs()}

    def to_dict(self) -> dict:
        return asdict(self)


class EpisodeSeeds:
    """The reset seeds of one training run: episode e resets with ``training_seed(run_seed, e)``."""

    def __init__(self, run_seed: int):
        self.run_seed = int(run_seed)
        self.started = 0  # episodes reset so far

    def next_seed(self) -> int:
        if self.started >= TRAINING_SEEDS_PER_RUN:
            raise ValueError(f"training: more than {TRAINING_SEEDS_PER_RUN} episodes in one run")
        seed = training_seed(self.run_seed, self.started)
        self.started += 1
        return seed

    def record(self) -> dict:
        """What meta.json says about them: the run's seed range and the episodes reset from it."""
        return {"training_seeds": training_seed_range(self.run_seed), "training_episodes": self.started}


class AppendingCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV output, continuing an existing ``progress.csv`` (SB3's own truncates it) from the rows
    logged up to ``resume_timesteps`` (those after it belong to an invocation killed after its checkpoint)."""

    def __init__(self, filename: str, resume_timesteps: int | None):
        path = Path(filename)
        append = resume_timesteps is not None
        if append:
            rewind_csv(path, "time/total_timesteps", resume_timesteps)
        old = path.read_text() if append and path.is_file() else ""
        super().__init__(filename)
        if old:
            self.file.write(old if old.endswith("\n") else old + "\n")
            self.file.flush()
            self.keys = old.splitlines()[0].split(self.separator)


class ResumingTensorBoardOutputFormat(TensorBoardOutputFormat):
    """SB3's TensorBoard output; resuming, events after ``resume_timesteps`` are purged (TensorBoard's
    ``purge_step``)."""

    def __init__(self, folder: str, resume_timesteps: int | None):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=folder, purge_step=None if resume_timesteps is None
                                    else resume_timesteps + 1)
        self._is_closed = False


def make_logger(out: Path, resume_timesteps: int | None = None) -> Logger:
    """SB3's logger writing ``out/progress.csv`` and TensorBoard events in ``out``; resuming from a checkpoint
    at ``resume_timesteps``, both continue from it."""
    return Logger(str(out), [AppendingCSVOutputFormat(str(out / "progress.csv"), resume_timesteps),
                             ResumingTensorBoardOutputFormat(str(out), resume_timesteps)])


class TrainingCallback(BaseCallback):
    """Progress bar (one tick per env step), the actions of the episode in progress (to restore it on
    resume), and a checkpoint every ``every`` env steps, written when the next rollout starts (after the
    policy update)."""

    def __init__(self, run: SB3Run, total: int, progress: bool, desc: str, unit: str):
        super().__init__()
        self.run, self.total, self.progress, self.desc, self.unit = run, total, progress, desc, unit
        self.next_checkpoint = 0

    def _on_training_start(self) -> None:
        step = self.run.env_steps()
        self.bar = tqdm(total=self.total, initial=step, desc=self.desc, unit=self.unit, disable=not self.progress)
        self.next_checkpoint = (step // self.run.checkpoint_every + 1) * self.run.checkpoint_every

    def _on_rollout_start(self) -> None:
        if self.run.env_steps() >= self.next_checkpoint:
            self.run.save_checkpoint()
            self.next_checkpoint += self.run.checkpoint_every

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if dones.any():
            if not dones.all():
                raise ValueError("training: every slot of the vector env must end its episode together")
            self.run.episode_actions.clear()
        else:
            self.run.episode_actions.append(np.asarray(self.locals["actions"]).reshape(-1).copy())
        self.bar.update(1)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


def trained_policy(algo: type, observation_space, action_space, cfg: PPOHyperparameters, weights: dict):
    """The policy network ``algo("MultiInputPolicy", ...)`` trained, rebuilt without an env from ``cfg``
    and loaded with ``weights["policy"]`` (a checkpoint's model.pt), in evaluation mode."""
    policy = algo.policy_aliases["MultiInputPolicy"](observation_space, action_space, lambda _: cfg.lr,
                                                     **cfg.policy_kwargs())
    policy.load_state_dict(weights["policy"])
    policy.set_training_mode(False)
    return policy


class SB3Run:
    """One training run of ``model`` on ``vec`` (a single env's slots; ``seeds`` drives its resets) into ``out``.

    ``meta`` holds what meta.json says besides the counters: ``agent``, ``env`` and ``library``."""

    def __init__(self, model, vec, seeds: EpisodeSeeds, cfg, out: Path, meta: dict, checkpoint_every: int):
        self.model, self.vec, self.seeds, self.cfg, self.out = model, vec, seeds, cfg, Path(out)
        self.meta, self.checkpoint_every = meta, checkpoint_every
        self.episode_actions: list[np.ndarray] = []
        self.clock = TrainClock()

    def env_steps(self) -> int:
        """Steps of the env: SB3 counts one timestep per vector slot, and every slot is the same env."""
        return int(self.model.num_timesteps) // self.vec.num_envs

    def counters(self) -> dict:
        return {"step": self.env_steps(), "timesteps": int(self.model.num_timesteps),
                "updates": int(self.model._n_updates), **self.seeds.record(),
                "train_wall_s": round(self.clock.total_s(), 3)}

    def model_meta(self) -> dict:
        return {**self.meta, "version": __version__, "config": asdict(self.cfg), **self.counters()}

    def save_model(self) -> None:
        """The evaluable model: the ``model/`` snapshot (model.pt: the policy's state_dict, meta.json)."""
        write_snapshot(self.out / MODEL_DIR, self.model_meta(),
                       {WEIGHTS_FILE: torch_bytes({"policy": self.model.policy.state_dict()})})

    def save_checkpoint(self) -> None:
        policy = self.model.policy
        kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (SB3 shuffles with it)
        n = self.vec.num_envs
        actions = np.stack(self.episode_actions) if self.episode_actions else np.zeros((0, n), np.int64)
        write_snapshot(self.out / CHECKPOINT_DIR, {**self.model_meta(), "python_rng": random.getstate()}, {
            STATE_FILE: torch_bytes({"policy": policy.state_dict(), "optimizer": policy.optimizer.state_dict(),
                                     "torch_rng": torch.get_rng_state()}),
            ARRAYS_FILE: npz_bytes({"np_rng_kind": np.array(kind), "np_rng_keys": keys,
                                    "np_rng_ints": np.array([pos, has_gauss], np.int64),
                                    "np_rng_gauss": np.array(cached, np.float64), "episode_actions": actions})})
        self.save_model()

    def restore(self) -> None:
        """The state of the last checkpoint: weights, optimizer, RNGs, counters, and the env in the episode
        it was in (reset with that episode's seed, its actions replayed)."""
        snapshot = read_checkpoint(self.out)
        check_resume(snapshot, agent=self.meta["agent"], env=self.meta["env"], config=asdict(self.cfg))
        meta, state = snapshot.meta, snapshot.torch(STATE_FILE)
        arrays = snapshot.arrays(ARRAYS_FILE)
        policy = self.model.policy
        try:
            pos, has_gauss = arrays["np_rng_ints"].tolist()
            np_rng = (str(arrays["np_rng_kind"]), arrays["np_rng_keys"], pos, has_gauss,
                      float(arrays["np_rng_gauss"]))
            actions = arrays["episode_actions"]
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{snapshot.file(ARRAYS_FILE)}: RNG state or episode actions unusable "
                                  f"({type(exc).__name__}: {exc})") from None
        try:
            policy.load_state_dict(state["policy"])
            policy.optimizer.load_state_dict(state["optimizer"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{snapshot.file(STATE_FILE)}: does not fit this policy ({type(exc).__name__}: "
                                  f"{str(exc).strip().splitlines()[0][:200]})") from None
        try:
            self.model.num_timesteps = int(meta["timesteps"])
            self.model._n_updates = int(meta["updates"])
            self.clock.prior = float(meta["train_wall_s"])  # summed over the run's invocations
            self.seeds.started = int(meta["training_episodes"]) - 1  # the episode in progress resets again
            version, internal, gauss = meta["python_rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{snapshot.path / 'meta.json'}: counters or RNG state unusable ({exc})") from None
        obs = self.vec.reset()
        for a in actions:
            obs, _, dones, _ = self.vec.step(a)
            if dones.any():
                raise CheckpointError(f"{snapshot.file(ARRAYS_FILE)}: replaying the episode in progress ended it "
                                      "early")
        self.episode_actions = list(actions)
        self.model._last_obs = obs
        self.model._last_episode_starts = np.full(self.vec.num_envs, len(actions) == 0)
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(np_rng)  # noqa: NPY002
        random.setstate((version, tuple(internal), gauss))

    def learn(self, total_steps: int, resumed: bool, progress: bool, desc: str, unit: str) -> dict:
        """Train until ``total_steps`` env steps (whole rollouts: SB3 stops at the first rollout end past it)."""
        slots, rollout = self.vec.num_envs, self.model.n_steps
        remaining = total_steps * slots - int(self.model.num_timesteps)
        if remaining > 0:
            planned = -(-total_steps // rollout) * rollout  # where SB3 will stop (runs start at rollout ends)
            callbacks = CallbackList([TrainingCallback(self, planned, progress, desc, unit),
                                      EpisodeMetrics(slots_per_episode=slots, verbose=0)])
            self.model.learn(remaining, callback=callbacks, reset_num_timesteps=not resumed, log_interval=1)
        self.save_checkpoint()
        return {k: v for k, v in self.counters().items() if k in ("step", "timesteps", "updates",
                                                                   "training_episodes")}


def train_sb3(cfg, out: Path, resume: bool, progress: bool, *, build: Callable[[Any], tuple], meta: dict,
              total_steps: int, desc: str, unit: str) -> dict:
    """A learner's ``train``: ``build(cfg) -> (model, vec, seeds)`` makes the SB3 model, its vector env and
    the ``EpisodeSeeds`` its resets draw from; a fresh run unless ``resume`` finds a checkpoint in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed)
    model, vec, seeds = build(cfg)
    run = SB3Run(model, vec, seeds, cfg, out, meta, cfg.checkpoint_every)
    if resume:
        run.restore()
    model.set_logger(make_logger(out, int(model.num_timesteps) if resume else None))
    return run.learn(total_steps, resume, progress, desc, unit)


class SB3Logits(torch.nn.Module):
    """An SB3 (sb3-contrib) actor-critic policy's action log-probabilities before masking, as its
    ``get_distribution(obs).distribution.logits`` gives them, for the ONNX export: (observation, action_mask) ->
    logits. ``dict_obs``: the policy reads the env's observation dict (``MultiInputPolicy``: both entries, the mask
    as floats); otherwise the observation array alone (``MlpPolicy``)."""

    def __init__(self, policy, dict_obs: bool):
        super().__init__()
        self.policy, self.dict_obs = policy, dict_obs

    def forward(self, observation: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        obs = {"observation": observation, "action_mask": action_mask.float()} if self.dict_obs else observation
        features = self.policy.extract_features(obs, self.policy.pi_features_extractor)
        latent = self.policy.mlp_extractor.forward_actor(features)
        return torch.log_softmax(self.policy.action_net(latent), -1)
