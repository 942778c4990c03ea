"""``agents.sb3_offload_vec_env.OffloadRoutingVecEnv`` (one offload_routing_v3 env, one SB3 vector-env row per
satellite) and ``ppo_sb3`` (sb3-contrib's MaskablePPO on it), on ``tiny`` with short episodes:

- sanity checks in the spirit of SB3's env checker (there is none for a ``VecEnv``): spaces, dtypes, shapes,
  one info per row, masks with at least one allowed action per row, determinism;
- across several episode ends: ``dones`` all True at the last slot only, each row's own
  ``terminal_observation``, the episode's final metrics in the done step's infos, ``TimeLimit.truncated``,
  the next episode's first observation returned, and every reset seeded as documented;
- training across episode ends never plays a masked action (checked on every action a deciding satellite
  played), and the sampled and greedy trained policies never do either;
- rows with nothing to decide give exactly no policy gradient (MaskablePPO's loss), deciding rows do.
Resume bit for bit and the run directory are tested with the other SB3 learners (``test_sb3_learners.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("sb3_contrib")

from sb3_contrib import MaskablePPO  # noqa: E402
from stable_baselines3.common.vec_env import VecMonitor  # noqa: E402

from agents.common import training_seed  # noqa: E402
from agents.ppo_sb3.config import PPOSB3Config  # noqa: E402
from agents.ppo_sb3.policy import PPOSharedPolicy  # noqa: E402
from agents.ppo_sb3.train import build  # noqa: E402
from agents.sb3_callbacks import EpisodeMetrics  # noqa: E402
from agents.sb3_offload_vec_env import OffloadRoutingVecEnv  # noqa: E402
from agents.sb3_training import EpisodeSeeds  # noqa: E402
from leo_envs import offload_routing_v3  # noqa: E402
from leo_envs.envs.offload_routing.env import OffloadRoutingEnv  # noqa: E402
from leo_envs.wrappers import hold_when_idle  # noqa: E402

SLOTS = 40  # tiny episodes cut to 40 slots
RUN_SEED = 3


def tiny(**overrides) -> OffloadRoutingEnv:
    return offload_routing_v3.parallel_env("tiny", **{"max_cycles": SLOTS, **overrides})


def random_allowed(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn allowed action per row of (N, A) bool masks (Gumbel-max)."""
    return np.where(masks, rng.random(masks.shape), -1.0).argmax(axis=1)


class RecordingEnv:
    """Wraps an env's ``step_arrays``/``reset``: records each reset's seed and, per slot, the env's masks before
    the step (what the satellites decided on) and the actions played."""

    def __init__(self, env: OffloadRoutingEnv):
        self.env, self.seeds, self.played = env, [], []
        step_arrays, reset = env.step_arrays, env.reset

        def recording_step(actions):
            self.played.append((env.observation_arrays()[1].copy(), np.asarray(actions).copy()))
            return step_arrays(actions)

        def recording_reset(seed=None, options=None):
            self.seeds.append(seed)
            return reset(seed=seed, options=options)

        env.step_arrays, env.reset = recording_step, recording_reset

    def masked_plays(self) -> int:
        """Actions of deciding satellites (some action allowed) that their mask did not allow."""
        bad = 0
        for mask, actions in self.played:
            deciding = mask.any(axis=1)
            bad += int((~mask[np.arange(len(actions)), actions].astype(bool) & deciding).sum())
        return bad


def test_sanity_spaces_dtypes_shapes_and_determinism():
    vec = OffloadRoutingVecEnv(tiny(), EpisodeSeeds(RUN_SEED))
    n, env = vec.num_envs, vec.sim_env
    assert n == len(env.possible_agents) and vec.observation_space.dtype == np.float32
    assert vec.observation_space.shape == (env.sim.obs_dim,) and vec.action_space.n == env.num_actions
    assert vec.has_attr("action_masks") and vec.get_attr("render_mode") == [None] * n
    twin = OffloadRoutingVecEnv(tiny(), EpisodeSeeds(RUN_SEED))
    obs, obs2 = vec.reset(), twin.reset()
    rng = np.random.default_rng(0)
    for _ in range(SLOTS + 5):  # past an episode end
        masks = vec.action_masks()
        assert masks.dtype == bool and masks.shape == (n, vec.action_space.n) and masks.any(axis=1).all()
        assert np.array_equal(np.stack(vec.env_method("action_masks")), masks)
        assert obs.dtype == np.float32 and obs.shape == (n, *vec.observation_space.shape)
        assert all(vec.observation_space.contains(row) for row in obs)
        assert np.array_equal(obs, obs2) and np.array_equal(masks, twin.action_masks())
        actions = random_allowed(masks, rng)
        obs, rewards, dones, infos = vec.step(actions)
        obs2, rewards2, dones2, _ = twin.step(actions)
        assert rewards.dtype == np.float32 and rewards.shape == (n,) and dones.dtype == bool and len(infos) == n
        assert np.array_equal(rewards, rewards2) and np.array_equal(dones, dones2)


def test_hold_when_idle_allows_hold_only_on_all_zero_rows():
    env_mask = np.array([[0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]], np.int8)
    assert hold_when_idle(env_mask).tolist() == [[True, False, False, False], [False, True, False, True],
                                                 [True, False, False, False]]


def test_episode_ends_terminal_observations_metrics_and_seeds():
    """Three episode ends: the vector env against a twin env stepped by hand with the same seeds and actions."""
    recorded = RecordingEnv(tiny())
    vec = VecMonitor(OffloadRoutingVecEnv(recorded.env, EpisodeSeeds(RUN_SEED), reward_scale=0.5))
    twin = tiny()
    obs = vec.reset()
    twin.reset(seed=training_seed(RUN_SEED, 0))
    rng = np.random.default_rng(1)
    for episode in range(3):
        for slot in range(SLOTS):
            assert np.array_equal(obs, twin.observation_arrays()[0])
            actions = random_allowed(np.stack(vec.env_method("action_masks")), rng)  # as sb3-contrib asks
            obs, rewards, dones, infos = vec.step(actions)
            t_obs, _, t_rewards, _, truncated, t_info = twin.step_arrays(actions)
            assert np.array_equal(rewards, (t_rewards * 0.5).astype(np.float32))
            last = slot == SLOTS - 1
            assert dones.tolist() == [last] * vec.num_envs and truncated == last
            if not last:
                assert infos[0]["metrics_final"] is False and "terminal_observation" not in infos[0]
                continue
            for i, info in enumerate(infos):  # each row its own terminal observation, the last step's info
                assert np.array_equal(info["terminal_observation"], t_obs[i])
                assert info["metrics_final"] is True and info["TimeLimit.truncated"] is True
                assert info["mean_task_cost_s"] == t_info["mean_task_cost_s"]
                assert info["total_cost_s"] == t_info["total_cost_s"] and "episode" in info  # VecMonitor's
            twin.reset(seed=training_seed(RUN_SEED, episode + 1))
            assert np.array_equal(obs, twin.observation_arrays()[0])  # the next episode's first observation
            assert vec.venv.reset_infos[0]["metrics_final"] is False
    assert recorded.seeds == [training_seed(RUN_SEED, e) for e in range(4)]
    assert recorded.masked_plays() == 0


def test_without_episode_seeds_sb3s_seed_applies_to_the_next_reset_only():
    recorded = RecordingEnv(tiny(max_cycles=3))
    vec = OffloadRoutingVecEnv(recorded.env)
    vec.seed(11)
    vec.reset()
    for _ in range(3):
        vec.step(np.zeros(vec.num_envs, np.int64))
    vec.reset()
    assert recorded.seeds == [11, None, None]  # the automatic reset and the next continue the env's stream


def test_training_never_plays_a_masked_action_and_reports_final_metrics():
    cfg = PPOSB3Config(scenario="tiny", max_cycles=SLOTS, n_steps=16, n_epochs=1, seed=RUN_SEED)
    model, vec, seeds = build(cfg)
    recorded = RecordingEnv(vec.venv.env)
    vec.reset()
    metrics = EpisodeMetrics(slots_per_episode=vec.num_envs, verbose=0)
    model.learn(3 * SLOTS * vec.num_envs, callback=metrics)  # three episode ends
    assert len(recorded.played) >= 3 * SLOTS and recorded.masked_plays() == 0
    assert len(metrics.rows) >= 3 and all(row["masked_actions"] == 0 for row in metrics.rows)
    assert all({"mean_task_cost_s", "completion_rate", "drop_rate"} <= set(row) for row in metrics.rows)
    # the trained policy, greedy and sampled, plays allowed actions only (sampled: reproducibly)
    weights = {"policy": model.policy.state_dict()}
    episodes = []
    for sampled in (False, True, True):
        env = tiny()
        policy = PPOSharedPolicy.load(env, weights, cfg, mode="sampled" if sampled else "greedy")
        policy.reset(5)
        obs, _ = env.reset(seed=5)
        played = []
        while env.agents:
            actions = policy.act(obs)
            assert all(obs[a]["action_mask"][act] or not obs[a]["action_mask"].any() for a, act in actions.items())
            played.append(list(actions.values()))
            obs, _, _, _, infos = env.step(actions)
        assert infos[env.possible_agents[0]]["masked_actions_total"] == 0
        episodes.append(played)
    assert episodes[1] == episodes[2]


def policy_loss(model: MaskablePPO, data, rows: torch.Tensor) -> torch.Tensor:
    """MaskablePPO.train's policy loss (clipped surrogate plus the entropy term) on the rows ``rows`` of a batch."""
    _, log_prob, entropy = model.policy.evaluate_actions(data.observations[rows], data.actions[rows].long().flatten(),
                                                         action_masks=data.action_masks[rows])
    advantages = data.advantages[rows]
    ratio = torch.exp(log_prob - data.old_log_prob[rows])
    clip = model.clip_range(1.0)
    surrogate = -torch.min(advantages * ratio, advantages * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()
    return surrogate - model.ent_coef * entropy.mean()


def test_rows_with_nothing_to_decide_give_no_policy_gradient():
    cfg = PPOSB3Config(scenario="tiny", max_cycles=SLOTS, n_steps=32, n_epochs=1, seed=RUN_SEED, ent_coef=0.05)
    model, vec, _ = build(cfg)
    model.learn(2 * cfg.n_steps * vec.num_envs)  # one update: the buffer's old log-probs are not the current ones
    data = next(model.rollout_buffer.get(batch_size=None))
    allowed = data.action_masks.bool().sum(dim=1)
    idle, deciding = torch.nonzero(allowed == 1).flatten(), torch.nonzero(allowed > 1).flatten()
    assert len(idle) > 0 and len(deciding) > 0
    assert torch.all(data.action_masks[idle][:, 0] == 1)  # hold only
    assert torch.any(data.advantages[idle] != 0)  # their advantages are not what makes the gradient zero
    params = [p for name, p in model.policy.named_parameters() if name.startswith(("mlp_extractor.policy", "action"))]
    assert params
    for rows, zero in ((idle, True), (deciding, False)):
        model.policy.zero_grad(set_to_none=True)
        policy_loss(model, data, rows).backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        assert all(torch.count_nonzero(g) == 0 for g in grads) == zero


def test_a_bad_reward_scale_or_rollout_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="reward_scale"):
        OffloadRoutingVecEnv(tiny(), reward_scale=0.0)
    with pytest.raises(ValueError, match="minibatches"):
        build(PPOSB3Config(scenario="tiny", minibatches=0))
