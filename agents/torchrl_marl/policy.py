"""A trained MAPPO / IPPO actor or QMIX Q-network behind the policy interface (what ``evaluate.py`` plays).

The shared network scores every satellite's observation (N, D) at once; each satellite plays the best action its
policy mask allows (the env's mask, hold only when idle, hold removed for deciding satellites unless
``allow_hold``, as in training), or with ``mode="sampled"`` draws from the softmax over the allowed logits (PPO
learners; seeded by ``reset(seed)``). The network is rebuilt from meta.json's config and loaded from model.pt
(a state_dict read with ``weights_only=True``). Evaluation needs torch, not TorchRL.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.policy import masked_actions
from leo_envs.wrappers import HOLD

from .config import MARLConfig
from .modules import SharedMLP, policy_mask


class MARLPolicy:
    """``net``: (..., D) observations -> (..., A) logits or Q-values, shared by every satellite."""

    def __init__(self, env, net: SharedMLP, allow_hold: bool, name: str, mode: str = "greedy"):
        self.env, self.net, self.allow_hold, self.name, self.mode = env, net, allow_hold, name, mode
        self.rng = np.random.default_rng(0)

    @classmethod
    def load(cls, env, weights: dict, cfg: MARLConfig, mode: str = "greedy") -> MARLPolicy:
        """The policy of a checkpoint: ``weights`` as saved in model.pt (``{"actor": ...}`` for PPO learners,
        ``{"qnet": ...}`` for QMIX), ``cfg`` from its meta.json."""
        key = "qnet" if "qnet" in weights else "actor"
        name = "qmix" if key == "qnet" else ("mappo" if getattr(cfg, "centralised", True) else "ippo")
        net = SharedMLP(env.sim.obs_dim, env.sim.n_actions, tuple(cfg.hidden))
        net.load_state_dict(weights[key])
        net.eval()
        return cls(env, net, cfg.allow_hold, name, mode)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(N,) actions for the env's (N, D) observations and (N, A) int8 masks."""
        allowed = mask.astype(bool)
        allowed[:, 0] |= ~allowed.any(-1)  # hold when idle: the env ignores it
        allowed = policy_mask(torch.from_numpy(allowed), self.allow_hold).numpy()
        with torch.no_grad():
            scores = self.net(torch.from_numpy(np.asarray(obs, np.float32))).numpy()
        return masked_actions(scores, allowed, self.mode, self.rng)

    def act(self, observations: dict) -> dict:
        obs, mask = self.env.observation_arrays()
        actions = self.act_arrays(obs, mask)
        index = self.env.agent_index
        return {a: int(actions[index[a]]) for a in observations}


class MaskedScores(torch.nn.Module):
    """The shared network with the policy's own rule on the env's mask (hold is never chosen by a satellite that
    has anything else allowed, unless ``allow_hold``), for the ONNX export: (observation, action_mask) -> scores."""

    def __init__(self, net: SharedMLP, allow_hold: bool):
        super().__init__()
        self.net, self.allow_hold = net, allow_hold

    def forward(self, observation: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        scores = self.net(observation)
        if self.allow_hold:
            return scores
        blocked = action_mask[..., HOLD + 1:].any(-1, keepdim=True)
        hold = torch.where(blocked, torch.full_like(scores[..., :1], float("-inf")), scores[..., :1])
        return torch.cat([hold, scores[..., 1:]], -1)


def onnx_export(policy: MARLPolicy) -> tuple[torch.nn.Module, str]:
    """``LearnerSpec.export``: the module to export and its output (QMIX's Q-values, the PPO actors' logits)."""
    return MaskedScores(policy.net, policy.allow_hold), "q_values" if policy.name == "qmix" else "logits"
