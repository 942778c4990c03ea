"""The training env of ppo_rllib: offload_routing_v3 as ``agents.rllib_support`` gives it to RLlib, with the
policy's masks (``policy_mask``), every reset seeded from the run's block of training seeds, and a callback
that reports which seeds were used.

RLlib seeds an env runner's env only at its first reset (``config.seed + worker_index``) and lets it run on
its own RNG afterwards. Here every reset of env runner ``w`` (of ``R``; ``w = 0`` is the driver's local
runner) takes the next seed of its own arithmetic sequence, ``first + w + k (R + 1)`` for its ``k``-th
reset, so runners never share an instance, and ``first`` comes from ``agents.common.training_seed``:
never an evaluation seed (``1000 s + e``). Each step's info carries ``reset_seed``; the callback logs its
minimum and maximum over the episodes of each sample, ``training_seed_min`` / ``training_seed_max`` in
``result["env_runners"]``.
"""

from __future__ import annotations

import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

from agents.rllib_support import EpisodeMetricsCallback, MaskedObservationView, final_info, reward_factor
from leo_envs.wrappers import HOLD

TRAINING_ENV = "leo_offload_routing_ppo_rllib"
"""The name ``train`` registers ``make_training_env`` under with Ray."""


class SeededResets(BaseParallelWrapper):
    """Resets with ``first``, ``first + stride``, ``first + 2 stride``, ... whatever seed it is given."""

    def __init__(self, env, first: int, stride: int):
        super().__init__(env)
        if stride < 1:
            raise ValueError(f"stride: {stride} must be >= 1")
        self.first, self.stride, self.resets = int(first), int(stride), 0

    @property
    def next_seed(self) -> int:
        return self.first + self.resets * self.stride

    def reset(self, seed=None, options=None):
        self.reset_seed = self.next_seed
        self.resets += 1
        return self.env.reset(seed=self.reset_seed, options=options)


def policy_mask(mask: np.ndarray, allow_hold: bool) -> np.ndarray:
    """The float mask the shared policy samples from, for one agent's mask or a stack of them (rows): an
    all-zero mask (nothing to decide) allows hold only; without ``allow_hold`` a satellite that may do
    anything else cannot hold."""
    out = np.array(mask, dtype=np.float32)
    others = out[..., HOLD + 1:].any(axis=-1)
    out[..., HOLD] = np.where(others, out[..., HOLD] if allow_hold else 0.0, 1.0)
    return out


class TrainingView(MaskedObservationView):
    """RLlib's view of the env (``MaskedObservationView``: rewards times ``reward_factor``) with the masks of
    ``policy_mask`` and ``reset_seed`` in every info. With ``skip_idle``, only satellites with a
    choice (two or more allowed actions) get an observation, hence act and become training rows; the others
    hold (the env's default for a missing action) and their rewards accrue to their next observation
    (RLlib's multi-agent episodes keep them). If nobody has a choice, the first satellite still observes
    (RLlib steps need an agent), and the episode's last observation goes to every satellite (RLlib
    bootstraps from it)."""

    def __init__(self, env, allow_hold: bool, skip_idle: bool = True, reward_factor: float = 1.0):
        super().__init__(env, reward_factor)
        self.allow_hold, self.skip_idle = allow_hold, skip_idle
        self._shown: set | None = None

    def map_observations(self, obs: dict) -> dict:
        if not obs:
            return {}
        masks = policy_mask(np.stack([o["action_mask"] for o in obs.values()]), self.allow_hold)
        agents = list(obs)
        rows = range(len(agents))
        if self.skip_idle and self.env.agents:  # not the episode's last observation
            rows = np.flatnonzero(masks.sum(axis=1) > 1).tolist() or [0]
        out = {agents[i]: {"observations": obs[agents[i]]["observation"], "action_mask": masks[i]} for i in rows}
        self._shown = set(out) if len(out) < len(agents) else None
        return out

    def _infos(self, infos: dict) -> dict:
        if self._shown is not None:
            infos = {a: i for a, i in infos.items() if a in self._shown}
        out = super()._infos(infos)
        seed = self.env.reset_seed
        for info in {id(i): i for i in out.values()}.values():  # fresh scalar dicts, one per distinct info
            info["reset_seed"] = seed
        return out


def make_training_env(config) -> ParallelPettingZooEnv:
    """Env creator for ``register_env``. ``config`` (an RLlib ``EnvContext``: ``worker_index``,
    ``num_workers``) holds ``parallel_env``'s keywords plus ``seed_start``, the first training seed of
    this (segment of the) run, ``allow_hold`` (``policy_mask``), ``skip_idle`` and ``reward_scale``
    (``TrainingView``, ``reward_factor``)."""
    from leo_envs import offload_routing_v3

    kwargs = dict(config)
    scenario = kwargs.pop("scenario", "iridium")
    seed_start = int(kwargs.pop("seed_start"))
    allow_hold = bool(kwargs.pop("allow_hold", False))
    skip_idle = bool(kwargs.pop("skip_idle", True))
    reward_scale = float(kwargs.pop("reward_scale", 1.0))
    worker = int(getattr(config, "worker_index", 0) or 0)
    runners = int(getattr(config, "num_workers", 0) or 0)
    env = SeededResets(offload_routing_v3.parallel_env(scenario, **kwargs), seed_start + worker, runners + 1)
    factor = reward_factor(env.unwrapped.config.reward_mode, reward_scale, len(env.possible_agents))
    return ParallelPettingZooEnv(TrainingView(env, allow_hold, skip_idle, factor))


class SeededEpisodeMetricsCallback(EpisodeMetricsCallback):
    """``EpisodeMetricsCallback`` plus the smallest and largest reset seed of the episodes each sample
    holds (every episode the learner trains on)."""

    def on_sample_end(self, *, samples, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        seeds = [s for s in (final_info(episode).get("reset_seed") for episode in samples) if s is not None]
        if seeds:
            metrics_logger.log_value("training_seed_min", int(min(seeds)), reduce="min")
            metrics_logger.log_value("training_seed_max", int(max(seeds)), reduce="max")
