"""The Q-network of the aggregation agent: one MLP shared by every satellite scores "send the business
there" from that satellite's features and the global ones (an action-in network), so what it learns
about one satellite holds for all, whatever their index. Inputs are standardised with per-feature
statistics (buffers, saved in the state_dict) that training measures on random episodes: the env's
features span four orders of magnitude (transmission times of a few ms in units of the deadline, next
to loads near 1), and unscaled the small ones, which matter most, are learned last."""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.dqn.policies import MultiInputPolicy, QNetwork
from torch import nn

from leo_envs.envs.aggregation.types import GLOBAL_FEATURES

GLOBALS = len(GLOBAL_FEATURES)


class PerSatelliteQNetwork(QNetwork):
    def __init__(self, observation_space, action_space, features_extractor, features_dim, net_arch=None,
                 activation_fn: type[nn.Module] = nn.ReLU, normalize_images: bool = True):
        super().__init__(observation_space, action_space, features_extractor, features_dim, net_arch,
                         activation_fn, normalize_images)
        self.m = int(action_space.n)
        self.per_sat = (observation_space["observation"].shape[0] - GLOBALS) // self.m
        self.q_net = nn.Sequential(*create_mlp(self.per_sat + GLOBALS, 1, self.net_arch, activation_fn))
        self.register_buffer("input_shift", th.zeros(self.per_sat + GLOBALS))
        self.register_buffer("input_scale", th.ones(self.per_sat + GLOBALS))

    def split(self, x: th.Tensor) -> th.Tensor:
        """(B, M * F + G) flat observations -> (B, M, F + G): each satellite's features with the global ones."""
        b, m, f = x.shape[0], self.m, self.per_sat
        sat = x[:, : m * f].reshape(b, m, f)
        glob = x[:, m * f :].unsqueeze(1).expand(b, m, GLOBALS)
        return th.cat([sat, glob], dim=-1)

    def set_input_scaling(self, observations: np.ndarray) -> None:
        """Standardise inputs with the mean and std of ``observations`` (N, M * F + G); constant features
        are only shifted."""
        flat = th.as_tensor(np.asarray(observations), dtype=th.float32)
        rows = self.split(flat).reshape(-1, self.input_shift.numel())
        std = rows.std(dim=0)
        self.input_shift.copy_(rows.mean(dim=0))
        self.input_scale.copy_(th.where(std > 1e-6, std, th.ones_like(std)))

    def forward(self, obs) -> th.Tensor:
        x = (self.split(obs["observation"].float()) - self.input_shift) / self.input_scale
        return self.q_net(x).squeeze(-1)


class PerSatelliteDQNPolicy(MultiInputPolicy):
    def make_q_net(self) -> PerSatelliteQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return PerSatelliteQNetwork(**net_args).to(self.device)
