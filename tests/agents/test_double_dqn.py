import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.checkpoint import read_model
from agents.double_dqn import DoubleDQNConfig, masked_argmax
from agents.double_dqn.train import build_model, train
from agents.registry import load_policy
from leo_envs import aggregation_v2


class Batch:
    def __init__(self, obs, next_obs, rewards, dones):
        self.observations, self.next_observations, self.rewards, self.dones = obs, next_obs, rewards, dones


def test_double_dqn_target_by_hand():
    env = aggregation_v2.env("tiny")
    model = build_model(DoubleDQNConfig(scenario="tiny", hidden=16, pretrain_gamma=0.9), env)
    with torch.no_grad():
        for p in model.q_net_target.parameters():
            p.add_(torch.randn_like(p))
    rng = np.random.default_rng(0)
    n, m = 8, env.action_space.n
    obs = torch.as_tensor(rng.random((n, env.observation_space["observation"].shape[0])), dtype=torch.float32)
    q_on = model.q_net({"observation": obs, "action_mask": torch.ones(n, m)}).detach().numpy()
    mask = np.ones((n, m), np.float32)
    mask[np.arange(n), q_on.argmax(axis=1)] = 0  # the online argmax is masked: Double DQN must skip it
    nxt = {"observation": obs, "action_mask": torch.as_tensor(mask)}
    q_on = model.q_net(nxt).detach().numpy()
    q_tg = model.q_net_target(nxt).detach().numpy()
    rewards = torch.arange(n, dtype=torch.float32)[:, None]
    dones = torch.zeros(n, 1)
    dones[2] = 1
    got = model.double_dqn_target(Batch(nxt, nxt, rewards, dones)).numpy()[:, 0]
    best = np.where(mask > 0, q_on, -np.inf).argmax(axis=1)
    expect = np.arange(n) + 0.9 * q_tg[np.arange(n), best]
    expect[2] = 2.0
    np.testing.assert_allclose(got, expect, rtol=1e-5)
    # SB3's stock target would have used the masked action somewhere
    assert np.any(q_tg.argmax(axis=1) != best) or np.any(q_on.argmax(axis=1) != best)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_masked_action_never_chosen(seed, deterministic):
    env = aggregation_v2.env("low_traffic")
    model = build_model(DoubleDQNConfig(hidden=16), env)
    model.exploration_rate = 1.0
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed % 1000)
    mask = (rng.random(env.action_space.n) < 0.3).astype(np.int8)
    mask[rng.integers(env.action_space.n)] = 1
    obs = {"observation": obs["observation"], "action_mask": mask}
    for _ in range(5):
        action, _ = model.predict(obs, deterministic=deterministic)
        assert mask[int(action)] == 1
    assert masked_argmax(torch.tensor([[5.0, 1.0, 3.0]]), torch.tensor([[False, True, True]])).item() == 2


def test_same_seed_same_first_200_updates_resume_and_load(tmp_path):
    cfg = DoubleDQNConfig(scenario="tiny", steps=300, learning_starts=100, train_freq=1, hidden=32,
                          checkpoint_every=100, instance_episodes=0)  # the loaded policy acts greedily
    train(cfg, tmp_path / "a", progress=False)
    train(cfg, tmp_path / "b", progress=False)
    wa, wb = read_model(tmp_path / "a").torch(), read_model(tmp_path / "b").torch()
    assert all(torch.equal(wa["policy"][k], wb["policy"][k]) for k in wa["policy"])
    # the input standardisation was measured, is saved, and is the same in the target network
    scale = wa["policy"]["q_net.input_scale"]
    assert not torch.all(scale == 1) and torch.equal(scale, wa["policy"]["q_net_target.input_scale"])
    # resume (from the end of a run, mid-episode): bit for bit the run that never stopped, log included
    longer = DoubleDQNConfig(**{**cfg.to_dict(), "steps": 600})
    counters = train(longer, tmp_path / "a", resume=True, progress=False)
    assert counters == train(longer, tmp_path / "full", progress=False) and counters["step"] == 600
    wr, wf = read_model(tmp_path / "a").torch(), read_model(tmp_path / "full").torch()
    assert all(torch.equal(wr["policy"][k], wf["policy"][k]) for k in wf["policy"])
    steps = [line.split(",") for line in (tmp_path / "a" / "progress.csv").read_text().splitlines()]
    assert len(steps) > 3
    # save -> load: identical greedy actions
    env = aggregation_v2.env("tiny")
    policy = load_policy(tmp_path / "a", env)
    twin = build_model(longer, aggregation_v2.env("tiny"))
    twin.policy.load_state_dict(read_model(tmp_path / "a").torch()["policy"])
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        a = policy.act(obs)
        assert a == int(twin.predict(obs, deterministic=True)[0])
        obs, _, done, _, _ = env.step(a)


def test_input_scaling_standardises_per_satellite_features():
    env = aggregation_v2.env("tiny")
    model = build_model(DoubleDQNConfig(scenario="tiny", hidden=16), env)
    from agents.double_dqn.train import random_observations

    obs = random_observations("tiny", episodes=5, seed=0)
    net = model.q_net
    net.set_input_scaling(obs)
    rows = (net.split(torch.as_tensor(obs)) - net.input_shift) / net.input_scale
    rows = rows.reshape(-1, rows.shape[-1])
    varying = rows.std(dim=0) > 0
    torch.testing.assert_close(rows.mean(dim=0), torch.zeros(rows.shape[-1]), atol=1e-4, rtol=0)
    torch.testing.assert_close(rows.std(dim=0)[varying], torch.ones(int(varying.sum())), atol=1e-4, rtol=0)


def test_model_pt_holds_the_best_validated_weights(tmp_path):
    import json

    from agents.double_dqn.train import VALIDATION_FILE, validation_score

    cfg = DoubleDQNConfig(scenario="tiny", steps=400, learning_starts=50, hidden=16, validate_every=5,
                          validation_instances=3)
    train(cfg, tmp_path, progress=False)
    record = json.loads((tmp_path / VALIDATION_FILE).read_text())
    # the best by the env's objective: the validation return (EDR with violations charged)
    scores = [h["return"] for h in record["history"]]
    assert len(scores) >= 3 and record["best"]["return"] == max(scores)
    meta = read_model(tmp_path).meta
    assert meta["validation"] == record["best"] and meta["step"] == record["best"]["step"]
    policy = load_policy(tmp_path, aggregation_v2.env("tiny"))
    assert validation_score(policy.model, "tiny", 3)["return"] == max(scores)  # model.pt is that policy
    # a fresh run into the same directory does not inherit the old run's best
    train(DoubleDQNConfig(**{**cfg.to_dict(), "hidden": 8}), tmp_path, progress=False)
    assert read_model(tmp_path).meta["config"]["hidden"] == 8
    assert load_policy(tmp_path, aggregation_v2.env("tiny")).model.policy.q_net.q_net[0].out_features == 8


def test_fine_tuning_replays_its_best_episode_and_never_loses_to_the_trained_policy(tmp_path):
    """The paper's protocol: the plan fine-tuned on an instance replays the best episode it found, which is
    at least as good as the trained network's own greedy episode, and the same seed gives the same plan."""
    import dataclasses

    from agents.double_dqn.finetune import fine_tune, plan_metrics
    from leo_envs.envs.aggregation.dynamics import objective

    cfg = DoubleDQNConfig(scenario="low_traffic", steps=300, learning_starts=100, hidden=16, validate_every=0,
                          instance_episodes=8)
    train(cfg, tmp_path, progress=False)
    env = aggregation_v2.env("low_traffic")
    zero_shot = load_policy(tmp_path, env)
    zero_shot.cfg = dataclasses.replace(zero_shot.cfg, instance_episodes=0)
    tuned = load_policy(tmp_path, env)
    for seed in (3, 4):
        results = {}
        for name, policy in (("zero_shot", zero_shot), ("tuned", tuned)):
            policy.reset(seed)
            obs, _ = env.reset(seed=seed)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(policy.act(obs))
                done = terminated or truncated
            results[name] = info
        assert objective(results["tuned"]) >= objective(results["zero_shot"])
        env.reset(seed=seed)
        inst = env.unwrapped.instance
        plan = fine_tune(tuned.weights, cfg, env.unwrapped.config, inst, seed=seed)
        assert plan == fine_tune(tuned.weights, cfg, env.unwrapped.config, inst, seed=seed)
        assert plan_metrics(env.unwrapped.config, inst, plan)["edr_j_per_s"] == results["tuned"]["edr_j_per_s"]
