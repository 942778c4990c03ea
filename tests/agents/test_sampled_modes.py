"""maskable_ppo (sb3-contrib) acts greedy or sampled at evaluation: both only ever play allowed actions,
and a sampled episode replays from its seed."""

from __future__ import annotations

import numpy as np

from agents.maskable_ppo.config import MaskablePPOConfig
from agents.maskable_ppo.train import train
from agents.registry import load_policy
from agents.specs import get_spec


def test_maskable_ppo_greedy_and_sampled_play_allowed_actions_and_replay(tmp_path):
    train(MaskablePPOConfig(scenario="tiny", steps=128, n_steps=64, batch_size=32, n_epochs=1), tmp_path,
          progress=False)
    spec = get_spec("aggregation")
    played = {}
    for mode in ("greedy", "sampled", "sampled"):
        env = spec.make("tiny")
        policy = load_policy(tmp_path, env, mode)
        actions = []
        act = policy.act

        def checked(observation, act=act, actions=actions):
            a = act(observation)
            mask = np.asarray(observation["action_mask"], bool)
            assert mask[a] or not mask.any()
            actions.append(a)
            return a

        policy.act = checked
        for seed in range(7, 12):
            info, _ = spec.run_episode(env, policy, seed)
            assert info["masked_actions"] == 0
        if mode in played:
            assert actions == played[mode]
        played[mode] = actions
    assert len(played["greedy"]) > 5 and played["sampled"] != played["greedy"]
