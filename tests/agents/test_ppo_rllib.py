"""ppo_rllib: RLlib PPO with one shared, masked policy on offload_routing_v3, through train.py and evaluate's
loader. One training run (Ray is the cost: about 10 s to start and as much to build the algorithm), resumed
once; the rest needs no Ray."""

import csv
import pickle

import numpy as np
import pytest
import torch

pytest.importorskip("ray.rllib", reason="Ray RLlib is the optional extra: pip install 'leo-envs[rllib]'")

from agents.checkpoint import read_checkpoint, read_model  # noqa: E402
from agents.common import training_seed_range  # noqa: E402
from agents.ppo_rllib.config import PPORLlibConfig  # noqa: E402
from agents.ppo_rllib.env import SeededResets, TrainingView, policy_mask, reward_factor  # noqa: E402
from agents.registry import load_policy  # noqa: E402
from leo_envs import offload_routing_v3  # noqa: E402

# tiny with 220-slot episodes (past one TTL, so the headline metric is scored); one env runner, 220 env
# steps an iteration: every iteration ends an episode
ARGS = ["offload_routing", "ppo_rllib", "--scenario", "tiny", "--seed", "3", "--no-progress"]
SMALL = dict(max_cycles=220, train_batch=220, minibatch_size=220, num_epochs=1, num_env_runners=1, hidden=(32, 32))


def test_policy_mask_hold_only_when_idle_unless_allowed():
    mask = np.array([[0, 0, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0]], np.int8)
    np.testing.assert_array_equal(policy_mask(mask, False), [[1, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(policy_mask(mask, True), [[1, 0, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0]])


def test_seeded_resets_ignore_the_given_seed():
    env = SeededResets(offload_routing_v3.parallel_env("tiny", max_cycles=5), first=10**8 + 2, stride=3)
    firsts = []
    for seed in (0, 0, None):
        obs, _ = env.reset(seed=seed)
        firsts.append(env.reset_seed)
    assert firsts == [10**8 + 2, 10**8 + 5, 10**8 + 8]
    ref = offload_routing_v3.parallel_env("tiny", max_cycles=5)
    ref_obs, _ = ref.reset(seed=10**8 + 8)
    assert all(np.array_equal(obs[a]["observation"], ref_obs[a]["observation"]) for a in ref.possible_agents)


def test_training_view_shows_the_satellites_with_a_choice_and_everyone_at_the_end():
    view = TrainingView(SeededResets(offload_routing_v3.parallel_env("tiny", max_cycles=40), 10**8, 1),
                        allow_hold=False)
    obs, infos = view.reset()
    shown, steps = [], 0
    while view.env.agents:
        mask = policy_mask(view.env.unwrapped.observation_arrays()[1], False)
        choosing = {a for a, m in zip(view.possible_agents, mask) if m.sum() > 1}
        assert set(obs) == (choosing or {view.possible_agents[0]}) and set(infos) == set(obs)
        assert all(o["action_mask"].sum() > 1 for a, o in obs.items() if a in choosing)
        assert all(info["reset_seed"] == 10**8 for info in infos.values())
        shown.append(len(obs))
        obs, rewards, _, truncations, infos = view.step({a: int(np.argmax(o["action_mask"])) for a, o in obs.items()})
        steps += 1
        assert len(rewards) == len(view.possible_agents)  # rewards for all: RLlib keeps them for the next step
    assert steps == 40 and set(obs) == set(view.possible_agents) and all(truncations.values())
    assert 0 < np.mean(shown) < len(view.possible_agents)


def test_rllib_episodes_keep_every_reward_of_a_skip_idle_agent():
    """With ``skip_idle`` a satellite is absent from most steps; RLlib's MultiAgentEpisode must add what it
    earns meanwhile to its next step (no reward lost or moved to another agent), and end every agent's
    episode truncated on the final observation (GAE bootstraps from it). No Ray runtime needed."""
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    env = SeededResets(offload_routing_v3.parallel_env("tiny", reward_mode="hop", max_cycles=120), 10**8, 1)
    view = TrainingView(env, allow_hold=False, reward_factor=0.1)
    rng = np.random.default_rng(1)
    obs, infos = view.reset()
    episode = MultiAgentEpisode(observations=[obs], infos=[infos], agent_module_ids=dict.fromkeys(
        view.possible_agents, "shared"))
    earned, acted = dict.fromkeys(view.possible_agents, 0.0), set()
    while view.env.agents:
        actions = {a: int(rng.choice(np.flatnonzero(o["action_mask"]))) for a, o in obs.items()}
        acted |= set(actions)
        obs, rewards, terminations, truncations, infos = view.step(actions)
        for agent, r in rewards.items():
            if agent in acted:  # before its first observation no action of its own earned it
                earned[agent] += r
        episode.add_env_step(observations=obs, actions=actions, rewards=rewards, infos=infos,
                             terminateds={**terminations, "__all__": all(terminations.values())},
                             truncateds={**truncations, "__all__": all(truncations.values())})
    kept = {a: float(np.sum(e.get_rewards())) for a, e in episode.agent_episodes.items()}
    assert set(kept) == acted
    assert all(kept[a] == pytest.approx(earned[a], abs=1e-9) for a in acted)
    assert all(e.is_truncated for e in episode.agent_episodes.values())
    assert np.mean([len(e) for e in episode.agent_episodes.values()]) < 120  # idle slots are no steps


def _decision_returns(mode: str, cfg: PPORLlibConfig, slots: int) -> np.ndarray:
    """Every decision's discounted return (``cfg.gamma`` per decision, as RLlib's GAE discounts a
    ``skip_idle`` agent's steps) in one tiny episode of random masked play, with the rewards RLlib sees."""
    env = SeededResets(offload_routing_v3.parallel_env("tiny", reward_mode=mode, max_cycles=slots), 10**8, 1)
    view = TrainingView(env, cfg.allow_hold, cfg.skip_idle,
                        reward_factor(mode, cfg.reward_scale, len(env.possible_agents)))
    rng = np.random.default_rng(0)
    obs, _ = view.reset()
    accrued: dict[str, float] = {}
    steps: dict[str, list[float]] = {a: [] for a in view.possible_agents}
    while view.env.agents:
        for agent in obs:  # the step that ended at this observation
            if agent in accrued:
                steps[agent].append(accrued[agent])
            accrued[agent] = 0.0
        actions = {a: int(rng.choice(np.flatnonzero(o["action_mask"]))) for a, o in obs.items()}
        obs, rewards, *_ = view.step(actions)
        for agent, r in rewards.items():
            if agent in accrued:
                accrued[agent] += r
    returns = []
    for rewards in steps.values():
        g = 0.0
        for r in reversed(rewards):
            g = r + cfg.gamma * g
            returns.append(g)
    return np.array(returns)


@pytest.mark.parametrize("mode", ["team", "hop"])
def test_default_reward_scale_leaves_the_value_loss_unclipped(mode):
    """RLlib clips each row's squared value error at ``vf_clip_param`` and a clipped row gives the critic
    no gradient. The unscaled rewards (returns of hundreds to thousands of seconds against a clip of 10)
    froze the critic of every earlier ppo_rllib run; with the default scale, a fresh critic (values near 0)
    must see almost every row unclipped."""
    cfg = PPORLlibConfig()
    returns = _decision_returns(mode, cfg, 300)
    assert len(returns) > 1000 and np.mean(returns) < 0
    assert np.mean(returns**2 < cfg.vf_clip_param) > 0.99
    assert np.mean(np.abs(returns)) > 0.1  # not scaled into nothing either
    # the old setting (the env's rewards as they are, a clip of 10): most rows clipped. The play does not
    # depend on the rewards, so the unscaled returns are these over the factor
    satellites = len(offload_routing_v3.parallel_env("tiny").possible_agents)
    unscaled = returns / reward_factor(mode, cfg.reward_scale, satellites)
    assert np.mean(unscaled**2 < 10.0) < 0.5


def test_reward_factor():
    assert reward_factor("hop", 0.1, 66) == 0.1
    assert reward_factor("team", 0.1, 66) == pytest.approx(0.1 / 66)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="reward_scale"):
            reward_factor("team", bad, 66)


def _rows(run):
    with open(run / "progress.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_train_evaluate_resume(tmp_path, monkeypatch):
    import ray

    from agents.ppo_rllib.config import PPORLlibConfig
    from agents.ppo_rllib.train import LEARNER_FILE, train
    from train import main

    run = tmp_path / "run"
    loads = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        loads.append((str(args[0]), kwargs.get("weights_only")))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    monkeypatch.setattr(PPORLlibConfig, "__init__", _with_defaults(PPORLlibConfig.__init__, SMALL))

    # train.py: two iterations of 220 env steps, two episode ends
    assert main(ARGS + ["--steps", "440", "--out", str(run)]) == 0
    assert not ray.is_initialized()  # shut down at the end
    meta = read_model(run).meta
    assert meta["agent"] == "ppo_rllib" and meta["env"] == "offload_routing"
    assert meta["step"] == 440 and meta["iteration"] == 2 and meta["episode"] == 2
    satellites = len(offload_routing_v3.parallel_env("tiny").possible_agents)
    assert meta["agent_steps"] == 440 * satellites and 0 < meta["decisions"] < meta["agent_steps"]
    assert meta["agent_steps_per_s"] == pytest.approx(meta["agent_steps"] / meta["train_wall_s"], rel=1e-3)
    assert meta["library"] == "ray[rllib]" and meta["library_version"] == ray.__version__
    assert meta["train_wall_s"] > 0 and meta["config"]["scenario"] == "tiny"
    first, last = training_seed_range(3)
    assert meta["training_seeds"] == [first, last]
    lo, hi = meta["training_seeds_used"]
    assert first <= lo <= hi <= last and hi > lo  # two episodes on two seeds of the run's block
    assert first > 1000 * 1000  # evaluation resets with 1000 s + e
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [220, 440]
    assert [int(r["agent_steps"]) for r in rows] == [220 * satellites, 440 * satellites]
    assert int(rows[-1]["decisions"]) == meta["decisions"] == sum(int(r["agent_rows"]) for r in rows)
    for r in rows:  # the callback's domain metrics, each iteration
        assert float(r["vf_loss"]) == pytest.approx(float(r["vf_loss_unclipped"]))  # scaled: the critic learns
        assert float(r["mean_task_cost_s"]) > 0
        assert 0 <= float(r["completion_rate"]) <= 1 and 0 <= float(r["drop_rate"]) <= 1
        assert float(r["episode_len_mean"]) == 220
        assert first <= float(r["training_seed_min"]) <= float(r["training_seed_max"]) <= last
    assert any((run / "tb").iterdir())
    weights = read_model(run).torch()["module"]
    assert all(isinstance(v, torch.Tensor) for v in weights.values())
    assert any(k.startswith("pi.") for k in weights)

    # evaluate.py's loader: no Ray runtime, no pickle; greedy and sampled play never take a masked action,
    # and a sampled episode replays from its seed
    env = offload_routing_v3.parallel_env("tiny", max_cycles=120)
    monkeypatch.setattr(pickle, "load", _forbidden)
    monkeypatch.setattr(pickle, "loads", _forbidden)
    played = {}
    for mode in ("greedy", "sampled", "sampled"):
        policy = load_policy(run, env, mode)
        assert not ray.is_initialized()
        obs, _ = env.reset(seed=0)
        policy.reset(0)
        episode = []
        while env.agents:
            actions = policy.act(obs)
            _, mask = env.observation_arrays()
            deciding = mask.any(axis=1)
            acts = np.array([actions[a] for a in env.possible_agents])
            assert np.all(mask[np.arange(len(acts)), acts][deciding] == 1)
            assert np.all(acts[~deciding] == 0)  # nothing to decide: hold
            episode.append(acts)
            obs, _, _, _, infos = env.step(actions)
        assert infos["sat_0"]["masked_actions_total"] == 0
        if mode in played:
            assert all(np.array_equal(a, b) for a, b in zip(played[mode], episode))
        played[mode] = episode
    assert sum(int((a != 0).sum()) for a in played["greedy"]) > 0
    assert any(not np.array_equal(a, b) for a, b in zip(played["greedy"], played["sampled"]))
    monkeypatch.undo()
    monkeypatch.setattr(torch, "load", recording_load)
    monkeypatch.setattr(PPORLlibConfig, "__init__", _with_defaults(PPORLlibConfig.__init__, SMALL))

    # --resume: weights and Adam state come back (Adam's step count goes on), counters continue, fresh seeds
    adam_steps = _adam_steps(read_checkpoint(run).torch(LEARNER_FILE))
    with pytest.warns(UserWarning, match="does not continue bit for bit"):  # said, not silent
        assert main(ARGS + ["--steps", "660", "--out", str(run), "--resume"]) == 0
    meta2 = read_model(run).meta
    assert meta2["step"] == 660 and meta2["iteration"] == 3 and meta2["episode"] == 3
    assert meta2["agent_steps"] == 660 * satellites and meta2["decisions"] > meta["decisions"]
    assert meta2["train_wall_s"] > meta["train_wall_s"]
    assert meta2["training_seeds_used"][0] == lo and meta2["training_seeds_used"][1] > hi
    assert _adam_steps(read_checkpoint(run).torch(LEARNER_FILE)) > adam_steps  # a fresh Adam: about half
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [220, 440, 660]
    assert float(rows[-1]["training_seed_min"]) > hi
    with pytest.raises(ValueError, match="lr is 0.001 but the run"):  # another config: a clear error, not a mix
        train(PPORLlibConfig(scenario="tiny", seed=3, lr=1e-3, steps=880), run, resume=True, progress=False)

    # no pickle anywhere: every file we load is a weights_only torch file, and RLlib wrote none into the run
    assert loads and all(weights_only is True for path, weights_only in loads if str(tmp_path) in path)
    files = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and "tb/" not in p.as_posix()}
    assert files == {"model/meta.json", "model/model.pt", "model/manifest.json", "progress.csv",
                     "checkpoint/meta.json", "checkpoint/manifest.json", f"checkpoint/{LEARNER_FILE}"}


def _with_defaults(init, defaults):
    """``PPORLlibConfig.__init__`` with ``defaults`` for the fields a call leaves out (train.py passes none
    of these)."""

    def patched(self, *args, **kwargs):
        init(self, *args, **{**defaults, **kwargs})

    return patched


def _adam_steps(state: dict) -> int:
    return int(max(float(s["step"]) for s in state["optimizer"]["state"].values()))


def _forbidden(*args, **kwargs):
    raise AssertionError("pickle.load called while loading a ppo_rllib checkpoint")
