"""Names -> agents, through the env specs of ``agents.specs``: the learners train.py can train, the
baselines evaluate.py can run, and loading a trained checkpoint (``model.pt`` state_dict + ``meta.json``)
back into a policy (one loader for evaluate.py, the leaderboard and the benchmarks). A learner's code
(torch, stable-baselines3) is imported only when it is used."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from agents.checkpoint import CheckpointError, check_resume, read_checkpoint, read_model
from agents.common import ensure_out_dir
from agents.specs import get_spec
from agents.specs.base import resolve


def make_baseline(env_name: str, name: str, env, seed: int = 0):
    return get_spec(env_name).baseline(name, env, seed)


def train_learner(env_name: str, agent: str, out: Path, *, scenario: str | None, steps: int | None,
                  seed: int | None, resume: bool, progress: bool = True, **options) -> dict:
    """Train ``agent`` on ``env_name`` into ``out``. ``options`` are train.py's learner-specific flags
    (``randomize``); each learner takes those its spec lists and ignores the others. With ``resume``, the
    run's checkpoint must exist and match: ``scenario`` and ``seed`` left None take the run's values, and
    any config field but ``steps`` that differs is refused, before anything is written."""
    spec = get_spec(env_name)
    learner = spec.learner(agent)
    fields = {k: options[k] for k in learner.options if k in options}
    snapshot = read_checkpoint(out) if resume else None
    if snapshot is not None:
        saved = snapshot.meta["config"]
        scenario = saved.get("scenario") if scenario is None else scenario
        seed = saved.get("seed") if seed is None else seed
    cfg = learner.make_config(seed=0 if seed is None else seed, **fields)
    if scenario is not None:
        if scenario not in spec.scenarios:
            raise ValueError(f"scenario: {scenario!r} is not one of {env_name}'s {list(spec.scenarios)}")
        cfg.scenario = scenario
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps: {steps} must be >= 1")
        cfg.steps = steps
    if snapshot is not None:
        check_resume(snapshot, agent=agent, env=env_name, config=asdict(cfg),
                     may_change=getattr(cfg, "RESUME_MAY_CHANGE", ("steps",)))
    ensure_out_dir(out)
    return resolve(learner.train)(cfg, out, resume=resume, progress=progress)


def load_policy(checkpoint_dir: Path, env, mode: str | None = None):
    """The policy saved by train.py in ``checkpoint_dir`` (a run directory or its ``model/`` snapshot),
    acting on ``env`` in ``mode`` (an eval mode of its learner; None: its first): the learner named by
    meta.json's ``agent`` in the spec of its ``env`` loads it. Anything wrong with the directory is one
    CheckpointError (a ValueError) naming the file."""
    snapshot = read_model(checkpoint_dir)
    return learner_of(snapshot).load(snapshot, env, mode)


def eval_modes(checkpoint_dir: Path) -> tuple[str, ...]:
    """The eval modes of the learner that wrote ``checkpoint_dir``."""
    return learner_of(read_model(checkpoint_dir)).eval_modes


def learner_of(snapshot):
    meta = snapshot.meta
    try:
        return get_spec(meta["env"]).learner(meta["agent"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{snapshot.path / 'meta.json'}: unknown agent {meta['agent']!r} for env "
                              f"{meta['env']!r} ({exc})") from None


def checkpoint_meta(checkpoint_dir: Path) -> dict:
    """meta.json of a run's verified model snapshot (env, agent, config, step, training record)."""
    return read_model(checkpoint_dir).meta
