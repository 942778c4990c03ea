"""The native TorchRL env of offload_routing_v3 (agents/torchrl_env.py): specs, masks, resets, episode metrics and
seeding, on ``tiny`` with 30-slot episodes."""

import numpy as np
import pytest
import torch

pytest.importorskip("torchrl")

from torchrl.envs.utils import check_env_specs  # noqa: E402

from agents.torchrl_env import (  # noqa: E402
    EPISODE_KEYS,
    OffloadRoutingTorchRLEnv,
    RandomMaskedPolicy,
    episode_metrics,
    idle_rows,
)
from leo_envs import offload_routing_v3  # noqa: E402

CYCLES = 30
STEPS = 2 * CYCLES + 10  # two episode ends and part of a third episode


def rollout(seed: int, policy_seed: int = 0):
    env = OffloadRoutingTorchRLEnv("tiny", max_cycles=CYCLES, seed=seed)
    return env.rollout(STEPS, RandomMaskedPolicy(seed=policy_seed), break_when_any_done=False)


def reset_seeds(seed: int, n: int) -> list[int]:
    """The seeds the env gives its first ``n`` resets after ``set_seed(seed)``."""
    env = OffloadRoutingTorchRLEnv("tiny", max_cycles=CYCLES)
    env._set_seed(seed)
    return [env._next_seed() for _ in range(n)]


def test_check_env_specs():
    env = OffloadRoutingTorchRLEnv("tiny", max_cycles=CYCLES, seed=0)
    check_env_specs(env)
    assert env.full_action_spec["agents", "action"].shape == (36,)
    assert env.full_observation_spec["state"].shape == (36 * 41,)


def test_rollout_across_episode_ends_plays_allowed_actions_and_resets():
    td = rollout(seed=1)
    actions, masks = td["agents", "action"], td["agents", "action_mask"]
    assert bool(masks.gather(-1, actions.unsqueeze(-1)).all())  # never a masked action
    assert bool(masks.any(-1).all())  # every row allows something: idle rows allow hold
    idle = idle_rows(masks)
    assert bool(idle.any()) and bool((~idle).any())

    done = td["next", "done"].squeeze(-1)
    final = td["next", "episode", "final"].squeeze(-1)
    ends = torch.nonzero(done).squeeze(-1).tolist()
    assert ends == [CYCLES - 1, 2 * CYCLES - 1]
    assert torch.equal(final, done)
    metrics = td["next", "episode", "metrics"]
    assert bool((metrics[~final] == 0).all())  # zero but at the ends

    # replay each episode's actions on a PettingZoo env reset with the same seed: same observations, same metrics
    seeds = reset_seeds(1, 3)
    for episode, start in enumerate((0, CYCLES)):
        pz = offload_routing_v3.parallel_env("tiny", max_cycles=CYCLES)
        pz.reset(seed=seeds[episode])
        obs, _ = pz.observation_arrays()
        np.testing.assert_array_equal(td["agents", "observation"][start].numpy(), obs)  # a fresh episode
        for t in range(start, start + CYCLES):
            obs, mask, reward, _, truncated, info = pz.step_arrays(actions[t].numpy())
            np.testing.assert_array_equal(td["next", "agents", "observation"][t].numpy(), obs)
            np.testing.assert_array_equal(td["next", "agents", "reward"][t].squeeze(-1).numpy(),
                                          reward.astype(np.float32))
        assert truncated and info["metrics_final"]
        np.testing.assert_array_equal(metrics[start + CYCLES - 1].numpy(), episode_metrics(info))
        named = dict(zip(EPISODE_KEYS, metrics[start + CYCLES - 1].tolist()))
        assert named["arrived_tasks"] > 0 and named["total_cost_s"] > 0 and named["masked_actions_total"] == 0
    # the state is the agents' observations, flattened
    assert torch.equal(td["state"], td["agents", "observation"].flatten(-2))


def test_same_seed_same_rollout_bit_for_bit():
    a, b = rollout(seed=5), rollout(seed=5)
    assert (a == b).all()
    c = rollout(seed=6)
    assert not torch.equal(a["next", "agents", "observation"], c["next", "agents", "observation"])


def test_hop_rewards_pass_through_per_satellite_and_sum_to_the_team_reward():
    def rollout_of(mode: str):
        env = OffloadRoutingTorchRLEnv("tiny", max_cycles=CYCLES, seed=2, reward_mode=mode)
        return env.rollout(CYCLES, RandomMaskedPolicy(seed=0))

    td = rollout_of("hop")
    team, hop = rollout_of("team")["next", "agents", "reward"], td["next", "agents", "reward"]
    assert bool((team == team[..., :1, :]).all())  # the same for every satellite
    assert not bool((hop == hop[..., :1, :]).all())  # each satellite its own
    torch.testing.assert_close(hop.sum(-2), team[..., 0, :], rtol=1e-4, atol=1e-3)
    pz = offload_routing_v3.parallel_env("tiny", max_cycles=CYCLES, reward_mode="hop")
    pz.reset(seed=reset_seeds(2, 1)[0])
    for t in range(CYCLES):  # the env's own per-satellite rewards, unchanged
        reward = pz.step_arrays(td["agents", "action"][t].numpy())[2]
        np.testing.assert_array_equal(hop[t].squeeze(-1).numpy(), reward.astype(np.float32))


def test_gae_is_per_satellite():
    """A reward to one satellite moves that satellite's advantage only (MAPPO on hop, IPPO)."""
    from tensordict import TensorDict

    from agents.torchrl_marl.config import PPOConfig
    from agents.torchrl_marl.modules import CentralValue, SharedMLP, make_actor, make_critic
    from agents.torchrl_marl.ppo import add_advantages, make_loss

    t, n, d, a = 6, 3, 4, 7
    for centralised in (True, False):
        cfg = PPOConfig(centralised=centralised, reward_mode="hop", hidden=(8,))
        critic = CentralValue(n, d, (8,), per_agent=True) if centralised else SharedMLP(d, 1, (8,))
        loss = make_loss(make_actor(SharedMLP(d, a, (8,)), False), make_critic(critic, centralised), cfg)
        for p in critic.parameters():
            torch.nn.init.zeros_(p)  # every value 0: the advantage is the discounted reward alone
        obs, flags = torch.rand(t, n, d), torch.zeros(t, 1, dtype=torch.bool)
        reward = torch.zeros(t, n, 1)
        reward[2, 1] = -1.0
        group = {"observation": obs, "action_mask": torch.ones(t, n, a, dtype=torch.bool)}
        batch = TensorDict({"agents": TensorDict(group, [t, n]), "state": obs.flatten(-2), "next": TensorDict({
            "agents": TensorDict({**group, "reward": reward}, [t, n]), "state": obs.flatten(-2), "done": flags,
            "terminated": flags}, [t])}, [t])
        add_advantages(batch, loss, 1.0)
        adv = batch["agents", "advantage"][..., 0]
        assert bool((adv[:, [0, 2]] == 0).all()) and bool((adv[:3, 1] < 0).all()) and bool((adv[3:, 1] == 0).all())


def test_only_unbatched():
    with pytest.raises(ValueError, match="batch_size"):
        OffloadRoutingTorchRLEnv("tiny", batch_size=(2,))


# ---------------------------------------------------------------- the learners on the native env (agents/torchrl_marl)
LEARNERS = {  # between them: both credit modes, whole-iteration and in-episode updates (12 does not divide 30)
    "mappo": dict(centralised=True, minibatch_size=10, minibatch_iters=3, reward_mode="hop", rollout_frames=12),
    "ippo": dict(centralised=False, minibatch_size=10, minibatch_iters=3, reward_mode="team",
                 rollout_frames=None),
    "qmix": dict(batch_size=8, updates_per_batch=3, buffer_frames=50, rollout_frames=15),
}


def learner_run(agent: str, out, steps: int = 60, **kw) -> dict:
    from agents.torchrl_marl import ppo, qmix
    from agents.torchrl_marl.config import PPOConfig, QMIXConfig

    fields = dict(scenario="tiny", max_cycles=CYCLES, episodes_per_batch=1, steps=steps, hidden=(16, 16), seed=3,
                  **LEARNERS[agent])
    if agent == "qmix":
        return qmix.train(QMIXConfig(**fields), out, progress=False, **kw)
    return ppo.train(PPOConfig(**fields), out, progress=False, **kw)


@pytest.mark.parametrize("agent", sorted(LEARNERS))
def test_learner_trains_resumes_bit_for_bit_and_evaluates(agent, tmp_path):
    from agents.checkpoint import read_model
    from agents.registry import load_policy
    from agents.specs.base import play_parallel

    whole = learner_run(agent, tmp_path / "whole")
    assert whole["step"] == 2 * CYCLES and whole["episode"] == 2 and whole["agent_steps"] == 2 * CYCLES * 36
    assert 0 < whole["active_agent_steps"] < whole["agent_steps"]
    learner_run(agent, tmp_path / "cut", stop_at=CYCLES)  # interrupted after its first iteration
    assert read_model(tmp_path / "cut").meta["step"] == CYCLES
    assert learner_run(agent, tmp_path / "cut", resume=True) == whole
    weights = [(tmp_path / run / "model" / "model.pt").read_bytes() for run in ("cut", "whole")]
    assert weights[0] == weights[1]  # the resumed run ends with the same weights, bit for bit
    rows = (tmp_path / "cut" / "progress.csv").read_text().splitlines()
    assert len(rows) == 3 and "mean_task_cost_s" in rows[0]  # a header and one row per iteration

    env = offload_routing_v3.parallel_env("tiny", max_cycles=CYCLES)
    policy = load_policy(tmp_path / "whole", env)
    assert policy.name == agent
    policy.reset(0)
    info = play_parallel(env, policy, seed=0)
    assert info["metrics_final"] and info["masked_actions_total"] == 0


def test_qmix_td_target_bootstraps_through_truncation_on_the_masked_max_with_idle_rows_zero():
    """QMIX's TD(0) target, recomputed by hand: r + gamma * mix(max over the next policy mask of each satellite's
    Q, idle satellites 0; next observations), bootstrapping at the truncated last frame too (the env never
    terminates). The suspects of QMIX playing worse than random (docs/marl_harness.md), ruled out here."""
    from torchrl.modules import QMixer

    from agents.torchrl_marl import qmix
    from agents.torchrl_marl.config import QMIXConfig
    from agents.torchrl_marl.modules import MASK, OBS, SharedMLP, active_rows, policy_mask
    from agents.torchrl_marl.run import episode_pieces, make_training_env, team_reward

    torch.manual_seed(0)
    cfg = QMIXConfig(scenario="tiny", max_cycles=CYCLES, hidden=(16, 16), gamma=0.9)
    env = make_training_env(cfg, 0)
    net, mixer = SharedMLP(env.obs_dim, env.n_actions, (16, 16)), qmix.ActiveMixer(
        QMixer((env.n_agents * env.obs_dim,), 8, env.n_agents, device="cpu"))
    qnet = qmix.make_qnet(net, cfg.allow_hold)
    loss = qmix.make_loss(qnet, mixer, cfg)
    batch = next(episode_pieces(env, qnet, 1, CYCLES, None))
    batch.set(("next", "reward"), team_reward(batch, "team"))
    assert bool(batch["next", "truncated"][-1]) and not bool(batch["next", "terminated"].any())
    target = loss.value_estimator.value_estimate(batch.clone(False), target_params=loss._cached_target_params)

    nxt = batch["next"]
    allowed = policy_mask(nxt.get(MASK), cfg.allow_hold)
    with torch.no_grad():  # the target networks equal the online ones before any update
        best = net(nxt.get(OBS)).masked_fill(~allowed, -torch.inf).max(-1).values
        mixed = mixer.mixer((best * active_rows(allowed)).unsqueeze(-1), nxt.get(OBS).flatten(-2))
    torch.testing.assert_close(target.reshape(-1), (nxt["reward"] + cfg.gamma * mixed).reshape(-1))
