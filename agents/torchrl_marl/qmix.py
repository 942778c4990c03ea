"""QMIX on offload_routing_v3, top to bottom: play episodes epsilon-greedy over the allowed actions and, every
``rollout_frames`` slots, store the frames in a replay buffer and take ``updates_per_batch`` steps of TorchRL's
``QMixerLoss`` (TD(0) on the mixed team value, a target network updated softly); log and snapshot after each
iteration of whole episodes. The mixer learns from the team reward whatever ``reward_mode`` (on "hop" the
satellites' rewards are summed, which is the team's exactly).

Every satellite's Q-values come from one shared network; the mixer (``QMixer``) weighs them by the global state
(the satellites' observations, flattened: the env's ``state``, rebuilt here so the buffer stores each frame's
observations once). Satellites with a single allowed action (idle ones: hold) enter the mix with 0 instead of
their Q-value, so they get no gradient; the greedy choice and the bootstrap's max are over the policy mask.
The snapshot holds the networks, Adam, the replay buffer, the torch RNG and the counters: a resumed run
continues bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModule, TensorDictSequential
from torch import nn
from torchrl.data import LazyTensorStorage, TensorDictReplayBuffer
from torchrl.modules import QMixer, QValueModule
from torchrl.objectives import QMixerLoss, SoftUpdate, ValueEstimators
from tqdm import tqdm

from agents.common import RunLogger, TrainClock, setup_torch
from agents.torchrl_env import GROUP, random_masked_actions

from .config import QMIXConfig
from .modules import ACTION, ACTION_VALUE, CHOSEN_VALUE, MASK, OBS, POLICY_MASK, PolicyMask, SharedMLP, active_rows
from .run import (
    LOG_FIELDS,
    count_batch,
    episode_pieces,
    episode_row,
    load_states,
    make_training_env,
    new_counters,
    restore_run,
    save_run,
    team_reward,
)

AGENT = "qmix"
QMIX_LOG_FIELDS = [*LOG_FIELDS, "epsilon", "loss", "buffer_frames", "active_share"]
STORED = (OBS, MASK, ACTION, ("next", *OBS), ("next", *MASK), ("next", "reward"), ("next", "done"),
          ("next", "terminated"))
"""What a frame keeps in the replay buffer: the rest is recomputed from it."""


class ActiveMixer(nn.Module):
    """``QMixer`` on the chosen Q-values of the satellites with a choice (the others count 0), with the global
    state rebuilt from the observations (..., N, D) -> (..., N * D)."""

    def __init__(self, mixer: QMixer):
        super().__init__()
        self.mixer = mixer

    def forward(self, chosen: torch.Tensor, mask: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        chosen = chosen * active_rows(mask).unsqueeze(-1)
        return self.mixer(chosen, obs.flatten(-2))


class EpsilonGreedy(nn.Module):
    """Replaces each satellite's greedy action, with probability ``eps``, by a uniform allowed one."""

    def __init__(self):
        super().__init__()
        self.eps = 1.0

    def forward(self, action: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        explore = torch.rand(action.shape) < self.eps
        return torch.where(explore, random_masked_actions(mask), action)


def epsilon_at(cfg: QMIXConfig, step: int) -> float:
    frac = min(step / max(cfg.eps_fraction * cfg.steps, 1), 1.0)
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


def gradient_step(loss: QMixerLoss, buffer: TensorDictReplayBuffer, optimiser: torch.optim.Optimizer, params: list,
                  max_grad_norm: float, target_update: SoftUpdate) -> float:
    """One ``QMixerLoss`` step on a sampled minibatch of frames, then the soft target update; the loss."""
    value = loss(buffer.sample())["loss"]
    optimiser.zero_grad()
    value.backward()
    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimiser.step()
    target_update.step()
    return float(value.detach())


def make_qnet(net: SharedMLP, allow_hold: bool) -> TensorDictSequential:
    """Shared Q-values, the policy mask, the greedy allowed action and its value."""
    return TensorDictSequential(
        TensorDictModule(net, in_keys=[OBS], out_keys=[ACTION_VALUE]),
        TensorDictModule(PolicyMask(allow_hold), in_keys=[MASK], out_keys=[POLICY_MASK]),
        QValueModule(action_space="categorical", action_value_key=ACTION_VALUE, action_mask_key=POLICY_MASK,
                     out_keys=[ACTION, ACTION_VALUE, CHOSEN_VALUE]),
    )


def make_loss(qnet: TensorDictSequential, mixer: ActiveMixer, cfg: QMIXConfig) -> QMixerLoss:
    mixer_module = TensorDictModule(mixer, in_keys=[CHOSEN_VALUE, POLICY_MASK, OBS], out_keys=["chosen_action_value"])
    loss = QMixerLoss(qnet, mixer_module, loss_function="l2", delay_value=True, action_space="categorical")
    loss.set_keys(action_value=ACTION_VALUE, local_value=CHOSEN_VALUE, global_value="chosen_action_value",
                  action=ACTION, reward="reward", done="done", terminated="terminated")
    loss.make_value_estimator(ValueEstimators.TD0, gamma=cfg.gamma)
    return loss


def buffer_state(buffer: TensorDictReplayBuffer) -> dict:
    """The buffer's frames (tensors by "/"-joined key, in storage order) and its writer's position."""
    frames = buffer.storage[: len(buffer)].select(*STORED) if len(buffer) else TensorDict()
    return {"frames": frames.flatten_keys("/").to_dict(), "writer": buffer._writer.state_dict()}


def load_buffer(buffer: TensorDictReplayBuffer, state: dict) -> None:
    flat = state["frames"]
    if flat:
        frames = TensorDict(flat, batch_size=[len(next(iter(flat.values())))]).unflatten_keys("/")
        n_agents = frames.get(OBS).shape[1]
        for group in (GROUP, ("next", GROUP)):
            frames.get(group).batch_size = (frames.batch_size[0], n_agents)
        buffer.extend(frames)
    buffer._writer.load_state_dict(state["writer"])


def train(cfg: QMIXConfig, out: Path, resume: bool = False, progress: bool = True, stop_at: int | None = None) -> dict:
    """Train for ``cfg.steps`` env steps in all (``resume``: continue the run in ``out``); ``stop_at`` ends this
    invocation after the first iteration past that many steps. Returns the counters."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed, cfg.torch_threads)
    counters, clock, state = new_counters(), TrainClock(), None
    if resume:
        counters, state, clock = restore_run(out, AGENT, cfg)
    env = make_training_env(cfg, counters["episode"])
    n, d, a = env.n_agents, env.obs_dim, env.n_actions
    nets = {"qnet": SharedMLP(d, a, tuple(cfg.hidden)),
            "mixer": ActiveMixer(QMixer((n * d,), cfg.mixing_embed_dim, n, device="cpu"))}
    qnet = make_qnet(nets["qnet"], cfg.allow_hold)
    explore = EpsilonGreedy()
    policy = TensorDictSequential(qnet, TensorDictModule(explore, in_keys=[ACTION, POLICY_MASK], out_keys=[ACTION]))
    loss = make_loss(qnet, nets["mixer"], cfg)
    target_update = SoftUpdate(loss, tau=cfg.polyak_tau)
    params = list(loss.local_value_network_params.flatten_keys().values()) + \
        list(loss.mixer_network_params.flatten_keys().values())
    optimiser = torch.optim.Adam(params, lr=cfg.lr, eps=cfg.adam_eps)
    buffer = TensorDictReplayBuffer(storage=LazyTensorStorage(cfg.buffer_frames), batch_size=cfg.batch_size)
    if state is not None:
        load_buffer(buffer, state["buffer"])
        load_states({"loss": loss, "optimiser": optimiser}, state, out / "checkpoint" / "learner.pt")
    max_cycles = env.pz_env.config.max_cycles
    logger = RunLogger(out, QMIX_LOG_FIELDS, resume_step=counters["step"] if resume else None)
    bar = tqdm(total=cfg.steps, initial=min(counters["step"], cfg.steps), desc=AGENT, unit="step",
               disable=not progress)
    try:
        while counters["step"] < cfg.steps:
            started, iteration = clock.total_s(), counters["iteration"]
            seen, actives, losses = [], [], []
            explore.eps = epsilon_at(cfg, counters["step"])
            for batch in episode_pieces(env, policy, cfg.episodes_per_batch, max_cycles, cfg.rollout_frames):
                seen.append(batch.select(("next", "episode"), ("next", "done"), ("next", GROUP, "reward")))
                batch.set(("next", "reward"), team_reward(batch, cfg.reward_mode) * cfg.reward_scale)
                buffer.extend(batch.select(*STORED))
                losses += [gradient_step(loss, buffer, optimiser, params, cfg.max_grad_norm, target_update)
                           for _ in range(cfg.updates_per_batch)]
                actives.append(active_rows(batch.get(POLICY_MASK)))
                counters = count_batch(counters, batch, actives[-1])
                eps, explore.eps = explore.eps, epsilon_at(cfg, counters["step"])
            counters["iteration"] = iteration + 1
            active = torch.cat(actives)
            wall = clock.total_s()
            row = {"step": counters["step"], "agent_steps": counters["agent_steps"],
                   "active_agent_steps": counters["active_agent_steps"], "iteration": counters["iteration"],
                   "episodes": counters["episode"], "wall_s": round(wall, 3), "iteration_s": round(wall - started, 3),
                   "epsilon": eps, "loss": sum(losses) / max(len(losses), 1), "buffer_frames": len(buffer),
                   "active_share": float(active.float().mean()), **episode_row(torch.cat(seen), cfg.reward_mode)}
            logger.log(row, counters["step"])
            bar.update(min(counters["step"], cfg.steps) - bar.n)
            bar.set_postfix(cost=f"{row.get('mean_task_cost_s', float('nan')):.3f}")
            save_run(out, AGENT, cfg, counters, clock,
                     learner={"loss": loss.state_dict(), "optimiser": optimiser.state_dict(),
                              "buffer": buffer_state(buffer)},
                     model={"qnet": nets["qnet"].state_dict()})
            if stop_at is not None and counters["step"] >= stop_at:
                break
    finally:
        bar.close()
        logger.close()
        env.close()
    return counters
