"""MADQN: one Q-network shared by all satellites, trained on per-bundle routing transitions with
Double-DQN targets; new tasks are split by online bisection of the offload ratio.

Q(o, a) estimates the remaining delay (seconds) of the head-of-line bundle if the satellite sends it
over port a (or computes it, a = 4). Acting takes the masked argmin; the target is
    y = delay + gamma * (1 - done) * Q_target(o', argmin over unmasked a' of Q_online(o', a')).
For a new task of D bits the local share rho solves local(rho) = offloaded(rho), with
local(rho) = backlog + rho D s_local and offloaded(rho) = dt + min_a Q(o'(rho), a), where o'(rho) is
the satellite's observation with a bundle of (1 - rho) D bits at the head of its queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from agents.bisection import best_level, ratio_level
from leo_envs.envs.offload_routing import COMPUTE, FIRST_PORT, FIRST_RATIO, NUM_PORTS
from leo_envs.envs.offload_routing.service import local_s_per_bit
from leo_envs.envs.offload_routing.types import OBS

from .config import MADQNConfig
from .network import QNetwork, numpy_forward

N_ROUTE = NUM_PORTS + 1  # four ports and "compute here": env actions FIRST_PORT .. COMPUTE
LINK_UP_COLS = OBS.ports("link_up")
IS_CSAT, HAS_TASK, TASK_BITS, HEAD_BITS, HEAD_AGE, WAITING, LOCAL_BACKLOG = (OBS.col(name) for name in (
    "is_csat", "has_task", "task_bits", "head_bits", "head_age", "waiting_bits", "local_backlog_s"))


# Adam's fused kernel: one pass over each parameter instead of ~10 tensor ops; the same update up to float
# rounding, a third of the time of the default (per-tensor) kernel on this small net.
ADAM_KERNEL = {"fused": True, "foreach": False}


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_(params, max_norm)`` on CPU, the same kernels in the same order (so
    the same gradients bit for bit) without its per-call grouping of tensors by device and dtype, which
    cost more than the arithmetic on this net. Every parameter has a gradient here (one loss over all)."""
    grads = [p.grad for p in params]
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))


def level_cell(rho: np.ndarray, levels: int) -> np.ndarray:
    """The cell ``floor(rho (L - 1) + 1e-9)`` through which ``best_level`` reads rho (the same expression)."""
    return np.floor(np.asarray(rho) * (levels - 1) + 1e-9)


def bisect_ratio_for_level(local_finish: Callable[[np.ndarray], np.ndarray],
                           offload_finish: Callable[[np.ndarray], np.ndarray], count: int, iterations: int,
                           levels: int) -> np.ndarray:
    """``agents.bisection.bisect_ratio(local_finish, offload_finish, count, iterations)``, stopped as soon as
    the rounds left can no longer change what ``best_level(rho, levels, ...)`` picks.

    ``best_level`` reads rho only through ``level_cell``. After a round with m rounds left, the final rho
    can only be the midpoint of one of the 2^m equal parts of [lo, hi]. The lowest of these is
    lo + (hi - lo) 2^-(m+1) and the highest hi - (hi - lo) 2^-(m+1). Every bound is a dyadic fraction, so
    float64 holds them exactly (up to 52 rounds). ``level_cell`` is monotone. Once the lowest and highest
    share a cell in every row, so does the full run's rho, and the lowest is returned. The chosen levels are
    those of all ``iterations`` rounds, bit for bit. A round costs a forward pass. On iridium a call took 4.2
    rounds on average instead of 20 (at most 12).
    """
    lo, hi = np.zeros(count), np.ones(count)
    for done in range(1, iterations + 1):
        mid = 0.5 * (lo + hi)
        local_slower = local_finish(mid) > offload_finish(mid)
        hi = np.where(local_slower, mid, hi)
        lo = np.where(local_slower, lo, mid)
        edge = (hi - lo) * 0.5 ** (iterations - done + 1)
        lowest = lo + edge
        if np.array_equal(level_cell(lowest, levels), level_cell(hi - edge, levels)):
            return lowest
    return 0.5 * (lo + hi)  # iterations == 0, as bisect_ratio


def route_mask(mask: np.ndarray) -> np.ndarray:
    """(N, 5) routing part of the env's action mask (hold is never chosen: it teaches nothing)."""
    return mask[:, FIRST_PORT : COMPUTE + 1].astype(bool)


class MADQNAgent:
    def __init__(self, obs_dim: int, cfg: MADQNConfig):
        self.cfg = cfg
        self.online = QNetwork(obs_dim, N_ROUTE, cfg.hidden, cfg.dueling)
        self.target = QNetwork(obs_dim, N_ROUTE, cfg.hidden, cfg.dueling)
        self.target.load_state_dict(self.online.state_dict())
        self._params = list(self.online.parameters())
        self.optimizer = torch.optim.Adam(self._params, lr=cfg.lr, **ADAM_KERNEL)
        self.bisection_s = 0.0
        self.bisection_tasks = 0

    # ------------------------------------------------------------------ acting
    def q_values(self, obs: np.ndarray, layers: list | None = None) -> np.ndarray:
        """Q(o, .) of the online net for each row of ``obs``, evaluated in numpy (see ``numpy_forward``);
        ``layers``: ``self.online.numpy_layers()`` when the caller already has them."""
        return numpy_forward(self.online.numpy_layers() if layers is None else layers,
                             np.asarray(obs, dtype=np.float32))

    def masked_argmin(self, q: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, q, np.inf).argmin(axis=1)

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray, env_cfg, epsilon: float = 0.0,
                   rng: np.random.Generator | None = None) -> np.ndarray:
        """Env actions (N,) for all satellites: routing by the masked argmin of Q (epsilon-greedy),
        ratios by bisection (a random level with probability epsilon)."""
        actions = np.zeros(len(obs), dtype=np.int64)
        rmask = route_mask(mask)
        routing = rmask.any(axis=1)
        # The random draws come first and in a fixed order (routing: explore, random choice; ratios: explore,
        # random level), as before, and the network is asked only about the satellites that act greedily:
        # exploring ones cost no forward pass and no bisection (the draws never depended on the values).
        if routing.any():
            idx = np.flatnonzero(routing)
            if epsilon > 0:
                explore = rng.random(idx.size) < epsilon
                choice = (rng.random((idx.size, N_ROUTE)) * rmask[idx]).argmax(axis=1)
                if not explore.all():
                    choice = np.where(explore, choice, self.masked_argmin(self.q_values(obs[idx]), rmask[idx]))
            else:
                choice = self.masked_argmin(self.q_values(obs[idx]), rmask[idx])
            actions[idx] = FIRST_PORT + choice
        new_task = mask[:, FIRST_RATIO] > 0
        if new_task.any():
            idx = np.flatnonzero(new_task)
            if epsilon > 0:
                greedy = rng.random(idx.size) >= epsilon
                levels = rng.integers(0, env_cfg.ratio_levels, idx.size)
                if greedy.any():
                    levels[greedy] = self.ratio_levels(obs[idx[greedy]], env_cfg)
            else:
                levels = self.ratio_levels(obs[idx], env_cfg)
            actions[idx] = FIRST_RATIO + levels
        return actions

    def ratio_levels(self, obs: np.ndarray, env_cfg) -> np.ndarray:
        """Bisection on rho for satellites with a new task (obs rows); returns level indices."""
        t0 = time.perf_counter()
        k = len(obs)
        bits = obs[:, TASK_BITS] * env_cfg.task_bits
        backlog = obs[:, LOCAL_BACKLOG].astype(float)
        per_bit_local = local_s_per_bit(env_cfg)
        can_route = np.concatenate([obs[:, LINK_UP_COLS] > 0, obs[:, [IS_CSAT]] > 0], axis=1)
        reachable = can_route.any(axis=1)

        head = obs.copy()  # o'(rho): the new task has become a bundle at the head of the queue
        head[:, HAS_TASK] = 0.0
        head[:, TASK_BITS] = 0.0
        head[:, HEAD_AGE] = 0.0
        task, waiting = obs[:, TASK_BITS], obs[:, WAITING]
        layers = self.online.numpy_layers()

        def local(r: np.ndarray) -> np.ndarray:
            return backlog + r * bits * per_bit_local

        def offload(r: np.ndarray) -> np.ndarray:  # only the two columns that depend on rho change per call
            share = (1.0 - r) * task
            head[:, HEAD_BITS] = share
            head[:, WAITING] = waiting + share
            q = np.where(can_route, self.q_values(head, layers), np.inf).min(axis=1)
            return np.where(reachable, env_cfg.dt_s + np.maximum(q, 0.0), np.inf)

        rho = bisect_ratio_for_level(local, offload, k, self.cfg.bisection_iters, env_cfg.ratio_levels)
        chosen = best_level(rho, env_cfg.ratio_levels,
                            lambda r: np.maximum(local(r), np.where(r < 1.0, offload(r), 0.0)))
        self.bisection_s += time.perf_counter() - t0
        self.bisection_tasks += k
        return ratio_level(chosen, env_cfg.ratio_levels)

    # ------------------------------------------------------------------ learning
    def double_dqn_target(self, batch: dict) -> torch.Tensor:
        """delay + gamma (1 - done) Q_target(s', argmin over the unmasked a' of Q_online(s', a'))."""
        with torch.no_grad():
            nxt = torch.as_tensor(batch["next_obs"])
            mask = torch.as_tensor(batch["next_mask"])
            q_online = self.online(nxt).masked_fill(~mask, float("inf"))
            best = q_online.argmin(dim=1, keepdim=True)
            q_next = self.target(nxt).gather(1, best).squeeze(1)
            has_next = mask.any(dim=1) & ~torch.as_tensor(batch["done"])
            q_next = torch.where(has_next, q_next, torch.zeros_like(q_next))
            return torch.as_tensor(batch["delay"]) + self.cfg.gamma * q_next

    def update(self, batch: dict) -> float:
        target = self.double_dqn_target(batch)
        q = self.online(torch.as_tensor(batch["obs"])).gather(1, torch.as_tensor(batch["action"])[:, None])
        loss = F.smooth_l1_loss(q.squeeze(1), target)
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(self._params, self.cfg.grad_clip)
        self.optimizer.step()
        return float(loss.item())

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    def state_dict(self) -> dict:
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state.get("target", state["online"]))
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
            for group in self.optimizer.param_groups:  # a checkpoint from before the fused kernel names its own
                group.update(ADAM_KERNEL)


class MADQNPolicy:
    """A trained MADQN behind the policy interface (greedy routing, bisected ratios)."""

    name = "madqn"

    def __init__(self, env, agent: MADQNAgent):
        self.env, self.agent = env, agent

    @classmethod
    def load(cls, env, weights: dict, cfg: MADQNConfig) -> MADQNPolicy:
        """The policy of a checkpoint: ``weights`` as saved in its model.pt, ``cfg`` from its meta.json."""
        agent = MADQNAgent(env.sim.obs_dim, cfg)
        agent.online.load_state_dict(weights["online"])
        return cls(env, agent)

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observations: dict) -> dict:
        obs, mask = self.env.observation_arrays()
        actions = self.agent.act_arrays(obs, mask, self.env.config)
        index = self.env.agent_index
        return {a: int(actions[index[a]]) for a in observations}

    @property
    def bisection_ms_per_task(self) -> float:
        return 1e3 * self.agent.bisection_s / max(self.agent.bisection_tasks, 1)
