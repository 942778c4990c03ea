"""MADQN hyper-parameters (CleanRL style: one dataclass, a docstring per field)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass


@dataclass
class MADQNConfig:
    scenario: str = "iridium"
    """offload_routing_v3 scenario to train on"""
    constellation: str | None = None
    """replaces the scenario's constellation: a preset name, a path to a TLE file or TLE text
    (offload_routing_v3's ``constellation``); domain randomisation then keeps it and draws only the ISL
    power and C-Sat spacing"""
    steps: int = 60_000
    """environment slots to train for"""
    seed: int = 0
    """seeds the env, exploration and the network"""
    hidden: int = 128
    """width of the two hidden layers"""
    dueling: bool = False
    """dueling head (value + advantage) instead of a plain one"""
    lr: float = 5e-4
    """Adam learning rate"""
    gamma: float = 1.0
    """discount of the remaining delay (1: the Q-value is the expected remaining delay in seconds)"""
    batch_size: int = 256
    """transitions per gradient step"""
    buffer_size: int = 200_000
    """replay capacity in per-bundle transitions"""
    learning_starts: int = 2_000
    """transitions collected before the first update"""
    updates_per_step: int = 1
    """gradient steps per environment slot"""
    target_sync: int = 500
    """gradient steps between copies of the online net into the target net"""
    eps_start: float = 1.0
    """initial exploration rate"""
    eps_end: float = 0.05
    """final exploration rate"""
    eps_fraction: float = 0.5
    """share of the steps over which epsilon decays linearly"""
    grad_clip: float = 10.0
    """gradient norm clip"""
    checkpoint_every: int = 10_000
    """slots between checkpoints (written at the next episode end)"""
    bisection_iters: int = 20
    """bisection rounds on rho per new task"""
    randomize: bool = True
    """domain randomisation: each training episode draws its constellation, ISL power and C-Sat spacing
    from the choices below, so the shared Q-network learns how delay depends on geometry, link speed and
    layout and transfers to constellations it never saw (the scenario's own is always among the draws)"""
    constellation_choices: tuple = (("iridium", 0.65), ("kuiper_shell1", 0.15))
    """(constellation preset, task rate per RS-Sat in tasks/s) drawn per episode when randomising"""
    isl_tx_power_choices: tuple = (1.5, 3.0, 6.0, 12.0)
    """ISL transmit powers (W) drawn per episode when randomising"""
    csat_every_choices: tuple = (3, 4)
    """C-Sat spacings drawn per episode when randomising"""

    def __post_init__(self) -> None:
        if isinstance(self.constellation, os.PathLike):  # kept as a str: the config is saved as JSON
            self.constellation = os.fspath(self.constellation)

    def to_dict(self) -> dict:
        return asdict(self)
