"""Integrations users arrive with: Gymnasium async vector envs and stable-baselines3 through SuperSuit."""

import gymnasium as gym
import numpy as np
import pytest

import leo_envs  # noqa: F401  (registers the ids in this process and, by import, in the workers)


def test_async_vector_env_steps_with_masks():
    envs = gym.make_vec("leo_envs/Aggregation-v2", num_envs=8, vectorization_mode="async", scenario="tiny")
    try:
        obs, infos = envs.reset(seed=0)
        assert obs["observation"].shape[0] == 8 and obs["action_mask"].dtype == np.int8
        rng = np.random.default_rng(0)
        finished = 0
        for _ in range(30):
            mask = obs["action_mask"].astype(bool)
            actions = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in mask])
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            finished += int(terminated.sum())
            assert np.all(np.isfinite(rewards))
        assert finished > 0  # episodes end and auto-reset in the workers
    finally:
        envs.close()


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_sb3_learns_through_supersuit(algo, capsys):
    pytest.importorskip("supersuit", reason="SuperSuit is in the 'train' extra: pip install 'leo-envs[train]'")
    from examples.sb3_offload_routing import main

    # two tiny episodes (36 agents x 800 slots each): training crosses episode ends and reports each
    result = main(["--algo", algo, "--steps", "57600", "--scenario", "tiny", "--eval-seeds", "1"])
    out = capsys.readouterr().out
    assert out.count("train  agent-steps") == 2
    for name in (algo, "random", "full_local"):
        r = result[name]
        assert 0.0 <= r["completion_rate"] <= 1.0 and 0.0 <= r["drop_rate"] <= 1.0 and r["mean_task_cost_s"] > 0.0


def test_rllib_one_iteration_with_two_env_runners():
    pytest.importorskip("ray.rllib", reason="Ray RLlib is the optional extra: pip install 'leo-envs[rllib]'")
    from examples.rllib_offload_routing import main

    result = main(["--scenario", "tiny", "--iterations", "1", "--env-runners", "2", "--max-cycles", "220",
                   "--train-batch", "440"])
    assert result["training_iteration"] == 1
    assert result["env_runners"]["num_env_steps_sampled"] > 0


def test_torchrl_rollout_with_masks():
    pytest.importorskip("torchrl", reason="TorchRL is the optional extra: pip install 'leo-envs[torchrl]'")
    import warnings

    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    from leo_envs import offload_routing_v3
    from leo_envs.wrappers import HoldWhenIdle, ScalarInfos

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchRL notes it was tested with an older PettingZoo
        env = PettingZooWrapper(HoldWhenIdle(ScalarInfos(offload_routing_v3.parallel_env("tiny"))), use_mask=True,
                                seed=0)
        td = env.rollout(10)
    assert td.batch_size[0] == 10
    actions = td["sat", "action"]
    masks = td["sat", "action_mask"]
    assert masks.shape[:2] == (10, 36)
    assert bool(masks.gather(-1, actions.long().unsqueeze(-1)).all())  # sampled actions respect the masks
