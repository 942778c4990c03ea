"""Names -> agents, through the env specs of ``agents.specs``: the learners train.py can train, the
baselines evaluate.py can run, and loading a trained checkpoint (``model.pt`` state_dict + ``meta.json``)
back into a policy. A learner's code (torch, stable-baselines3) is imported only when it is used."""

from __future__ import annotations

from pathlib import Path

from agents.common import read_meta
from agents.specs import get_spec
from agents.specs.base import resolve


def make_baseline(env_name: str, name: str, env, seed: int = 0):
    return get_spec(env_name).baseline(name, env, seed)


def train_learner(env_name: str, agent: str, out: Path, *, scenario: str | None, steps: int | None, seed: int,
                  resume: bool, progress: bool = True, **options) -> dict:
    """Train ``agent`` on ``env_name`` into ``out``. ``options`` are train.py's learner-specific flags
    (``randomize``); each learner takes those its spec lists and ignores the others."""
    learner = get_spec(env_name).learner(agent)
    cfg = learner.make_config(seed=seed, **{k: options[k] for k in learner.options if k in options})
    if scenario is not None:
        cfg.scenario = scenario
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps: {steps} must be >= 1")
        cfg.steps = steps
    return resolve(learner.train)(cfg, out, resume=resume, progress=progress)


def load_policy(checkpoint_dir: Path, env):
    """The policy saved by train.py in ``checkpoint_dir``, acting on ``env``: the learner named by
    ``meta.json["agent"]`` in the spec of ``meta.json["env"]`` loads it."""
    meta = read_meta(checkpoint_dir)
    try:
        learner = get_spec(meta["env"]).learner(meta["agent"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"checkpoint: unknown agent {meta.get('agent')!r} for env {meta.get('env')!r} in "
                         f"{checkpoint_dir}: {exc}") from None
    return learner.load(checkpoint_dir, env, meta)


def checkpoint_env(checkpoint_dir: Path) -> str:
    return read_meta(checkpoint_dir)["env"]
