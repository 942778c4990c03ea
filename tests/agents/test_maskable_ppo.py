"""sb3-contrib's MaskablePPO trains on Aggregation-v2 through gym.make with no wrapper: it finds the
env's ``action_masks()`` (through Gymnasium's wrappers) and never plays a masked action."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("sb3_contrib")
from sb3_contrib import MaskablePPO  # noqa: E402
from sb3_contrib.common.maskable.utils import get_action_masks  # noqa: E402

import leo_envs  # noqa: E402,F401


def test_maskable_ppo_trains_and_respects_masks():
    env = gym.make("leo_envs/Aggregation-v2", scenario="tiny")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=2, seed=0, device="cpu")
    model.learn(256)  # several episodes (tiny: a few steps each), across episode ends
    masked = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            action, _ = model.predict(obs, action_masks=get_action_masks(env), deterministic=True)
            obs, _, terminated, truncated, info = env.step(int(action))
            done = terminated or truncated
        masked += info["masked_actions"]
        assert np.isfinite(info["edr_j_per_s"])
    assert masked == 0
