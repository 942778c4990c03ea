"""What the TorchRL MARL training loops share: the training env, counters, the log rows of an iteration, and the
run's snapshots (``agents.checkpoint``: tensors saved with ``torch.save``, read back with ``weights_only=True``;
counters and config in meta.json; nothing pickled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tensordict import TensorDictBase
from torchrl.envs.utils import ExplorationType, set_exploration_type, step_mdp

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    WEIGHTS_FILE,
    CheckpointError,
    check_resume,
    read_checkpoint,
    torch_bytes,
    write_snapshot,
)
from agents.common import TrainClock, training_seed, training_seed_range
from agents.torchrl_env import GROUP, OffloadRoutingTorchRLEnv, final_metrics
from leo_envs import __version__

from .config import MARLConfig

LEARNER_FILE = "learner.pt"
COUNTERS = ("step", "agent_steps", "active_agent_steps", "iteration", "episode")
EPISODE_FIELDS = ("mean_task_cost_s", "completion_rate", "drop_rate", "mean_delay_s", "p95_delay_s",
                  "masked_actions_total")
LOG_FIELDS = ["step", "agent_steps", "active_agent_steps", "iteration", "episodes", "wall_s", "iteration_s",
              "episode_return", *EPISODE_FIELDS]


def make_training_env(cfg: MARLConfig, episode: int) -> OffloadRoutingTorchRLEnv:
    """The env a run trains on (``cfg.reward_mode``), resetting with the run's training seeds from its
    ``episode``-th."""
    overrides = {} if cfg.max_cycles is None else {"max_cycles": cfg.max_cycles}
    env = OffloadRoutingTorchRLEnv(cfg.scenario, reward_mode=cfg.reward_mode, **overrides)
    env.seed_episodes(training_seed(cfg.seed, episode))
    return env


def episode_pieces(env: OffloadRoutingTorchRLEnv, policy, episodes: int, max_cycles: int,
                   rollout_frames: int | None) -> Iterator[TensorDictBase]:
    """The frames of one iteration: ``episodes`` whole episodes, each from its own reset (the run's next training
    seed), in pieces of ``rollout_frames`` (the last piece of an episode takes what is left; None: one piece,
    every episode concatenated), played by ``policy`` as it is when the piece starts: a piece is collected only
    once the learner is done with the previous one."""
    whole = []
    for _ in range(episodes):
        td, done = env.reset(), False
        while not done:
            with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):
                piece = env.rollout(rollout_frames or max_cycles, policy, auto_reset=False, tensordict=td,
                                    break_when_any_done=True)
            done = bool(piece[-1].get(("next", "done")).any())
            td = step_mdp(piece[-1])
            if rollout_frames:
                yield piece
            else:
                whole.append(piece)
    if not rollout_frames:
        yield torch.cat(whole)


def new_counters() -> dict:
    return dict.fromkeys(COUNTERS, 0)


def count_batch(counters: dict, batch: TensorDictBase, active: torch.Tensor) -> dict:
    """The counters after training on ``batch`` (T frames, one piece or whole episodes; its ends count episodes);
    ``active`` (T, N) the satellites with a choice. The caller sets "iteration" when an iteration ends."""
    steps, n_agents = batch.shape[0], batch.get((GROUP, "observation")).shape[-2]
    return {"step": counters["step"] + steps, "agent_steps": counters["agent_steps"] + steps * n_agents,
            "active_agent_steps": counters["active_agent_steps"] + int(active.sum()),
            "iteration": counters["iteration"],
            "episode": counters["episode"] + int(batch.get(("next", "done")).sum())}


def team_reward(batch: TensorDictBase, reward_mode: str) -> torch.Tensor:
    """(T, 1) the team's reward of each frame: every satellite's on "team", their sum on "hop" (the env's hop
    rewards sum to the team's exactly)."""
    reward = batch.get(("next", GROUP, "reward"))  # (T, N, 1)
    return reward[..., 0, :] if reward_mode == "team" else reward.sum(-2)


def episode_row(batch: TensorDictBase, reward_mode: str) -> dict:
    """Means over the episodes that ended in ``batch``: the env's metrics and the team return."""
    ended = final_metrics(batch)
    if not ended:
        return {}
    row = {k: float(np.mean([m[k] for m in ended])) for k in EPISODE_FIELDS}
    done = batch.get(("next", "done")).reshape(-1)
    returns = torch.tensor_split(team_reward(batch, reward_mode)[..., 0],
                                 (torch.nonzero(done).squeeze(-1) + 1).tolist())
    row["episode_return"] = float(np.mean([float(r.sum()) for r in returns if r.numel()]))
    return row


def meta_of(agent: str, cfg: MARLConfig, counters: dict, clock: TrainClock) -> dict:
    import torchrl

    return {"agent": agent, "env": "offload_routing", "version": __version__, "config": cfg.to_dict(),
            **counters, "training_seeds": training_seed_range(cfg.seed), "library": "torchrl",
            "library_version": torchrl.__version__, "train_wall_s": round(clock.total_s(), 3)}


def save_run(out: Path, agent: str, cfg: MARLConfig, counters: dict, clock: TrainClock, learner: dict,
             model: dict) -> None:
    """The resume state (``learner``: state_dicts, optimiser states; the torch RNG is added) and the evaluable
    model (``model``: the policy's state_dicts), each a snapshot written whole or not at all."""
    meta = meta_of(agent, cfg, counters, clock)
    write_snapshot(out / CHECKPOINT_DIR, meta,
                   {LEARNER_FILE: torch_bytes({**learner, "torch_rng": torch.get_rng_state()})})
    write_snapshot(out / MODEL_DIR, meta, {WEIGHTS_FILE: torch_bytes(model)})


def restore_run(out: Path, agent: str, cfg: MARLConfig) -> tuple[dict, dict, TrainClock]:
    """``(counters, learner state, clock)`` of the run in ``out`` to resume. CheckpointError if it is not a run
    of ``agent`` with ``cfg`` (but ``RESUME_MAY_CHANGE``) or is damaged."""
    snapshot = read_checkpoint(out)
    check_resume(snapshot, agent=agent, env="offload_routing", config=cfg.to_dict(), may_change=cfg.RESUME_MAY_CHANGE)
    state = snapshot.torch(LEARNER_FILE)
    try:
        counters = {k: int(snapshot.meta[k]) for k in COUNTERS}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{snapshot.path}: counters unusable ({type(exc).__name__}: {exc})") from None
    return counters, state, TrainClock(snapshot.meta.get("train_wall_s", 0.0))


def load_states(modules: dict, state: dict, path: Path) -> None:
    """``state[name]`` into each of ``modules`` (networks, optimisers), then the torch RNG: call it once
    everything is built (building networks draws from the RNG). CheckpointError naming ``path`` if one does not
    fit."""
    try:
        for name, module in modules.items():
            module.load_state_dict(state[name])
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: does not fit this learner ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0][:200]})") from None
