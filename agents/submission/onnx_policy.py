"""A submitted policy: an ONNX model checked against an env's signature, run by onnxruntime behind the policy
interface, the env's action mask applied by us.

The signature (both envs): one row per acting agent (offload_routing: every satellite, parameters shared;
Aggregation: a batch of one).

- input ``observation``: float32 ``[batch, obs_dim]`` (the ``"observation"`` entry of the env's observation);
- optional input ``action_mask``: bool ``[batch, n_actions]`` (the env's mask, 1 = allowed), for models whose
  scores depend on it;
- one output, ``logits`` (any real scores; ``sampled`` mode draws from their softmax over the allowed actions)
  or ``q_values`` (greedy only): float32 ``[batch, n_actions]``.

Whatever the model outputs for a disallowed action, it is never played: greedy takes the best allowed score,
sampled draws among the allowed ones (``agents.policy.masked_actions``); a row with nothing allowed plays 0.
A file that is not a valid ONNX model of this signature, references external data, uses an operator outside
the standard ``ai.onnx`` domain, or is larger than :data:`MAX_ONNX_BYTES` is refused with one line saying why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.policy import EVAL_MODES, masked_actions, stacked_observations
from agents.submission.manifest import SubmissionError

MAX_ONNX_BYTES = 16 * 2**20
"""Largest ONNX file accepted (16 MiB: a 2 x 1024 MLP on our observations is about 5 MiB)."""
OBS_INPUT = "observation"
MASK_INPUT = "action_mask"
OUTPUTS = ("logits", "q_values")
STANDARD_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Signature:
    """What an env hands a policy: its API, observation width and number of actions."""

    api: str
    obs_dim: int
    n_actions: int


def env_signature(env: Any, api: str) -> Signature:
    if api == "pettingzoo":
        agent = env.possible_agents[0]
        obs_space, act_space = env.observation_space(agent), env.action_space(agent)
    else:
        obs_space, act_space = env.observation_space, env.action_space
    return Signature(api, int(obs_space["observation"].shape[0]), int(act_space.n))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _dims(value_info) -> list:
    t = value_info.type.tensor_type
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _shown(dims: list) -> str:
    return "[" + ", ".join("None" if d is None or isinstance(d, str) else str(d) for d in dims) + "]"


def _subgraph_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.g is not None and attr.g.node:
                yield from _subgraph_nodes(attr.g)
            for g in attr.graphs:
                yield from _subgraph_nodes(g)


def check_onnx(path: Path, signature: Signature) -> tuple[bytes, str, bool]:
    """The model's bytes, its output name and whether it takes the mask, once ``path`` passes every check;
    :class:`SubmissionError` (one line) for the first it fails."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import TensorProto, external_data_helper

    path = Path(path)
    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise SubmissionError(f"{path}: {size:,} bytes is over the {MAX_ONNX_BYTES:,}-byte limit")
    data = path.read_bytes()
    if data[:1] == b"\x80" or data[:2] == b"PK":
        kind = "a pickle" if data[:1] == b"\x80" else "a zip archive (torch.save / SB3 format)"
        raise SubmissionError(f"{path}: {kind}, not an ONNX model; export the network with torch.onnx.export")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise SubmissionError(f"{path}: not an ONNX model (protobuf: {str(exc).splitlines()[0][:120]})") from None
    if not model.graph.node or model.ir_version <= 0:
        raise SubmissionError(f"{path}: not an ONNX model (no graph)")
    if any(external_data_helper.uses_external_data(t) for t in model.graph.initializer):
        raise SubmissionError(f"{path}: references external data files; save the weights inside the model")
    nodes = [*_subgraph_nodes(model.graph), *(n for f in model.functions for n in f.node)]
    foreign = sorted({n.domain for n in nodes if n.domain not in STANDARD_DOMAINS}
                     | {o.domain for o in model.opset_import if o.domain not in STANDARD_DOMAINS})
    if foreign:
        raise SubmissionError(f"{path}: operators outside the standard ai.onnx domain ({foreign}); "
                              "only standard operators run here")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise SubmissionError(f"{path}: invalid ONNX model ({str(exc).strip().splitlines()[0][:160]})") from None
    initializers = {t.name for t in model.graph.initializer}
    inputs = {i.name: i for i in model.graph.input if i.name not in initializers}
    expected_inputs = f"{OBS_INPUT!r} float32 [batch, {signature.obs_dim}] and optionally {MASK_INPUT!r} " \
                      f"bool [batch, {signature.n_actions}]"
    if OBS_INPUT not in inputs or set(inputs) - {OBS_INPUT, MASK_INPUT}:
        raise SubmissionError(f"{path}: inputs {sorted(inputs)}; expected {expected_inputs}")
    for name, elem, width in ((OBS_INPUT, TensorProto.FLOAT, signature.obs_dim),
                              (MASK_INPUT, TensorProto.BOOL, signature.n_actions)):
        if name in inputs:
            dims, got = _dims(inputs[name]), inputs[name].type.tensor_type.elem_type
            if got != elem or len(dims) != 2 or dims[1] != width:
                raise SubmissionError(f"{path}: input {name!r} is {TensorProto.DataType.Name(got).lower()} "
                                      f"{_shown(dims)}; "
                                      f"expected {expected_inputs}")
    outputs = list(model.graph.output)
    expected_output = f"one output named {' or '.join(map(repr, OUTPUTS))}, float32 [batch, {signature.n_actions}]"
    if len(outputs) != 1 or outputs[0].name not in OUTPUTS:
        raise SubmissionError(f"{path}: outputs {[o.name for o in outputs]}; expected {expected_output}")
    dims, got = _dims(outputs[0]), outputs[0].type.tensor_type.elem_type
    if got != TensorProto.FLOAT or len(dims) != 2 or (isinstance(dims[1], int) and dims[1] != signature.n_actions):
        raise SubmissionError(f"{path}: output {outputs[0].name!r} is "
                              f"{TensorProto.DataType.Name(got).lower()} {_shown(dims)}; expected {expected_output}")
    return data, outputs[0].name, MASK_INPUT in inputs


def session(data: bytes):
    """An onnxruntime session on the CPU with one thread (the same scores on every run)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


class OnnxPolicy:
    """A checked ONNX model acting on ``env`` (``api``: the spec's) in ``mode``; ``reset(seed)`` seeds the draws of
    ``sampled`` mode, so the same episodes replay the same actions."""

    def __init__(self, env: Any, path: Path, api: str, mode: str = "greedy", name: str = "submission"):
        if mode not in EVAL_MODES:
            raise ValueError(f"eval_mode: {mode!r} is not one of {EVAL_MODES}")
        self.env, self.name, self.mode = env, name, mode
        self.signature = env_signature(env, api)
        data, self.output, self.takes_mask = check_onnx(path, self.signature)
        if mode == "sampled" and self.output != "logits":
            raise SubmissionError(f"{path}: eval_mode 'sampled' needs a 'logits' output, not {self.output!r}")
        try:
            self.session = session(data)
        except Exception as exc:  # onnxruntime raises its own types (Fail, InvalidGraph, ...)
            raise SubmissionError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:160]})") from None
        probe = self.scores(np.zeros((2, self.signature.obs_dim), np.float32),
                            np.ones((2, self.signature.n_actions), bool), path)
        if probe.shape != (2, self.signature.n_actions):
            raise SubmissionError(f"{path}: output {self.output!r} has shape {list(probe.shape)} for a batch of 2; "
                                  f"expected [2, {self.signature.n_actions}]")
        self.rng = np.random.default_rng(0)

    def scores(self, obs: np.ndarray, allowed: np.ndarray, path: Path | None = None) -> np.ndarray:
        feed = {OBS_INPUT: np.ascontiguousarray(obs, np.float32)}
        if self.takes_mask:
            feed[MASK_INPUT] = np.ascontiguousarray(allowed, bool)
        try:
            return self.session.run([self.output], feed)[0]
        except Exception as exc:  # a shape the graph does not accept surfaces here
            raise SubmissionError(f"{path or 'policy'}: onnxruntime failed on a batch of {len(obs)} "
                                  f"({str(exc).splitlines()[0][:160]})") from None

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act_arrays(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        allowed = np.asarray(mask).astype(bool)
        return masked_actions(self.scores(obs, allowed), allowed, self.mode, self.rng)

    def act(self, observations: dict) -> Any:
        if self.signature.api != "pettingzoo":
            obs, mask = observations["observation"][None], observations["action_mask"][None]
            return int(self.act_arrays(obs, mask)[0])
        if not observations:
            return {}
        agents, obs, mask = stacked_observations(observations)
        return dict(zip(agents, self.act_arrays(obs, mask).tolist()))
