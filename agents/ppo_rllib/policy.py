"""The shared policy of ppo_rllib: its RLModule spec (training and evaluation build the same module from it)
and the policy ``evaluate.py`` plays (greedy, or sampled from the masked distribution).

Evaluation needs no Ray runtime: ``PPORLlibPolicy.load`` builds ``ActionMaskingPPOModule`` locally from
``module_spec`` (importing ``ray.rllib``, never calling ``ray.init``) and loads the saved torch state_dict
into it. Each slot it takes the argmax of the logits for every satellite under the mask it was trained
with (``agents.ppo_rllib.env.policy_mask``: the env's mask, hold only for a satellite with nothing to
decide, and hold removed for the others unless ``allow_hold``), or with ``mode="sampled"`` draws from the
softmax over the allowed logits (seeded by ``reset(seed)``), so no masked action is ever played.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from agents.policy import masked_actions
from agents.rllib_support import ActionMaskingPPOModule
from leo_envs.wrappers import HOLD

from .config import PPORLlibConfig
from .env import policy_mask


def model_config(cfg: PPORLlibConfig) -> dict:
    """RLlib ``DefaultModelConfig`` keywords of the shared module."""
    return {"fcnet_hiddens": list(cfg.hidden), "fcnet_activation": "tanh", "head_fcnet_hiddens": [],
            "vf_share_layers": False}


def masked_observation_space(space: spaces.Dict) -> spaces.Dict:
    """The observation space RLlib's module sees (``MaskedObservationView``): observations + a float mask."""
    n = space["action_mask"].shape[0]
    return spaces.Dict({"observations": space["observation"],
                        "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32)})


def module_spec(cfg: PPORLlibConfig, observation_space: spaces.Dict | None = None,
                action_space: spaces.Space | None = None):
    """The ``RLModuleSpec`` of the shared policy; with spaces (the env's, per agent) it can be built here."""
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return RLModuleSpec(module_class=ActionMaskingPPOModule, model_config=model_config(cfg),
                        observation_space=None if observation_space is None
                        else masked_observation_space(observation_space),
                        action_space=action_space)


def build_module(env, cfg: PPORLlibConfig):
    """The shared module for ``env`` (a PettingZoo offload_routing env), freshly initialised, in eval mode."""
    agent = env.possible_agents[0]
    module = module_spec(cfg, env.observation_space(agent), env.action_space(agent)).build()
    module.eval()
    return module


class PPORLlibPolicy:
    """A trained ppo_rllib module behind the policy interface: greedy or sampled over the masked logits."""

    name = "ppo_rllib"

    def __init__(self, env, module, allow_hold: bool = False, mode: str = "greedy"):
        self.env, self.module, self.allow_hold, self.mode = env, module, allow_hold, mode
        self.rng = np.random.default_rng(0)

    @classmethod
    def load(cls, env, weights: dict, cfg: PPORLlibConfig, mode: str = "greedy") -> PPORLlibPolicy:
        """The policy of a checkpoint: ``weights["module"]`` the module's state_dict (model.pt), ``cfg`` from
        meta.json."""
        module = build_module(env, cfg)
        module.load_state_dict(weights["module"])
        return cls(env, module, cfg.allow_hold, mode)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def logits(self, obs: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Logits (N, n_actions) under the policy masks ``allowed`` (N, n_actions)."""
        import torch
        from ray.rllib.core.columns import Columns

        batch = {Columns.OBS: {"observations": torch.as_tensor(obs, dtype=torch.float32),
                               "action_mask": torch.as_tensor(allowed)}}
        with torch.no_grad():
            return self.module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS].numpy()

    def act(self, observations: dict) -> dict:
        obs, mask = self.env.observation_arrays()
        allowed = policy_mask(mask, self.allow_hold)
        actions = masked_actions(self.logits(obs, allowed), allowed.astype(bool), self.mode, self.rng)
        index = self.env.agent_index
        return {a: int(actions[index[a]]) for a in observations}


def onnx_export(policy: PPORLlibPolicy):
    """``LearnerSpec.export``: the RLlib module's logits under its training mask (hold removed for a satellite
    that may do anything else unless ``allow_hold``; the module gives masked actions the float minimum)."""
    import torch
    from ray.rllib.core.columns import Columns

    class Logits(torch.nn.Module):
        def __init__(self, module, allow_hold: bool):
            super().__init__()
            self.module, self.allow_hold = module, allow_hold

        def forward(self, observation: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
            mask = action_mask.float()
            others = mask[..., HOLD + 1:].amax(-1)
            hold = mask[..., HOLD] * others if self.allow_hold else torch.zeros_like(others)
            hold = torch.where(others > 0, hold, torch.ones_like(others))
            mask = torch.cat([hold.unsqueeze(-1), mask[..., HOLD + 1:]], -1)
            batch = {Columns.OBS: {"observations": observation, "action_mask": mask}}
            return self.module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]

    return Logits(policy.module, policy.allow_hold), "logits"
