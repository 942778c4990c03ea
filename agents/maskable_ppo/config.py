"""MaskablePPO (sb3-contrib) on Aggregation-v2: hyper-parameters, one docstring per field (CleanRL style;
PPO's own fields, at SB3's defaults, are documented in ``agents.sb3_training.PPOHyperparameters``)."""

from __future__ import annotations

from dataclasses import dataclass

from agents.sb3_training import PPOHyperparameters


@dataclass
class MaskablePPOConfig(PPOHyperparameters):
    scenario: str = "medium_traffic"
    """Aggregation-v2 scenario (traffic level) to train on"""
    episodes: int = 150
    """training episodes, Double DQN's quick budget per traffic level (``make reproduce``; its full
    budget, the paper's: 500); --steps overrides with a step budget"""
    steps: int | None = None
    """environment steps to train for (None: ``episodes`` times the mean length of the run's first training
    episodes; MaskablePPO never plays a masked action, so an episode takes one step per business to
    reassign). In the library's units: one env, so SB3's ``total_timesteps`` is this, rounded up to whole
    rollouts"""
    seed: int = 0
    """seeds sb3-contrib (torch, numpy, Python) and the run's training env seeds (``agents.common.training_seed``)"""
    n_steps: int = 256
    """env steps per rollout"""
    batch_size: int = 64
    """transitions per minibatch"""
    gamma: float = 0.99
    """discount per step; the env's shaping is built with the same gamma (``shaping_gamma``), so it leaves
    the best policy unchanged"""
