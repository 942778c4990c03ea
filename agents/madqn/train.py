"""Training MADQN on offload_routing_v3, top to bottom: episodes of the env, per-bundle transitions into
replay, one Double-DQN update per slot, target syncs, CSV + TensorBoard logs, checkpoints at episode
ends (``--resume`` continues from the last one)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    WEIGHTS_FILE,
    CheckpointError,
    check_resume,
    npz_bytes,
    read_checkpoint,
    torch_bytes,
    write_snapshot,
)
from agents.common import RunLogger, TrainClock, setup_torch, training_seed, training_seed_range
from leo_envs import __version__, offload_routing_v3

from .agent import N_ROUTE, MADQNAgent
from .config import MADQNConfig
from .replay import ReplayBuffer

LOG_FIELDS = ["step", "episode", "updates", "epsilon", "loss", "mean_task_cost_s", "mean_delay_s", "p95_delay_s",
              "completion_rate", "drop_rate", "episode_return"]


def epsilon_at(cfg: MADQNConfig, step: int) -> float:
    frac = min(step / max(cfg.eps_fraction * cfg.steps, 1), 1.0)
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


LEARNER_FILE = "learner.pt"
REPLAY_FILE = "replay.npz"


def save_checkpoint(out: Path, cfg: MADQNConfig, agent: MADQNAgent, replay: ReplayBuffer, counters: dict,
                    rng: np.random.Generator, clock: TrainClock) -> None:
    """The resume state (networks, Adam, replay, counters, RNGs) and the evaluable model, each a snapshot."""
    meta = {"agent": "madqn", "env": "offload_routing", "version": __version__, "config": cfg.to_dict(),
            "training_seeds": training_seed_range(cfg.seed), "library": "torch", "library_version": torch.__version__,
            "train_wall_s": clock.total_s(), **counters}
    write_snapshot(out / CHECKPOINT_DIR, {**meta, "rng": rng.bit_generator.state}, {
        LEARNER_FILE: torch_bytes({**agent.state_dict(), "torch_rng": torch.get_rng_state()}),
        REPLAY_FILE: npz_bytes(replay.arrays())})
    write_snapshot(out / MODEL_DIR, meta, {WEIGHTS_FILE: torch_bytes({"online": agent.online.state_dict()})})


def restore(out: Path, cfg: MADQNConfig, agent: MADQNAgent, replay: ReplayBuffer,
            rng: np.random.Generator) -> tuple[dict, TrainClock]:
    """Load the checkpoint of ``out`` (a madqn run of ``cfg``) into ``agent``, ``replay`` and ``rng``:
    ``(counters, clock)``."""
    snapshot = read_checkpoint(out)
    check_resume(snapshot, agent="madqn", env="offload_routing", config=cfg.to_dict())
    state = snapshot.torch(LEARNER_FILE)
    try:
        agent.load_state_dict(state)
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{snapshot.file(LEARNER_FILE)}: does not fit this MADQN ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0][:200]})") from None
    try:
        replay.restore(snapshot.arrays(REPLAY_FILE))
    except ValueError as exc:
        raise CheckpointError(f"{snapshot.file(REPLAY_FILE)}: {exc}") from None
    meta = snapshot.meta
    try:
        rng.bit_generator.state = meta["rng"]
        counters = {k: int(meta[k]) for k in ("step", "episode", "updates")}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{snapshot.path / 'meta.json'}: counters or RNG state unusable ({exc})") from None
    return counters, TrainClock(meta.get("train_wall_s", 0.0))


def train(cfg: MADQNConfig, out: Path, resume: bool = False, progress: bool = True,
          stop_at: int | None = None) -> dict:
    """Train for ``cfg.steps`` slots in all; ``stop_at`` ends this invocation at the first episode end
    past that many slots (as an interruption would), leaving a checkpoint to ``resume`` from."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed)
    own = {} if cfg.constellation is None else {"constellation": os.fspath(cfg.constellation)}
    env = offload_routing_v3.parallel_env(cfg.scenario, **own)
    own_rate = env.config.task_rate_hz
    variants = {}  # domain randomisation: one env per (ISL power, C-Sat spacing), built on first use
    agent = MADQNAgent(env.sim.obs_dim, cfg)
    replay = ReplayBuffer(cfg.buffer_size, env.sim.obs_dim, N_ROUTE)
    rng = np.random.default_rng(cfg.seed)
    counters = {"step": 0, "episode": 0, "updates": 0}
    clock = TrainClock()
    if resume:
        counters, clock = restore(out, cfg, agent, replay, rng)
    logger = RunLogger(out, LOG_FIELDS, resume_step=counters["step"] if resume else None)
    bar = tqdm(total=cfg.steps, initial=counters["step"], desc="madqn", unit="slot", disable=not progress)
    next_checkpoint = (counters["step"] // cfg.checkpoint_every + 1) * cfg.checkpoint_every
    last_loss = float("nan")
    while counters["step"] < cfg.steps:
        if cfg.randomize:
            if cfg.constellation is None:
                constellation, rate = cfg.constellation_choices[int(rng.integers(len(cfg.constellation_choices)))]
            else:
                constellation, rate = own["constellation"], own_rate
            key = (constellation, float(rate), float(rng.choice(cfg.isl_tx_power_choices)),
                   int(rng.choice(cfg.csat_every_choices)))
            if key not in variants:
                variants[key] = offload_routing_v3.parallel_env(
                    cfg.scenario, constellation=key[0], task_rate_hz=key[1], isl_tx_power_w=key[2],
                    csat_every=key[3])
            env = variants[key]
        env.reset(seed=training_seed(cfg.seed, counters["episode"]))
        obs, mask = env.observation_arrays()
        episode_return, info = 0.0, {}
        while env.agents and counters["step"] < cfg.steps:
            eps = epsilon_at(cfg, counters["step"])
            actions = agent.act_arrays(obs, mask, env.config, eps, rng)
            obs, mask, rewards, _, _, info = env.step_arrays(actions)
            episode_return += float(rewards.sum())
            tr = info["transitions"]
            replay.add(tr.obs, tr.action - 1, tr.delay_s, tr.next_obs, tr.next_action_mask[:, 1:6], tr.done)
            if replay.size >= cfg.learning_starts:
                for _ in range(cfg.updates_per_step):
                    last_loss = agent.update(replay.sample(cfg.batch_size, rng))
                    counters["updates"] += 1
                    if counters["updates"] % cfg.target_sync == 0:
                        agent.sync_target()
            counters["step"] += 1
            bar.update(1)
        if env.agents:  # the budget ended inside an episode: nothing to log for it
            break
        counters["episode"] += 1
        row = {"step": counters["step"], "episode": counters["episode"], "updates": counters["updates"],
               "epsilon": eps, "loss": last_loss, "episode_return": episode_return,
               **{k: info[k] for k in ("mean_task_cost_s", "mean_delay_s", "p95_delay_s", "completion_rate",
                                       "drop_rate")}}
        logger.log(row, counters["step"])
        bar.set_postfix(cost=f"{row['mean_task_cost_s']:.3f}", done=f"{row['completion_rate']:.2f}", eps=f"{eps:.2f}")
        if counters["step"] >= next_checkpoint:
            save_checkpoint(out, cfg, agent, replay, counters, rng, clock)
            next_checkpoint += cfg.checkpoint_every
        if stop_at is not None and counters["step"] >= stop_at:
            break
    save_checkpoint(out, cfg, agent, replay, counters, rng, clock)
    bar.close()
    logger.close()
    return counters
