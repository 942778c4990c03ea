"""Leaderboard submissions: our checkpoints export to ONNX and the exported policy plays exactly what the checkpoint
plays; ``evaluate.py --submission`` writes the row; every file that is not a valid ONNX policy of the signature
(or a submission.json that is not exactly the documented keys) is refused with one line, and nothing in a
submission is ever run as code."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from agents.registry import load_policy, train_learner
from agents.specs import get_spec
from agents.submission import onnx_policy
from agents.submission.export import export_checkpoint, export_module
from agents.submission.manifest import FIELDS, SubmissionError, load_submission
from agents.submission.onnx_policy import OnnxPolicy, env_signature
from agents.submission.row import evaluate_submission

ROOT = Path(__file__).resolve().parents[2]

# the cheapest run of each exportable learner on tiny (ppo_rllib, whose Ray start-up costs half a minute, is
# checked on an untrained module below)
RUNS = {
    "mappo": ("offload_routing", 1, {}),
    "qmix": ("offload_routing", 1, {}),
    "ppo_sb3": ("offload_routing", 64, {}),
    "maskable_ppo": ("aggregation", 64, {}),
}


def plays_the_same(spec, env, ours, theirs, seeds: range = range(7, 10)) -> int:
    """Play an episode of ``env`` from each seed with ``ours``, asking ``theirs`` (reset with the same seed) at every
    step for its action on the same observation: they must agree every time. The number of steps compared."""
    act, steps = ours.act, []

    def both(observation):
        mine = act(observation)
        assert theirs.act(observation) == mine, f"step {len(steps)}"
        steps.append(1)
        return mine

    ours.act = both
    for seed in seeds:
        theirs.reset(seed)
        spec.run_episode(env, ours, seed)
    return len(steps)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    for agent, (env, steps, _) in RUNS.items():
        train_learner(env, agent, root / agent, scenario="tiny", steps=steps, seed=0, resume=False, progress=False)
    return {agent: root / agent for agent in RUNS}


@pytest.mark.parametrize("agent", list(RUNS))
def test_an_exported_checkpoint_plays_exactly_what_the_checkpoint_plays(agent, runs, tmp_path):
    spec = get_spec(RUNS[agent][0])
    for mode in spec.learner(agent).eval_modes:
        folder = export_checkpoint(runs[agent], tmp_path / mode, eval_mode=mode)
        sub = load_submission(folder)
        assert sub.env_id == spec.ids[0] and sub.scenarios == ("tiny",) and sub.eval_mode == mode
        env = spec.make("tiny")
        ours, theirs = load_policy(runs[agent], env, mode), OnnxPolicy(env, sub.policy_path, spec.api, mode)
        assert plays_the_same(spec, env, ours, theirs, range(7, 8) if spec.api == "pettingzoo" else range(7, 17)) > 5


def test_an_exported_rllib_module_plays_what_it_plays(tmp_path):
    from agents.ppo_rllib.config import PPORLlibConfig
    from agents.ppo_rllib.policy import PPORLlibPolicy, build_module, onnx_export

    spec = get_spec("offload_routing")
    env = spec.make("tiny")
    module = build_module(env, PPORLlibConfig(scenario="tiny"))
    for mode in ("greedy", "sampled"):
        policy = PPORLlibPolicy(spec.make("tiny"), module, mode=mode)
        exported, output = onnx_export(policy)
        export_module(exported, env_signature(env, spec.api), output, tmp_path / "p.onnx")
        theirs = OnnxPolicy(policy.env, tmp_path / "p.onnx", spec.api, mode)
        assert plays_the_same(spec, policy.env, policy, theirs, range(7, 8)) > 5


def test_learners_whose_policy_is_more_than_a_network_are_not_exported(tmp_path):
    train_learner("offload_routing", "madqn", tmp_path / "madqn", scenario="tiny", steps=20, seed=0, resume=False,
                  progress=False)
    with pytest.raises(ValueError, match="more than a network"):
        export_checkpoint(tmp_path / "madqn", tmp_path / "out")


def test_evaluate_submission_writes_a_row_that_replays(runs, tmp_path):
    folder = export_checkpoint(runs["mappo"], tmp_path / "sub", eval_mode="greedy", name="mappo-test")
    out = subprocess.run([sys.executable, "evaluate.py", "--submission", str(folder), "--seeds", "2",
                          "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    row = json.loads((folder / "row.json").read_text())
    assert row["submission"]["name"] == "mappo-test" and row["env_id"] == "leo_envs/OffloadRouting-v3"
    assert row["onnx_sha256"] == onnx_policy.sha256(folder / "policy.onnx")
    assert row["protocol"]["episode_seeds"] == [0, 1000]
    metrics = row["scenarios"]["tiny"]["metrics"]
    assert set(metrics) == set(get_spec("offload_routing").metrics)
    assert len(metrics["mean_task_cost_s"]["per_seed"]) == 2
    again = evaluate_submission(folder, seeds=2)
    assert again["scenarios"]["tiny"]["metrics"] == metrics  # evaluation is deterministic


# ---------------------------------------------------------------------------------------------- refusals


def model(obs_dim: int, n_actions: int, *, out_name: str = "logits", out_width: int | None = None,
          domain: str = "", in_name: str = "observation") -> onnx.ModelProto:
    """A linear policy ``observation @ W`` built node by node (optionally with a foreign-domain node)."""
    w = helper.make_tensor("W", TensorProto.FLOAT, (obs_dim, out_width or n_actions),
                           np.zeros((obs_dim, out_width or n_actions), np.float32).ravel().tolist())
    nodes = [helper.make_node("MatMul", [in_name, "W"], ["scores"])]
    if domain:
        nodes.append(helper.make_node("Exec", ["scores"], [out_name], domain=domain))
    else:
        nodes.append(helper.make_node("Identity", ["scores"], [out_name]))
    graph = helper.make_graph(nodes, "policy",
                              [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, ["batch", obs_dim])],
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT,
                                                             ["batch", out_width or n_actions])], [w])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


class Trap:
    """Unpickling this would create a file: the check that nothing in a submission is run."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.fixture
def aggregation_env():
    spec = get_spec("aggregation")
    env = spec.make("tiny")
    return env, env_signature(env, spec.api)


def refusal(env, path: Path) -> str:
    with pytest.raises(SubmissionError) as info:
        OnnxPolicy(env, path, "gymnasium")
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_valid_model_of_the_signature_is_accepted(aggregation_env, tmp_path):
    env, sig = aggregation_env
    onnx.save(model(sig.obs_dim, sig.n_actions), tmp_path / "ok.onnx")
    policy = OnnxPolicy(env, tmp_path / "ok.onnx", "gymnasium")
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"][policy.act(obs)] or not obs["action_mask"].any()


def test_a_pickle_renamed_onnx_is_refused_and_never_unpickled(aggregation_env, tmp_path):
    env, _ = aggregation_env
    path, trap = tmp_path / "policy.onnx", tmp_path / "ran"
    path.write_bytes(pickle.dumps(Trap(trap)))
    assert "a pickle, not an ONNX model" in refusal(env, path)
    assert not trap.exists()


def test_bytes_that_are_not_onnx_are_refused(aggregation_env, tmp_path):
    env, _ = aggregation_env
    path = tmp_path / "policy.onnx"
    path.write_bytes(b"import os; os.system('echo hi')\n")
    assert "not an ONNX model" in refusal(env, path)


def test_a_custom_domain_operator_is_refused(aggregation_env, tmp_path):
    env, sig = aggregation_env
    onnx.save(model(sig.obs_dim, sig.n_actions, domain="com.example.exec"), tmp_path / "p.onnx")
    assert "outside the standard ai.onnx domain (['com.example.exec'])" in refusal(env, tmp_path / "p.onnx")


@pytest.mark.parametrize("case, says", [
    ("wide_input", "input 'observation' is float [None, {w}]; expected 'observation' float32 [batch, {d}]"),
    ("input_name", "inputs ['obs']; expected 'observation' float32 [batch, {d}]"),
    ("wide_output", "output 'logits' is float [None, {a2}]; expected one output named 'logits' or 'q_values', "
                    "float32 [batch, {a}]"),
    ("output_name", "outputs ['actions']; expected one output named 'logits' or 'q_values'"),
])
def test_wrong_inputs_or_outputs_are_refused_saying_what_is_expected(case, says, aggregation_env, tmp_path):
    env, sig = aggregation_env
    built = {"wide_input": lambda: model(sig.obs_dim + 1, sig.n_actions),
             "input_name": lambda: model(sig.obs_dim, sig.n_actions, in_name="obs"),
             "wide_output": lambda: model(sig.obs_dim, sig.n_actions, out_width=sig.n_actions + 2),
             "output_name": lambda: model(sig.obs_dim, sig.n_actions, out_name="actions")}[case]()
    onnx.save(built, tmp_path / "p.onnx")
    says = says.format(w=sig.obs_dim + 1, d=sig.obs_dim, a=sig.n_actions, a2=sig.n_actions + 2)
    assert says in refusal(env, tmp_path / "p.onnx")


def test_a_model_over_the_size_limit_is_refused(aggregation_env, tmp_path, monkeypatch):
    env, sig = aggregation_env
    onnx.save(model(sig.obs_dim, sig.n_actions), tmp_path / "p.onnx")
    size = (tmp_path / "p.onnx").stat().st_size
    monkeypatch.setattr(onnx_policy, "MAX_ONNX_BYTES", size - 1)
    assert f"{size:,} bytes is over the {size - 1:,}-byte limit" in refusal(env, tmp_path / "p.onnx")


def manifest(**changes) -> dict:
    base = {"name": "toy", "authors": ["A. Researcher"], "env_id": "leo_envs/Aggregation-v2", "scenarios": ["tiny"],
            "env_steps": 10, "agent_steps": 10, "training_seeds": [0], "library": "torch", "library_version": "2.13",
            "reproduce": "python toy.py", "eval_mode": "greedy", "policy": "policy.onnx"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("changes, says", [
    ({"extra": 1}, "unknown keys ['extra']"),
    ({"authors": None}, "missing keys ['authors']"),
    ({"env_id": "leo_envs/Aggregation-v0"}, "not a registered id"),
    ({"scenarios": ["nowhere"]}, "scenarios ['nowhere']"),
    ({"eval_mode": "best"}, "eval_mode = 'best'"),
    ({"env_steps": -1}, "env_steps = -1"),
    ({"policy": "../policy.onnx"}, "a file name ending in .onnx inside the folder"),
])
def test_a_submission_json_with_unknown_missing_or_bad_keys_is_refused(changes, says, tmp_path):
    (tmp_path / "policy.onnx").write_bytes(b"")
    (tmp_path / "submission.json").write_text(json.dumps(manifest(**changes)))
    with pytest.raises(SubmissionError) as info:
        load_submission(tmp_path)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_every_documented_key_is_what_a_valid_submission_holds(tmp_path):
    (tmp_path / "policy.onnx").write_bytes(b"")
    (tmp_path / "submission.json").write_text(json.dumps(manifest()))
    assert set(load_submission(tmp_path).to_dict()) == set(FIELDS)


def test_the_cli_refuses_a_bad_submission_in_one_line(tmp_path):
    (tmp_path / "policy.onnx").write_bytes(pickle.dumps({"weights": [1, 2]}))
    (tmp_path / "submission.json").write_text(json.dumps(manifest()))
    out = subprocess.run([sys.executable, "evaluate.py", "--submission", str(tmp_path), "--no-progress"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert "a pickle, not an ONNX model" in last and not (tmp_path / "row.json").exists()


def test_the_one_file_example_trains_exports_and_is_accepted(tmp_path):
    """examples/submission/bc_offload_routing.py, as an outside researcher runs it (a small budget on tiny)."""
    out = tmp_path / "bc"
    run = subprocess.run([sys.executable, "examples/submission/bc_offload_routing.py", "--out", str(out), "--scenario",
                          "tiny", "--episodes", "1", "--epochs", "1", "--hidden", "16"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    sub = load_submission(out)
    assert sub.scenarios == ("tiny",) and sub.env_steps > 0 and sub.agent_steps > sub.env_steps
    row = evaluate_submission(out, seeds=1)
    assert np.isfinite(row["scenarios"]["tiny"]["metrics"]["mean_task_cost_s"]["mean"])


def test_the_submit_page_documents_every_key_and_the_limit():
    page = (ROOT / "docs" / "submit.md").read_text()
    for key in FIELDS:
        assert f"`{key}`" in page, key
    assert f"{onnx_policy.MAX_ONNX_BYTES // 2**20} MiB" in page
