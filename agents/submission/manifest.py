"""A leaderboard submission's ``submission.json``: what it claims, checked key by key.

A submission is a folder: ``submission.json`` (the keys of :data:`FIELDS`, nothing else) beside the policy as an
ONNX file (``agents.submission.onnx_policy``). Loading one reads JSON and ONNX protobuf only; nothing in the folder
is ever imported, unpickled or run as Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from agents.policy import EVAL_MODES
from agents.specs import SPECS, EnvSpec

MANIFEST = "submission.json"
MAX_MANIFEST_BYTES = 64 * 1024
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,47}")

FIELDS: dict[str, str] = {
    "name": "the row's name on the board: 1-48 of a-z 0-9 _ . -, starting with a letter or digit",
    "authors": "a non-empty list of names",
    "env_id": "the registered id with its version, e.g. leo_envs/OffloadRouting-v3",
    "scenarios": "a non-empty list of the env's scenarios the policy is evaluated on",
    "env_steps": "training budget in env steps (an int >= 0)",
    "agent_steps": "training budget in agent-steps: env steps x agents acting per step (an int >= 0)",
    "training_seeds": "a non-empty list of the training runs' seeds (ints)",
    "library": "the library the policy was trained with (e.g. torch, stable-baselines3)",
    "library_version": "that library's version",
    "reproduce": "the command (or a link) that reproduces the training",
    "eval_mode": "greedy (the best allowed score) or sampled (a draw from the softmax over the allowed logits)",
    "policy": "the ONNX file's name inside the folder (e.g. policy.onnx)",
}
"""Every key of ``submission.json`` (all required) and what it holds."""


class SubmissionError(ValueError):
    """A submission that cannot be accepted; the message is one line saying why."""


@dataclass(frozen=True)
class Submission:
    folder: Path
    name: str
    authors: tuple[str, ...]
    env_id: str
    scenarios: tuple[str, ...]
    env_steps: int
    agent_steps: int
    training_seeds: tuple[int, ...]
    library: str
    library_version: str
    reproduce: str
    eval_mode: str
    policy: str

    @property
    def spec(self) -> EnvSpec:
        return spec_of(self.env_id)

    @property
    def policy_path(self) -> Path:
        return self.folder / self.policy

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in
                ((k, getattr(self, k)) for k in FIELDS)}


def spec_of(env_id: str) -> EnvSpec:
    for spec in SPECS.values():
        if env_id in spec.ids:
            return spec
    known = [i for s in SPECS.values() for i in s.ids]
    raise SubmissionError(f"{MANIFEST}: env_id {env_id!r} is not a registered id; allowed: {known}")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def load_submission(folder: Path) -> Submission:
    """The checked ``submission.json`` of ``folder``; :class:`SubmissionError` with one line otherwise. The ONNX
    file is only checked to exist here (``onnx_policy.load_onnx`` checks its contents against an env)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise SubmissionError(f"{path}: missing (a submission folder holds {MANIFEST} and its ONNX policy)")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise SubmissionError(f"{path}: {path.stat().st_size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: not JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise SubmissionError(f"{path}: a JSON object is expected, not {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise SubmissionError(f"{path}: unknown keys {unknown}; allowed: {list(FIELDS)}")
    missing = [k for k in FIELDS if k not in raw]
    if missing:
        raise SubmissionError(f"{path}: missing keys {missing}")

    def bad(key: str) -> SubmissionError:
        return SubmissionError(f"{path}: {key} = {raw[key]!r}; expected {FIELDS[key]}")

    if not isinstance(raw["name"], str) or not NAME_PATTERN.fullmatch(raw["name"]):
        raise bad("name")
    for key in ("library", "library_version", "reproduce"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise bad(key)
    if (not isinstance(raw["authors"], list) or not raw["authors"]
            or not all(isinstance(a, str) and a.strip() for a in raw["authors"])):
        raise bad("authors")
    if not isinstance(raw["env_id"], str):
        raise bad("env_id")
    spec = spec_of(raw["env_id"])
    scenarios = raw["scenarios"]
    if not isinstance(scenarios, list) or not scenarios or not all(isinstance(s, str) for s in scenarios):
        raise bad("scenarios")
    unknown = [s for s in scenarios if s not in spec.scenarios]
    if unknown or len(set(scenarios)) != len(scenarios):
        raise SubmissionError(f"{path}: scenarios {scenarios!r}: each once, from {list(spec.scenarios)}")
    for key in ("env_steps", "agent_steps"):
        if not _is_int(raw[key]) or raw[key] < 0:
            raise bad(key)
    seeds = raw["training_seeds"]
    if not isinstance(seeds, list) or not seeds or not all(_is_int(s) for s in seeds):
        raise bad("training_seeds")
    if raw["eval_mode"] not in EVAL_MODES:
        raise bad("eval_mode")
    policy = raw["policy"]
    if (not isinstance(policy, str) or not policy.endswith(".onnx") or Path(policy).name != policy
            or policy.startswith(".")):
        raise SubmissionError(f"{path}: policy = {policy!r}; expected a file name ending in .onnx inside the folder")
    if not (folder / policy).is_file():
        raise SubmissionError(f"{folder / policy}: missing (submission.json's policy names it)")
    return Submission(folder=folder, name=raw["name"], authors=tuple(raw["authors"]), env_id=raw["env_id"],
                      scenarios=tuple(scenarios), env_steps=raw["env_steps"], agent_steps=raw["agent_steps"],
                      training_seeds=tuple(seeds), library=raw["library"], library_version=raw["library_version"],
                      reproduce=raw["reproduce"], eval_mode=raw["eval_mode"], policy=policy)
