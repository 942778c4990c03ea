"""The paper's protocol for one instance: its Double DQN learns the business-to-satellite mapping of the
instance at hand over many episodes and outputs the mapping it converged to. Here a copy of the network
trained across instances is fine-tuned on the instance (the same masked Double DQN, ``gamma``, epsilon
from ``instance_epsilon``) for ``instance_episodes`` episodes, and the best episode seen wins (fewest
deadline violations, then EDR; the trained network's own greedy episode and the fine-tuned network's
greedy episode compete too). Instances are deterministic, so the winning episode's actions replay it
exactly."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback

from leo_envs import aggregation_v2
from leo_envs.envs.aggregation.config import AggregationConfig
from leo_envs.envs.aggregation.dynamics import objective
from leo_envs.envs.aggregation.types import AggregationInstance

from .agent import MaskedDoubleDQN
from .config import DoubleDQNConfig


class FixedInstance(gym.Wrapper):
    """Every reset replays ``instance`` (the env's ``instance`` reset option)."""

    def __init__(self, env: gym.Env, instance: AggregationInstance):
        super().__init__(env)
        self.instance = instance

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        return self.env.reset(seed=seed, options={"instance": self.instance})


class BestEpisode(BaseCallback):
    """Records each training episode's actions and keeps the best one by ``objective``."""

    def __init__(self):
        super().__init__()
        self.actions: list[int] = []
        self.best: tuple[tuple, list[int]] | None = None

    def offer(self, metrics: dict, actions: list[int]) -> None:
        score = objective(metrics)
        if self.best is None or score > self.best[0]:
            self.best = (score, list(actions))

    def _on_step(self) -> bool:
        self.actions.append(int(self.locals["actions"][0]))
        if self.locals["dones"][0]:
            self.offer(self.locals["infos"][0], self.actions)
            self.actions = []
        return True


def greedy_episode(model: MaskedDoubleDQN, env: gym.Env) -> tuple[dict, list[int]]:
    obs, _ = env.reset()
    actions, done = [], False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        actions.append(int(action))
        obs, _, terminated, truncated, info = env.step(int(action))
        done = terminated or truncated
    return info, actions


def instance_env(config: AggregationConfig, instance: AggregationInstance) -> FixedInstance:
    """The env that replays ``instance`` under ``config`` (the evaluation env's), with the training reward."""
    from .train import TRAINING_REWARD

    return FixedInstance(aggregation_v2.env(dataclasses.replace(config, **TRAINING_REWARD)), instance)


def fine_tune(weights: dict, cfg: DoubleDQNConfig, config: AggregationConfig, instance: AggregationInstance,
              seed: int) -> list[int]:
    """The actions of the best episode found on ``instance`` of an env with ``config`` (module docstring)."""
    from agents.common import setup_torch

    from .train import build_model

    setup_torch(seed)
    env = instance_env(config, instance)
    k = max(instance.num_transfers, 1)
    model = build_model(cfg, env, gamma=cfg.gamma, learning_starts=min(cfg.learning_starts, 3 * k),
                        target_update_interval=min(cfg.target_update_interval, 3 * k),
                        epsilon_start=cfg.instance_epsilon, seed=seed)
    model.policy.load_state_dict(weights["policy"])
    best = BestEpisode()
    best.offer(*greedy_episode(model, env))
    model.learn(cfg.instance_episodes * k, callback=best)
    best.offer(*greedy_episode(model, env))
    return best.best[1]


def plan_metrics(config: AggregationConfig, instance: AggregationInstance, actions: list[int]) -> dict:
    """The final info of playing ``actions`` on ``instance`` (for tests and reports)."""
    env = instance_env(config, instance)
    env.reset()
    info: dict = {}
    for a in actions:
        _, _, terminated, truncated, info = env.step(int(a))
        if terminated or truncated:
            break
    return info

