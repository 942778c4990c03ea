"""Names -> agents: the learners train.py can train, the baselines evaluate.py can run, and loading a
trained checkpoint (``model.pt`` state_dict + ``meta.json``) back into a policy."""

from __future__ import annotations

from pathlib import Path

from agents.baselines import (
    AGGREGATION_BASELINES,
    OFFLOAD_ROUTING_BASELINES,
    make_aggregation_baseline,
    make_offload_routing_baseline,
)
from agents.common import WEIGHTS_FILE, load_weights, read_meta

ENVS = ("offload_routing", "aggregation")
LEARNERS = {"offload_routing": ("madqn",), "aggregation": ("double_dqn",)}
BASELINES = {"offload_routing": OFFLOAD_ROUTING_BASELINES, "aggregation": AGGREGATION_BASELINES}


def check_env_name(env_name: str) -> None:
    if env_name not in ENVS:
        raise ValueError(f"env: {env_name!r} is not one of {ENVS}")


def make_baseline(env_name: str, name: str, env, seed: int = 0):
    check_env_name(env_name)
    if name not in BASELINES[env_name]:
        raise ValueError(f"agent: {name!r} is not a baseline of {env_name}; choose from {BASELINES[env_name]}")
    if env_name == "offload_routing":
        return make_offload_routing_baseline(name, env, seed)
    return make_aggregation_baseline(name, env, seed)


def train_learner(env_name: str, agent: str, out: Path, *, scenario: str | None, steps: int | None, seed: int,
                  resume: bool, progress: bool = True, randomize: bool = True) -> dict:
    check_env_name(env_name)
    if agent not in LEARNERS[env_name]:
        raise ValueError(f"agent: {agent!r} cannot be trained on {env_name}; learners: {LEARNERS[env_name]}")
    if agent == "madqn":
        from agents.madqn.config import MADQNConfig
        from agents.madqn.train import train

        cfg = MADQNConfig(seed=seed, randomize=randomize)
    else:
        from agents.double_dqn.config import DoubleDQNConfig
        from agents.double_dqn.train import train

        cfg = DoubleDQNConfig(seed=seed)
    if scenario is not None:
        cfg.scenario = scenario
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps: {steps} must be >= 1")
        cfg.steps = steps
    return train(cfg, out, resume=resume, progress=progress)


def load_policy(checkpoint_dir: Path, env):
    """The policy saved by train.py in ``checkpoint_dir``, acting on ``env``."""
    meta = read_meta(checkpoint_dir)
    weights = load_weights(Path(checkpoint_dir) / WEIGHTS_FILE)
    if meta["agent"] == "madqn":
        from agents.madqn import MADQNAgent, MADQNConfig, MADQNPolicy

        cfg = MADQNConfig(**meta["config"])
        agent = MADQNAgent(env.sim.obs_dim, cfg)
        agent.online.load_state_dict(weights["online"])
        return MADQNPolicy(env, agent)
    if meta["agent"] == "double_dqn":
        from agents.double_dqn.config import DoubleDQNConfig
        from agents.double_dqn.train import DoubleDQNPolicy

        return DoubleDQNPolicy.load(env, weights, DoubleDQNConfig(**meta["config"]))
    raise ValueError(f"checkpoint: unknown agent {meta['agent']!r} in {checkpoint_dir}")


def checkpoint_env(checkpoint_dir: Path) -> str:
    return read_meta(checkpoint_dir)["env"]
