"""The Q-network of the aggregation agent: one MLP shared by every satellite scores "send the business
there" from that satellite's features and the global ones (an action-in network), so what it learns
about one satellite holds for all, whatever their index."""

from __future__ import annotations

import torch as th
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.dqn.policies import MultiInputPolicy, QNetwork
from torch import nn

from leo_envs.envs.aggregation.env import GLOBAL_FEATURES


class PerSatelliteQNetwork(QNetwork):
    def __init__(self, observation_space, action_space, features_extractor, features_dim, net_arch=None,
                 activation_fn: type[nn.Module] = nn.ReLU, normalize_images: bool = True):
        super().__init__(observation_space, action_space, features_extractor, features_dim, net_arch,
                         activation_fn, normalize_images)
        self.m = int(action_space.n)
        self.per_sat = (observation_space["observation"].shape[0] - GLOBAL_FEATURES) // self.m
        self.q_net = nn.Sequential(*create_mlp(self.per_sat + GLOBAL_FEATURES, 1, self.net_arch, activation_fn))

    def forward(self, obs) -> th.Tensor:
        x = obs["observation"].float()
        b, m, f = x.shape[0], self.m, self.per_sat
        sat = x[:, : m * f].reshape(b, m, f)
        glob = x[:, m * f :].unsqueeze(1).expand(b, m, GLOBAL_FEATURES)
        return self.q_net(th.cat([sat, glob], dim=-1)).squeeze(-1)


class PerSatelliteDQNPolicy(MultiInputPolicy):
    def make_q_net(self) -> PerSatelliteQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return PerSatelliteQNetwork(**net_args).to(self.device)
