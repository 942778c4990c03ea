"""MaskablePPO (sb3-contrib) with parameter sharing on offload_routing_v3: hyper-parameters, one docstring per
field (CleanRL style; PPO's own fields are documented in ``agents.sb3_training.PPOHyperparameters``). The
defaults were picked by measurement on iridium (see ``agents.ppo_sb3.train``)."""

from __future__ import annotations

from dataclasses import dataclass

from agents.sb3_training import PPOHyperparameters


@dataclass
class PPOSB3Config(PPOHyperparameters):
    scenario: str = "iridium"
    """offload_routing_v3 scenario to train on"""
    steps: int = 20_000
    """env steps (slots) to train for. One slot is one agent-step per satellite: SB3's ``total_timesteps``
    (logged as ``time/total_timesteps``, ``timesteps`` in meta.json) counts agent-steps, ``steps`` x the
    number of satellites (iridium: 66 per slot), rounded up to whole rollouts"""
    seed: int = 0
    """seeds sb3-contrib (torch, numpy, Python) and the run's training env seeds (``agents.common.training_seed``)"""
    reward_mode: str = "hop"
    """the training env's reward: "hop" gives each satellite its share of the slot's cost (per-agent credit,
    summing to the team reward), "team" every satellite minus the slot's total cost. Measured on iridium
    (seed 0, this config otherwise): hop's greedy policy passed full_offload (1.34 s on evaluation seed 0)
    within 270k agent-steps (4k slots); team's greedy policy still held everything (18.9 s) after 1.3M"""
    reward_scale: float = 0.1
    """the env's rewards are multiplied by this before PPO sees them (a fixed factor: returns of a few
    hundred seconds of task cost become tens, which the value net fits faster; the metrics are unchanged)"""
    max_cycles: int | None = None
    """slots per training episode (None: the scenario's own)"""
    n_steps: int = 128
    """slots per rollout (each gives one transition per satellite)"""
    minibatches: int = 4
    """minibatches per epoch: SB3's ``batch_size`` is ``n_steps`` x satellites / ``minibatches``"""
    n_epochs: int = 4
    """passes over each rollout"""
    lr: float = 3e-4
    """Adam learning rate (constant)"""
    ent_coef: float = 0.01
    """entropy bonus (of the masked distribution: rows with one allowed action have none)"""
