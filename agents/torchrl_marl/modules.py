"""The networks of the TorchRL MARL learners and the TorchRL modules around them.

Parameter sharing: a ``SharedMLP`` acts on the last axis, so one set of weights serves every satellite row of
``("agents", "observation")`` (N, D), whatever N is (a policy trained on iridium plays any constellation). The
policy mask: the env's (hold only for idle satellites), and with ``allow_hold=False`` hold is removed for a
satellite that has anything else allowed. A satellite with a single allowed action has a deterministic policy
(log-probability 0, no gradient) and is left out of the policy loss's mean (``active_rows``).
"""

from __future__ import annotations

import torch
from tensordict.nn import TensorDictModule, TensorDictSequential
from torch import nn
from torchrl.modules import MaskedCategorical, ProbabilisticActor

from agents.torchrl_env import GROUP, HOLD

OBS = (GROUP, "observation")
MASK = (GROUP, "action_mask")
POLICY_MASK = (GROUP, "policy_mask")
LOGITS = (GROUP, "logits")
ACTION = (GROUP, "action")
LOG_PROB = (GROUP, "log_prob")
VALUE = (GROUP, "state_value")
ACTION_VALUE = (GROUP, "action_value")
CHOSEN_VALUE = (GROUP, "chosen_action_value")


class SharedMLP(nn.Module):
    """An MLP (tanh) on the last axis: the same weights for every satellite."""

    def __init__(self, n_in: int, n_out: int, hidden: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(n_in, width), nn.Tanh()]
            n_in = width
        layers.append(nn.Linear(n_in, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CentralValue(nn.Module):
    """MAPPO's critic on the global state (..., N * D) -> (..., N, 1). On the team reward it is the team's value,
    one copy per satellite (BenchMARL's centralised critic with shared parameters gives every agent the same
    output); on per-satellite rewards (``per_agent``, "hop") each satellite has its own return to predict, so
    the last layer has one output per satellite."""

    def __init__(self, n_agents: int, obs_dim: int, hidden: tuple[int, ...], per_agent: bool = False):
        super().__init__()
        self.n_agents, self.per_agent = n_agents, per_agent
        self.net = SharedMLP(n_agents * obs_dim, n_agents if per_agent else 1, hidden)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        value = self.net(state)
        if self.per_agent:
            return value.unsqueeze(-1)
        return value.unsqueeze(-2).expand(*value.shape[:-1], self.n_agents, 1)


def policy_mask(mask: torch.Tensor, allow_hold: bool) -> torch.Tensor:
    """The actions the policy may choose (bool, ..., A) from the env's hold-when-idle mask."""
    if allow_hold:
        return mask
    others = mask[..., HOLD + 1:].any(-1)
    out = mask.clone()
    out[..., HOLD] &= ~others
    return out


def active_rows(mask: torch.Tensor) -> torch.Tensor:
    """(..., N) bool: satellites with a choice (two or more allowed actions) under a policy mask."""
    return mask.sum(-1) >= 2


class PolicyMask(nn.Module):
    def __init__(self, allow_hold: bool):
        super().__init__()
        self.allow_hold = allow_hold

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        return policy_mask(mask, self.allow_hold)


def make_actor(logits_net: SharedMLP, allow_hold: bool) -> ProbabilisticActor:
    """The stochastic policy: shared logits, the policy mask, a ``MaskedCategorical`` over the allowed actions;
    writes the action and its log-probability (``ClipPPOLoss`` recomputes it under the same stored mask)."""
    module = TensorDictSequential(
        TensorDictModule(logits_net, in_keys=[OBS], out_keys=[LOGITS]),
        TensorDictModule(PolicyMask(allow_hold), in_keys=[MASK], out_keys=[POLICY_MASK]),
    )
    return ProbabilisticActor(module, in_keys={"logits": LOGITS, "mask": POLICY_MASK}, out_keys=[ACTION],
                              distribution_class=MaskedCategorical, return_log_prob=True, log_prob_key=LOG_PROB)


def make_critic(value_net: nn.Module, centralised: bool) -> TensorDictModule:
    """MAPPO's critic reads ``"state"``, IPPO's each satellite's observation; both write (N, 1) values."""
    return TensorDictModule(value_net, in_keys=["state"] if centralised else [OBS], out_keys=[VALUE])
