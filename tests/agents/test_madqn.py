import copy

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.bisection import best_level, bisect_ratio
from agents.checkpoint import read_checkpoint, read_model
from agents.madqn import MADQNAgent, MADQNConfig
from agents.madqn.agent import N_ROUTE, bisect_ratio_for_level, clip_grad_norm, route_mask
from agents.madqn.network import QNetwork, numpy_forward
from agents.madqn.replay import FIELDS, ReplayBuffer
from agents.madqn.train import train
from agents.registry import load_policy
from leo_envs import offload_routing_v3
from leo_envs.envs.offload_routing import COMPUTE, FIRST_PORT, FIRST_RATIO

TINY = dict(scenario="tiny", learning_starts=64, batch_size=32, target_sync=50, checkpoint_every=200, randomize=False)


def test_double_dqn_target_by_hand():
    torch.manual_seed(0)
    agent = MADQNAgent(4, MADQNConfig(hidden=8, gamma=0.9))
    with torch.no_grad():
        for p in agent.target.parameters():
            p.add_(torch.randn_like(p))  # target differs from online
    rng = np.random.default_rng(1)
    nxt = rng.normal(size=(6, 4)).astype(np.float32)
    q_on = agent.online(torch.as_tensor(nxt)).detach().numpy()
    q_tg = agent.target(torch.as_tensor(nxt)).detach().numpy()
    mask = np.ones((6, N_ROUTE), bool)
    mask[np.arange(6), q_on.argmin(axis=1)] = False  # the unmasked argmin is never allowed
    mask[5] = False  # no valid next action: no bootstrap
    batch = {"next_obs": nxt, "next_mask": mask, "delay": np.arange(6, dtype=np.float32),
             "done": np.array([0, 0, 0, 1, 0, 0], bool)}
    got = agent.double_dqn_target(batch).numpy()
    best = np.where(mask, q_on, np.inf).argmin(axis=1)
    expect = np.arange(6) + 0.9 * q_tg[np.arange(6), best]
    expect[3] = 3.0
    expect[5] = 5.0
    np.testing.assert_allclose(got, expect, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 1.0))
def test_masked_actions_are_never_chosen(seed, epsilon):
    env = offload_routing_v3.parallel_env("tiny")
    rng = np.random.default_rng(seed)
    agent = MADQNAgent(env.sim.obs_dim, MADQNConfig(hidden=16))
    obs = rng.random((36, env.sim.obs_dim)).astype(np.float32)
    mask = (rng.random((36, env.sim.n_actions)) < 0.4).astype(np.int8)
    mask[:, 0] = mask.any(axis=1)
    mask[mask[:, FIRST_RATIO] > 0, FIRST_PORT:COMPUTE + 1] = 0  # a new task masks routing, as the env does
    mask[mask[:, FIRST_RATIO] > 0, FIRST_RATIO:] = 1
    actions = agent.act_arrays(obs, mask, env.config, epsilon, rng)
    deciding = route_mask(mask).any(axis=1) | (mask[:, FIRST_RATIO] > 0)
    assert np.all(mask[np.arange(36), actions][deciding] == 1)


def test_same_seed_same_first_200_updates_and_resume_continues(tmp_path):
    cfg = MADQNConfig(steps=400, **TINY)
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    assert a["updates"] >= 200 and a == b
    wa, wb = read_model(tmp_path / "a").torch(), read_model(tmp_path / "b").torch()
    assert all(torch.equal(wa["online"][k], wb["online"][k]) for k in wa["online"])
    # a run of two tiny episodes (1600 slots) interrupted after the first, then resumed == one uninterrupted run
    long = MADQNConfig(steps=1600, **TINY)
    train(long, tmp_path / "cut", progress=False, stop_at=800)
    assert read_checkpoint(tmp_path / "cut").torch("learner.pt")["online"]
    train(long, tmp_path / "cut", resume=True, progress=False)
    train(long, tmp_path / "full", progress=False)
    wr, wf = read_model(tmp_path / "cut").torch(), read_model(tmp_path / "full").torch()
    assert all(torch.equal(wr["online"][k], wf["online"][k]) for k in wr["online"])
    rows = (tmp_path / "cut" / "progress.csv").read_text().strip().splitlines()
    assert rows[1:] == (tmp_path / "full" / "progress.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == 1 + 2 and rows[-1].startswith("1600,2,")


def test_save_load_gives_identical_greedy_actions(tmp_path):
    train(MADQNConfig(steps=200, **TINY), tmp_path, progress=False)
    env = offload_routing_v3.parallel_env("tiny")
    policy = load_policy(tmp_path, env)
    state = read_checkpoint(tmp_path).torch("learner.pt")
    twin = MADQNAgent(env.sim.obs_dim, MADQNConfig(**TINY))
    twin.online.load_state_dict(state["online"])
    obs, _ = env.reset(seed=0)
    for _ in range(50):
        o, m = env.observation_arrays()
        a = policy.agent.act_arrays(o, m, env.config)
        assert np.array_equal(a, twin.act_arrays(o, m, env.config))
        obs, *_ = env.step(policy.act(obs))
    assert policy.bisection_ms_per_task > 0


def test_bisection_balances_local_and_offloaded_finish():
    env = offload_routing_v3.parallel_env("tiny")
    agent = MADQNAgent(env.sim.obs_dim, MADQNConfig(hidden=8))
    with torch.no_grad():  # Q(o, a) = 2 s x (head bundle size / D): offloading D costs 2 s
        for p in agent.online.parameters():
            p.zero_()
        agent.online.body[0].weight[0, 3] = 1.0
        agent.online.body[2].weight[0, 0] = 1.0
        agent.online.head.weight[:, 0] = 2.0
    obs = np.zeros((1, env.sim.obs_dim), np.float32)
    obs[0, 1], obs[0, 2] = 1.0, 1.0  # a new task of D bits, idle CPU
    obs[0, 9] = 1.0  # the fore link is up
    level = agent.ratio_levels(obs, env.config)[0]
    cfg = env.config
    local_full = cfg.task_bits * cfg.small_model_cycles_per_bit / cfg.rs_cpu_hz  # 1.0 s
    # rho solves rho * 1.0 = dt + 2 (1 - rho)  ->  rho = (2 + dt) / 3
    rho = (2.0 + cfg.dt_s) / (local_full + 2.0)
    assert abs(level / (cfg.ratio_levels - 1) - rho) <= 1.0 / (cfg.ratio_levels - 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 24), st.integers(2, 16),
       st.sampled_from(["monotone", "wavy", "unreachable"]))
def test_early_stopped_bisection_picks_the_same_levels(seed, iterations, levels, kind):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 6))
    a, b, c = rng.normal(size=(3, k)) * rng.choice([0.01, 1.0, 100.0])

    def local(r):
        return a + np.abs(b) * r

    offload = {"monotone": lambda r: c - np.abs(a) * r, "wavy": lambda r: c + np.sin(13 * r * b),
               "unreachable": lambda r: np.where(np.abs(c) > 1, np.inf, c - r)}[kind]

    def finish(r):
        return np.maximum(local(r), offload(r))

    full = best_level(bisect_ratio(local, offload, k, iterations), levels, finish)
    early = best_level(bisect_ratio_for_level(local, offload, k, iterations, levels), levels, finish)
    assert np.array_equal(full, early)


def test_numpy_forward_matches_the_torch_net_and_follows_its_parameters():
    rng = np.random.default_rng(0)
    x = rng.random((70, 41), dtype=np.float32)  # 128 wide: five blocks of at most 16 rows
    for dueling in (False, True):
        net = QNetwork(41, N_ROUTE, 128, dueling)
        np.testing.assert_allclose(numpy_forward(net.numpy_layers(), x), net(torch.as_tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    other = QNetwork(41, N_ROUTE, 32)
    for assign in (False, True):  # in place or new tensors: the numpy view is of the loaded weights either way
        net = QNetwork(41, N_ROUTE, 32)
        net.numpy_layers()
        net.load_state_dict(other.state_dict(), assign=assign)
        np.testing.assert_allclose(numpy_forward(net.numpy_layers(), x), other(torch.as_tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    twin = copy.deepcopy(net)
    with torch.no_grad():
        twin.head.bias.add_(1.0)  # an optimizer step, in place
    np.testing.assert_allclose(numpy_forward(twin.numpy_layers(), x), twin(torch.as_tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_is_torchs_bit_for_bit():
    torch.manual_seed(0)
    net = QNetwork(41, N_ROUTE, 32)
    params = list(net.parameters())
    for scale in (1e-3, 1.0, 1e3):  # under, near and over the clip
        grads = [torch.randn_like(p) * scale for p in params]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        expect = [p.grad.clone() for p in params]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        clip_grad_norm(params, 10.0)
        assert all(torch.equal(e, p.grad) for e, p in zip(expect, params))


def test_replay_sample_draws_the_rows_of_one_integers_call():
    rng = np.random.default_rng(3)
    replay = ReplayBuffer(50, 4, N_ROUTE)
    n = 30
    replay.add(rng.random((n, 4), dtype=np.float32), rng.integers(0, N_ROUTE, n), rng.random(n, dtype=np.float32),
               rng.random((n, 4), dtype=np.float32), rng.random((n, N_ROUTE)) < 0.5, rng.random(n) < 0.2)
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(3):
        got = {f: v.copy() for f, v in replay.sample(16, a).items()}
        idx = b.integers(0, replay.size, 16)
        for f in FIELDS:
            assert np.array_equal(got[f], getattr(replay, f)[idx]) and got[f].dtype == getattr(replay, f).dtype
