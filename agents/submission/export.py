"""Export a trained checkpoint of ours as a leaderboard submission: the policy network as ONNX (the signature of
``agents.submission.onnx_policy``) and a ``submission.json`` filled from the run's meta.json.

A learner exports when its spec names an ``export`` hook (``policy -> (torch module, output name)``); the module
maps ``(observation, action_mask)`` to the scores its in-repo policy plays on, rules it adds to the env's mask
included (the MARL learners' "no hold while deciding"), so the exported policy scores what the checkpoint scores on
the same seeds. Learners whose policy is more than a network (MADQN's online bisection, Double DQN's per-instance
fine-tuning) have no hook and stay in-repo rows.

The TorchScript exporter (``torch.onnx.export(..., dynamo=False)``) is used: the dynamo exporter needs onnxscript,
which nothing else here needs, and these policies are plain MLPs that both export alike.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from agents.checkpoint import read_model
from agents.registry import learner_of
from agents.specs import get_spec
from agents.specs.base import resolve
from agents.submission.manifest import FIELDS, MANIFEST, load_submission
from agents.submission.onnx_policy import MASK_INPUT, OBS_INPUT, OUTPUTS, Signature, env_signature

POLICY_FILE = "policy.onnx"
OPSET = 17


def export_module(module, signature: Signature, output: str, path: Path) -> None:
    """``module(observation, action_mask) -> scores`` to an ONNX file with a dynamic batch axis."""
    import torch

    if output not in OUTPUTS:
        raise ValueError(f"output: {output!r} is not one of {OUTPUTS}")
    obs = torch.zeros(2, signature.obs_dim)
    mask = torch.ones(2, signature.n_actions, dtype=torch.bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module.eval(), (obs, mask), str(path), dynamo=False, opset_version=OPSET,
                          input_names=[OBS_INPUT, MASK_INPUT], output_names=[output],
                          dynamic_axes={OBS_INPUT: {0: "batch"}, MASK_INPUT: {0: "batch"}, output: {0: "batch"}})


def export_checkpoint(run_dir: Path, out: Path, *, scenario: str | None = None, name: str | None = None,
                      eval_mode: str | None = None, authors: tuple[str, ...] = ("leo-envs",)) -> Path:
    """Write ``out/policy.onnx`` and ``out/submission.json`` for the checkpoint in ``run_dir``, claiming
    ``scenario`` (None: the one it was trained on) and playing ``eval_mode`` (None: its learner's first). The
    written folder is loaded back as a submission before returning. ``ValueError`` for a learner without export."""
    snapshot = read_model(run_dir)
    learner = learner_of(snapshot)
    spec = get_spec(snapshot.meta["env"])
    if learner.export is None:
        raise ValueError(f"{run_dir}: {learner.name}'s policy is more than a network (no ONNX export); it stays "
                         "an in-repo leaderboard row")
    cfg = snapshot.meta["config"]
    scenario = scenario or cfg.get("scenario") or spec.default_scenario
    if scenario not in spec.scenarios:
        raise ValueError(f"scenario: {scenario!r} is not one of {list(spec.scenarios)}")
    mode = eval_mode or learner.eval_modes[0]
    if mode not in learner.eval_modes:
        raise ValueError(f"eval mode: {learner.name} plays {list(learner.eval_modes)}, not {mode!r}")
    env = spec.make(scenario)
    policy = learner.load(snapshot, env, mode)
    module, output = resolve(learner.export)(policy)
    signature = env_signature(env, spec.api)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    export_module(module, signature, output, out / POLICY_FILE)
    meta = snapshot.meta
    agents_per_step = len(env.possible_agents) if spec.api == "pettingzoo" else 1
    manifest = {
        "name": name or f"{learner.name}-seed{cfg.get('seed', 0)}",
        "authors": list(authors),
        "env_id": spec.ids[0],
        "scenarios": [scenario],
        "env_steps": int(meta["step"]),
        "agent_steps": int(meta.get("agent_steps", meta.get("timesteps", meta["step"] * agents_per_step))),
        "training_seeds": [int(cfg.get("seed", 0))],
        "library": str(meta.get("library", "torch")),
        "library_version": str(meta.get("library_version", "unknown")),
        "reproduce": f"python train.py {spec.name} {learner.name} --scenario {cfg.get('scenario', scenario)} "
                     f"--seed {cfg.get('seed', 0)} --steps {meta['step']}",
        "eval_mode": mode,
        "policy": POLICY_FILE,
    }
    assert set(manifest) == set(FIELDS)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    load_submission(out)
    return out
