"""The Q-network shared by every satellite: local observation -> expected remaining delay per routing action."""

from __future__ import annotations

import torch
from torch import nn


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128, dueling: bool = False):
        super().__init__()
        self.dueling = dueling
        self.body = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.body(obs)
        adv = self.head(h)
        if self.value is None:
            return adv
        return self.value(h) + adv - adv.mean(dim=-1, keepdim=True)
