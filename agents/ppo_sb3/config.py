"""PPO (stable-baselines3) with parameter sharing on offload_routing_v2: hyper-parameters, one docstring
per field (CleanRL style; PPO's own fields are documented in ``agents.sb3_training.PPOHyperparameters``)."""

from __future__ import annotations

from dataclasses import dataclass

from agents.sb3_training import PPOHyperparameters


@dataclass
class PPOSB3Config(PPOHyperparameters):
    scenario: str = "iridium"
    """offload_routing_v2 scenario to train on"""
    steps: int = 20_000
    """environment slots to train for, MADQN's quick budget (``make reproduce``; its full budget: 120_000).
    In the library's units: SB3 counts one timestep per satellite per slot, so its ``total_timesteps`` is
    ``steps`` times the number of satellites (iridium: 20_000 slots = 1_320_000 timesteps), rounded up to
    whole rollouts"""
    seed: int = 0
    """seeds SB3 (torch, numpy, Python) and the run's training env seeds (``agents.common.training_seed``)"""
    reward_mode: str = "hop"
    """the training env's reward: "hop" gives each satellite its share of the team's cost, which
    parameter-shared PPO learns from much faster than the team reward every satellite would get alike"""
    max_cycles: int | None = None
    """slots per training episode (None: the scenario's own)"""
    n_steps: int = 128
    """slots per rollout (each gives one transition per satellite)"""
    minibatches: int = 4
    """minibatches per epoch: SB3's ``batch_size`` is ``n_steps`` x satellites / ``minibatches``"""
    n_epochs: int = 4
    """passes over each rollout"""
    lr: float = 1e-3
    """Adam learning rate (constant)"""
    ent_coef: float = 0.01
    """entropy bonus"""
