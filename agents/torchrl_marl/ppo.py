"""MAPPO and IPPO on offload_routing_v3, top to bottom: play episodes with the shared masked policy, and every
``rollout_frames`` slots GAE on what was collected (per satellite: on "hop" each has its own rewards and, for
MAPPO, its own output of the centralised critic) and ``minibatch_iters`` clipped-PPO gradient steps on
minibatches of frames; log and snapshot after each iteration of whole episodes.

The loss is TorchRL's ``ClipPPOLoss`` with ``reduction="none"``: the policy term is averaged over the satellites
that had a choice (``active_rows``; the others have a deterministic policy and no gradient), the critic term over
every satellite. As in BenchMARL, actor and critic have their own Adam and their own gradient-norm clip.
Iterations hold whole episodes (``episodes_per_batch``) and the snapshot at an iteration's end holds the
networks, both Adam states, the torch RNG and the counters (the next episode's seed follows from them): a
resumed run continues bit for bit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from tensordict import TensorDictBase
from torchrl.objectives import ClipPPOLoss, ValueEstimators
from tqdm import tqdm

from agents.common import RunLogger, TrainClock, setup_torch
from agents.torchrl_env import GROUP

from .config import PPOConfig
from .modules import ACTION, LOG_PROB, POLICY_MASK, VALUE, CentralValue, SharedMLP, active_rows, make_actor, make_critic
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
)

PPO_LOG_FIELDS = [*LOG_FIELDS, "loss_objective", "loss_critic", "entropy", "clip_fraction", "active_share"]


def agent_name(cfg: PPOConfig) -> str:
    return "mappo" if cfg.centralised else "ippo"


def make_loss(actor, critic, cfg: PPOConfig) -> ClipPPOLoss:
    loss = ClipPPOLoss(actor, critic, clip_epsilon=cfg.clip_epsilon, entropy_coeff=cfg.entropy_coef,
                       critic_coeff=cfg.critic_coef, loss_critic_type="l2", normalize_advantage=cfg.normalize_advantage,
                       reduction="none")
    loss.set_keys(reward=(GROUP, "reward"), action=ACTION, done=(GROUP, "done"), terminated=(GROUP, "terminated"),
                  value=VALUE, sample_log_prob=LOG_PROB, advantage=(GROUP, "advantage"),
                  value_target=(GROUP, "value_target"))
    loss.make_value_estimator(ValueEstimators.GAE, gamma=cfg.gamma, lmbda=cfg.lmbda)
    return loss


def add_advantages(batch: TensorDictBase, loss: ClipPPOLoss, reward_scale: float) -> None:
    """GAE over the batch's time axis on the scaled rewards; the team's done flags copied to every satellite, as
    the rewards are."""
    reward = batch.get(("next", GROUP, "reward"))
    batch.set(("next", GROUP, "reward"), reward * reward_scale)
    shape = reward.shape
    for key in ("done", "terminated"):
        batch.set(("next", GROUP, key), batch.get(("next", key)).unsqueeze(-1).expand(shape))
    with torch.no_grad():
        loss.value_estimator(batch, params=loss.critic_network_params, target_params=loss.target_critic_network_params)


def masked_mean(values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return (values * rows).sum() / rows.sum().clamp(min=1)


def update(batch: TensorDictBase, loss: ClipPPOLoss, optimisers: dict, nets: dict, cfg: PPOConfig) -> dict:
    """``minibatch_iters`` gradient steps on minibatches of frames, drawn without replacement (reshuffled after
    each pass); the means of the losses and statistics over them."""
    frames = batch.shape[0]
    size = min(cfg.minibatch_size, frames)
    order, at = torch.randperm(frames), 0
    sums = dict.fromkeys(("loss_objective", "loss_critic", "entropy", "clip_fraction"), 0.0)
    for _ in range(cfg.minibatch_iters):
        if at + size > frames:
            order, at = torch.randperm(frames), 0
        minibatch = batch[order[at:at + size]]
        at += size
        with warnings.catch_warnings():
            # the advantages are standardised over the minibatch's frames and satellites together, on purpose (one
            # policy shared by all; per-satellite statistics over a 30-frame minibatch would be noise)
            warnings.filterwarnings("ignore", "You requested advantage normalization", UserWarning)
            out = loss(minibatch)
        rows = active_rows(minibatch.get(POLICY_MASK))
        policy_loss = masked_mean(out["loss_objective"], rows)
        if "loss_entropy" in out.keys():
            policy_loss = policy_loss + masked_mean(out["loss_entropy"], rows)
        critic_loss = out["loss_critic"].mean()
        for opt in optimisers.values():
            opt.zero_grad()
        (policy_loss + critic_loss).backward()
        for name, opt in optimisers.items():
            torch.nn.utils.clip_grad_norm_(nets[name].parameters(), cfg.max_grad_norm)
            opt.step()
        sums["loss_objective"] += float(policy_loss.detach())
        sums["loss_critic"] += float(critic_loss.detach())
        sums["entropy"] += float(out["entropy"].detach())
        sums["clip_fraction"] += float(out["clip_fraction"])
    return {k: v / cfg.minibatch_iters for k, v in sums.items()}


def mean_stats(stats: list[dict]) -> dict:
    """The means of the updates' loss statistics over an iteration (one log row for its several updates)."""
    return {k: sum(s[k] for s in stats) / len(stats) for k in stats[0]} if stats else {}


def train(cfg: PPOConfig, out: Path, resume: bool = False, progress: bool = True, stop_at: int | None = None) -> dict:
    """Train for ``cfg.steps`` env steps in all (``resume``: continue the run in ``out``); ``stop_at`` ends this
    invocation after the first iteration past that many steps (as an interruption would). Returns the counters."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    agent = agent_name(cfg)
    setup_torch(cfg.seed, cfg.torch_threads)
    counters, clock, state = new_counters(), TrainClock(), None
    if resume:
        counters, state, clock = restore_run(out, agent, cfg)
    env = make_training_env(cfg, counters["episode"])
    n, d, a = env.n_agents, env.obs_dim, env.n_actions
    hidden = tuple(cfg.hidden)
    critic = CentralValue(n, d, hidden, per_agent=cfg.reward_mode != "team") if cfg.centralised \
        else SharedMLP(d, 1, hidden)
    nets = {"actor": SharedMLP(d, a, hidden), "critic": critic}
    actor = make_actor(nets["actor"], cfg.allow_hold)
    loss = make_loss(actor, make_critic(nets["critic"], cfg.centralised), cfg)
    optimisers = {k: torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=cfg.adam_eps) for k, net in nets.items()}
    if state is not None:
        load_states({**nets, **{f"{k}_optimiser": opt for k, opt in optimisers.items()}}, state,
                    out / "checkpoint" / "learner.pt")
    max_cycles = env.pz_env.config.max_cycles
    logger = RunLogger(out, PPO_LOG_FIELDS, resume_step=counters["step"] if resume else None)
    bar = tqdm(total=cfg.steps, initial=min(counters["step"], cfg.steps), desc=agent, unit="step",
               disable=not progress)
    try:
        while counters["step"] < cfg.steps:
            started, iteration = clock.total_s(), counters["iteration"]
            seen, actives, stats = [], [], []
            for batch in episode_pieces(env, actor, cfg.episodes_per_batch, max_cycles, cfg.rollout_frames):
                seen.append(batch.select(("next", "episode"), ("next", "done"), ("next", GROUP, "reward")))
                add_advantages(batch, loss, cfg.reward_scale)
                if cfg.anneal_lr:
                    for opt in optimisers.values():
                        for group in opt.param_groups:
                            group["lr"] = cfg.lr * max(1.0 - counters["step"] / cfg.steps, 0.0)
                stats.append(update(batch, loss, optimisers, nets, cfg))
                actives.append(active_rows(batch.get(POLICY_MASK)))
                counters = count_batch(counters, batch, actives[-1])
            counters["iteration"] = iteration + 1
            active = torch.cat(actives)
            wall = clock.total_s()
            row = {"step": counters["step"], "agent_steps": counters["agent_steps"],
                   "active_agent_steps": counters["active_agent_steps"], "iteration": counters["iteration"],
                   "episodes": counters["episode"], "wall_s": round(wall, 3), "iteration_s": round(wall - started, 3),
                   "active_share": float(active.float().mean()), **episode_row(torch.cat(seen), cfg.reward_mode),
                   **mean_stats(stats)}
            logger.log(row, counters["step"])
            bar.update(min(counters["step"], cfg.steps) - bar.n)
            bar.set_postfix(cost=f"{row.get('mean_task_cost_s', float('nan')):.3f}")
            save_run(out, agent, cfg, counters, clock,
                     learner={**{k: net.state_dict() for k, net in nets.items()},
                              **{f"{k}_optimiser": opt.state_dict() for k, opt in optimisers.items()}},
                     model={"actor": nets["actor"].state_dict()})
            if stop_at is not None and counters["step"] >= stop_at:
                break
    finally:
        bar.close()
        logger.close()
        env.close()
    return counters
