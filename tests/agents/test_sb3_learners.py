"""The standard learners trained like ours: ``ppo_sb3`` (sb3-contrib MaskablePPO, parameter sharing through a native
SB3 vector env with one row per satellite, offload_routing) and ``maskable_ppo`` (sb3-contrib, Aggregation-v2
through gym.make). Each trains a few hundred steps on the smallest scenario across several episode ends, with every
reset seeded from the run's training range; writes the model/ snapshot (model.pt + meta.json), which evaluate.py's
load_policy loads without a pickle; the loaded policy plays an episode without a masked action; the same seed gives
the same weights bit for bit, and a run resumed from a checkpoint taken in the middle of an episode ends with the
same weights too."""

from __future__ import annotations

import builtins
import dataclasses
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("sb3_contrib")

import train as train_cli  # noqa: E402
from agents.checkpoint import read_model  # noqa: E402
from agents.common import training_seed, training_seed_range  # noqa: E402
from agents.maskable_ppo.config import MaskablePPOConfig  # noqa: E402
from agents.maskable_ppo.train import train as train_maskable  # noqa: E402
from agents.ppo_sb3.config import PPOSB3Config  # noqa: E402
from agents.ppo_sb3.train import train as train_ppo  # noqa: E402
from agents.registry import load_policy  # noqa: E402
from agents.specs import get_spec  # noqa: E402
from leo_envs.envs.aggregation.env import AggregationEnv  # noqa: E402
from leo_envs.envs.offload_routing.env import OffloadRoutingEnv  # noqa: E402

# tiny offload episodes cut to 100 slots (300 slots: three episode ends); rollouts that end mid-episode
PPO = PPOSB3Config(scenario="tiny", steps=300, max_cycles=100, n_steps=60, n_epochs=2, checkpoint_every=120)
MASKABLE = MaskablePPOConfig(scenario="tiny", steps=300, n_steps=64, batch_size=32, n_epochs=2, checkpoint_every=128)
LEARNERS = {
    "ppo_sb3": (train_ppo, PPO, "offload_routing", OffloadRoutingEnv),
    "maskable_ppo": (train_maskable, MASKABLE, "aggregation", AggregationEnv),
}
EVALUATION_SEEDS_BELOW = 1000 * 1000  # evaluate.py resets with 1000 s + e


def weights(run: Path) -> dict:
    return read_model(run).torch()["policy"]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module", params=list(LEARNERS))
def trained(request, tmp_path_factory):
    """A run of the learner, with the seed of every env reset during it."""
    train, cfg, env_name, env_cls = LEARNERS[request.param]
    run = tmp_path_factory.mktemp(request.param)
    seeds = []
    reset = env_cls.reset

    def recording_reset(self, *args, seed=None, **kwargs):
        seeds.append(seed)
        return reset(self, *args, seed=seed, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(env_cls, "reset", recording_reset)
        counters = train(cfg, run, progress=False)
    return request.param, run, counters, seeds


def test_training_writes_the_evaluable_checkpoint_across_episode_ends(trained):
    name, run, counters, seeds = trained
    train, cfg, env_name, env_cls = LEARNERS[name]
    meta = read_model(run).meta
    assert meta["agent"] == name and meta["env"] == env_name and meta["config"] == dataclasses.asdict(cfg)
    assert meta["library"] == "sb3-contrib" and meta["library_version"]
    if name == "ppo_sb3":  # budgets in both units: env steps (slots) and agent-steps (slots x satellites)
        n = len(env_cls(cfg.scenario).possible_agents)
        assert meta["agents_per_step"] == n and meta["timesteps"] == meta["step"] * n
    assert meta["train_wall_s"] > 0 and meta["step"] == counters["step"] >= cfg.steps
    assert meta["training_episodes"] >= 3  # at least two episode ends, and the episode after them
    # every reset of a training env used the run's training seeds, in order, none an evaluation seed
    assert seeds == [training_seed(cfg.seed, e) for e in range(meta["training_episodes"])]
    assert meta["training_seeds"] == training_seed_range(cfg.seed)
    assert meta["training_seeds"][0] > EVALUATION_SEEDS_BELOW
    rows = (run / "progress.csv").read_text().splitlines()
    header = rows[0].split(",")
    metric = "episode/" + get_spec(env_name).primary_metric
    assert metric in header and sum(r.split(",")[header.index(metric)] != "" for r in rows[1:]) >= 2
    if name == "ppo_sb3":
        assert {"time/env_steps", "time/total_timesteps"} <= set(header)
    assert list(run.glob("events.out.tfevents.*"))  # TensorBoard


def test_loaded_policy_never_plays_a_masked_action(trained):
    name, run, _, _ = trained
    spec = get_spec(LEARNERS[name][2])
    env = spec.make(spec.test_scenario)
    policy = load_policy(run, env)
    assert policy.name == name
    played = []
    act = policy.act

    def checked(observations):
        actions = act(observations)
        played.append((observations, actions))
        return actions

    policy.act = checked
    info, _ = spec.run_episode(env, policy, 0)
    assert info["metrics_final"]
    assert info.get("masked_actions_total", info.get("masked_actions")) == 0
    if spec.api == "pettingzoo":  # every agent with something to decide played an allowed action
        pairs = [(o[a]["action_mask"], acts[a]) for o, acts in played for a in o]
    else:
        pairs = [(o["action_mask"], a) for o, a in played]
    assert all(mask[a] or not mask.any() for mask, a in pairs)


def test_same_seed_same_weights_and_resume_mid_episode_is_bit_for_bit(trained, tmp_path):
    name, run, counters, _ = trained
    train, cfg, _, _ = LEARNERS[name]
    assert train(cfg, tmp_path / "again", progress=False) == counters
    assert same(weights(run), weights(tmp_path / "again"))
    # interrupted after two rollouts (mid-episode), then resumed to the full budget
    short = dataclasses.replace(cfg, steps=2 * cfg.n_steps)
    train(short, tmp_path / "resumed", progress=False)
    ck = np.load(tmp_path / "resumed" / "checkpoint" / "state.npz", allow_pickle=False)
    if name == "ppo_sb3":
        assert len(ck["episode_actions"]) == 2 * cfg.n_steps % cfg.max_cycles > 0  # an episode in progress
    with no_pickles(tmp_path / "resumed"):
        assert train(cfg, tmp_path / "resumed", resume=True, progress=False) == counters
    assert same(weights(run), weights(tmp_path / "resumed"))
    meta = read_model(tmp_path / "resumed").meta
    assert meta["step"] == counters["step"] and meta["train_wall_s"] > 0
    with pytest.raises(ValueError, match="n_epochs"):
        train(dataclasses.replace(cfg, n_epochs=cfg.n_epochs + 1), tmp_path / "resumed", resume=True, progress=False)


class no_pickles:
    """Inside: reading any file of ``run`` other than through ``torch.load(weights_only=True)``,
    ``np.load(allow_pickle=False)`` or as JSON/CSV text fails, and so does any pickle load from a file."""

    def __init__(self, run: Path):
        self.run = Path(run).resolve()
        self.mp = pytest.MonkeyPatch()
        self.read: list[str] = []

    def __enter__(self):
        mp, run, read = self.mp, self.run, self.read
        real_open, real_torch_load, real_np_load = builtins.open, torch.load, np.load

        def guarded_open(file, mode="r", *args, **kwargs):
            path = Path(file).resolve() if isinstance(file, (str, Path)) else None
            if path is not None and run in path.parents and "r" in mode and "+" not in mode:
                read.append(path.name)
                if path.suffix not in (".json", ".csv") and not getattr(guarded_open, "trusted", False):
                    raise AssertionError(f"{path.name} opened outside torch.load(weights_only) / np.load")
            return real_open(file, mode, *args, **kwargs)

        def trusting(loader, check):
            def load(file, *args, **kwargs):
                check(kwargs)
                guarded_open.trusted = True
                try:
                    return loader(file, *args, **kwargs)
                finally:
                    guarded_open.trusted = False
            return load

        def refuse(*args, **kwargs):
            raise AssertionError("a pickle was loaded from a file")

        def weights_only(kwargs):
            assert kwargs.get("weights_only") is True

        def no_pickle(kwargs):
            assert not kwargs.get("allow_pickle", False)

        mp.setattr(builtins, "open", guarded_open)
        mp.setattr(io, "open", guarded_open)
        mp.setattr(torch, "load", trusting(real_torch_load, weights_only))
        mp.setattr(np, "load", trusting(real_np_load, no_pickle))
        mp.setattr(pickle, "load", refuse)
        mp.setattr(pickle, "Unpickler", refuse)
        return self

    def __exit__(self, *exc):
        self.mp.undo()
        if exc[0] is None:
            assert {"state.pt", "state.npz", "meta.json"} <= set(self.read), self.read


def test_nothing_in_the_run_dir_is_loaded_with_pickle(trained):
    name, run, _, _ = trained
    assert all(p.suffix in (".pt", ".json", ".npz", ".csv") or p.name.startswith("events.out.tfevents")
               for p in run.rglob("*") if p.is_file())
    spec = get_spec(LEARNERS[name][2])
    env = spec.make(spec.test_scenario)
    with pytest.MonkeyPatch.context() as mp:
        real_load = torch.load
        mp.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load"))
        mp.setattr(torch, "load", lambda f, **kw: real_load(f, **kw) if kw.get("weights_only") is True
                   else pytest.fail("torch.load without weights_only=True"))
        policy = load_policy(run, env)
    assert policy.name == name


@pytest.mark.parametrize(("env_name", "agent"), [("offload_routing", "ppo_sb3"), ("aggregation", "maskable_ppo")])
def test_train_cli(env_name, agent, tmp_path, capsys):
    out = tmp_path / "run"

    def args(steps: int) -> list[str]:
        return [env_name, agent, "--scenario", "tiny", "--steps", str(steps), "--out", str(out), "--no-progress"]

    assert train_cli.main(args(100)) == 0
    first = read_model(out).meta["step"]  # whole rollouts: 100 rounded up
    assert train_cli.main([*args(2 * first), "--resume"]) == 0
    meta = read_model(out).meta
    assert meta["agent"] == agent and meta["step"] == 2 * first and f"trained {agent}" in capsys.readouterr().out
