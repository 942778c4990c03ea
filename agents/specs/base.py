"""What ``train.py``, ``evaluate.py``, the leaderboard and calibration need to know about an environment,
in one record per env (:class:`EnvSpec`), and about each learner trained on it (:class:`LearnerSpec`).

The scripts loop over ``agents.specs.SPECS`` and call these fields; none of them names an env. A learner's
code (torch, stable-baselines3, ...) is referenced by ``"module:attribute"`` strings and imported only when
that learner is trained or loaded, so listing the specs never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents.checkpoint import CheckpointError, Snapshot
from agents.policy import Policy

Ref = str | Callable[..., Any]
"""A callable, or the ``"package.module:qualified.name"`` of one (imported on first use)."""

EpisodeResult = tuple[dict, np.ndarray]
"""``(info, extras)``: the final info of an episode (every metric of ``EnvSpec.metrics``) and a 1-D array of
per-task values (offload_routing: the finished tasks' delays; empty where an env has none)."""


def resolve(ref: Ref) -> Callable[..., Any]:
    """The object ``ref`` names: ``ref`` itself if it is already callable."""
    if not isinstance(ref, str):
        return ref
    module, _, qualname = ref.partition(":")
    if not module or not qualname:
        raise ValueError(f"reference {ref!r}: expected 'package.module:name'")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


BUDGETS = ("quick", "full")
"""The training budgets every learner has (``LearnerSpec.budget_steps``)."""


@dataclass(frozen=True, kw_only=True)
class LearnerSpec:
    """A trainable agent: ``train.py ENV NAME`` trains it, ``evaluate.py --checkpoint DIR`` loads it back."""

    name: str
    """The agent name on the command line and in the checkpoint's ``meta.json["agent"]``."""
    config: Ref
    """Its config dataclass (fields ``seed``, ``scenario``, ``steps`` at least; built from keywords and
    rebuilt from ``meta.json["config"]``)."""
    train: Ref
    """``train(cfg, out: Path, resume: bool, progress: bool) -> dict`` of counters; writes the snapshots
    ``out/model`` (``model.pt``, a dict of state_dicts, and ``meta.json`` with ``agent``, ``env``, ``config``
    and ``step``) and ``out/checkpoint`` (``agents.checkpoint``)."""
    policy: Ref
    """``policy(env, weights: dict, cfg) -> Policy``: the trained policy from the loaded ``model.pt``."""
    options: tuple[str, ...] = ()
    """Names of ``train.py`` options (beyond seed, scenario and steps) that are fields of its config,
    e.g. ``("randomize",)`` for ``--no-randomize``."""

    eval_modes: tuple[str, ...] = ("greedy",)
    """How its trained policy can act at evaluation (``agents.policy.EVAL_MODES``). A learner with several
    takes ``mode=`` in ``policy``; ``evaluate.py`` plays each, and the one that scores best on validation
    seeds (``agents.common.VALIDATION_SEED_BASE`` up, never the evaluation seeds) heads its row."""
    quick_budget: Ref | None = None
    """``quick_budget(scenario) -> steps``: the learner's quick training budget (``make reproduce``'s), which
    ``benchmarks/bench_quality.py`` scales; None: its config's default ``steps``."""
    full_budget: Ref | None = None
    """``full_budget(scenario) -> steps``: its full training budget (``make reproduce FULL=1``'s and the
    leaderboard's rows), of the order its field's papers train for; None: the quick budget."""
    export: Ref | None = None
    """``export(policy) -> (torch module, output name)``: the network of a loaded policy as ``export.py`` writes
    it to ONNX (``agents.submission``: ``(observation, action_mask) -> "logits" | "q_values"``, scoring what the
    policy plays on); None: its policy is more than a network (bisection, per-instance fine-tuning) and has no
    ONNX form."""

    def make_config(self, **fields: Any) -> Any:
        return resolve(self.config)(**fields)

    def quick_steps(self, scenario: str) -> int:
        if self.quick_budget is not None:
            return int(resolve(self.quick_budget)(scenario))
        steps = self.make_config(seed=0).steps
        if steps is None:
            raise ValueError(f"{self.name}: no quick_budget and no default steps in its config")
        return int(steps)

    def budget_steps(self, scenario: str, budget: str) -> int:
        """Env steps of its ``budget`` ("quick" or "full") on ``scenario``."""
        if budget not in BUDGETS:
            raise ValueError(f"budget: {budget!r} is not one of {BUDGETS}")
        if budget == "full" and self.full_budget is not None:
            return int(resolve(self.full_budget)(scenario))
        return self.quick_steps(scenario)

    def config_from(self, snapshot: Snapshot) -> Any:
        """The config a snapshot's meta.json records, rebuilt (CheckpointError if it does not fit)."""
        try:
            return self.make_config(**snapshot.meta["config"])
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{snapshot.path / 'meta.json'}: config does not fit {self.name}'s "
                                  f"({str(exc).splitlines()[0][:200]})") from None

    def load(self, snapshot: Snapshot, env: Any, mode: str | None = None) -> Policy:
        """The policy of a verified model snapshot (``agents.checkpoint.read_model``), acting in ``mode``
        (one of ``eval_modes``; None: the first)."""
        if mode is not None and mode not in self.eval_modes:
            raise ValueError(f"eval mode: {self.name} plays {list(self.eval_modes)}, not {mode!r}")
        cfg = self.config_from(snapshot)
        weights = snapshot.torch()
        by_mode = {} if len(self.eval_modes) == 1 else {"mode": mode or self.eval_modes[0]}
        try:
            return resolve(self.policy)(env, weights, cfg, **by_mode)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{snapshot.file('model.pt')}: weights do not fit the {self.name} network that "
                                  f"meta.json's config describes ({type(exc).__name__}: "
                                  f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})") from None


def no_checkpoints(scenario: str, runs: Path) -> list[Path]:
    return []


@dataclass(frozen=True, kw_only=True)
class EnvDocs:
    """What the env's page on the documentation site shows; ``docs/hooks.py`` writes one page per spec from
    it (summary table, rendered frame, spec sheet, scenarios, config table), so the page cannot drift."""

    title: str
    """The page title."""
    env_class: type
    """The env class: its docstring is the spec sheet (``## Description``, ``## Action Space``, ...)."""
    usage: str
    """Python lines that make the env and step it once; shown on the page and run by the docs test."""
    config_class: type
    """The config dataclass; each field's comment gives its meaning and unit (``leo_envs.config.field_docs``)."""
    ranges: dict[str, Any]
    """Field name -> its checker (``describe()`` says what is allowed)."""
    scenario_configs: dict[str, Any]
    """Scenario name -> its config (the page lists the fields where each differs from the defaults)."""
    episode_length: Callable[[Any], str]
    """``episode_length(config) -> text``: how long an episode of that scenario runs."""
    frame: Callable[[], np.ndarray]
    """A representative ``render()`` frame (RGB array) for the page's picture."""
    frame_caption: str
    """What the picture shows (scenario, seed, moment)."""
    removed_ids: tuple[str, ...] = ()
    """Ids of earlier versions, no longer registered (listed as removed in the summary table)."""


@dataclass(frozen=True, kw_only=True)
class EnvSpec:
    """One environment as the scripts see it. A new env is its package under ``leo_envs/envs`` plus one
    module in ``agents/specs`` defining such a spec, listed in ``agents.specs.SPECS``."""

    name: str
    """The short name on the command line (``train.py NAME``, ``evaluate.py NAME``), in result file names
    (``NAME-<scenario>.json``) and in the leaderboard's ``env`` column."""
    api: Literal["gymnasium", "pettingzoo"]
    """The interface ``make`` returns: a Gymnasium ``Env`` or a PettingZoo ``ParallelEnv``."""
    ids: tuple[str, ...]
    """Ids under which the env is registered in that library's registry (``gymnasium.make`` /
    ``pettingzoo.make("parallel", ...)``)."""
    make: Callable[[str], Any]
    """``make(scenario)``: a fresh env on a named scenario preset."""
    scenarios: tuple[str, ...]
    """Every registered scenario preset; the leaderboard evaluates each of them."""
    default_scenario: str
    """What ``evaluate.py`` uses without ``--scenario``."""
    test_scenario: str
    """The smallest scenario, for smoke runs (``leaderboard.py --smoke``) and tests."""
    primary_metric: str
    """The headline metric: what the leaderboard ranks on and the bar plot of ``evaluate.py`` shows."""
    better: Literal["lower", "higher"]
    """Whether a lower or a higher ``primary_metric`` is better."""
    metrics: tuple[str, ...]
    """The info keys ``evaluate.py`` reports per agent, primary metric first."""
    side_metrics: tuple[str, ...]
    """Metrics the leaderboard shows beside the primary one (what it trades off)."""
    baselines: tuple[str, ...]
    """Names of the baselines (``evaluate.py --agents all`` runs every one, in this order)."""
    make_baseline: Callable[[str, Any, int], Policy]
    """``make_baseline(name, env, seed)``: a baseline acting on ``env``; ``ValueError`` for an unknown name."""
    run_episode: Callable[[Any, Policy, int], EpisodeResult]
    """``run_episode(env, policy, seed)``: one episode from ``reset(seed=seed)`` to its end."""
    learners: tuple[LearnerSpec, ...] = ()
    """The learners ``train.py`` can train on this env."""
    bound: Callable[[str, int], float | None] | None = None
    """``bound(scenario, seed)``: a bound on the primary metric of the episode reset with ``seed`` that no policy can
    beat (a lower bound where lower is better), None where none is known; the leaderboard shows each row's gap to
    it and its score normalised between random (0) and it (1). Envs without one use ``reference_baseline``'s value
    on each episode where that baseline solves it (a reference, not necessarily a bound on every policy)."""
    bound_source: str = ""
    """What ``bound`` is, in a few words (shown beside it on the leaderboard)."""
    reference_baseline: str | None = None
    """A baseline that is optimal (an exact solver): when evaluated, every agent gets an
    ``optimality_gap`` metric, its relative distance to it on the primary metric (0 = optimal)."""
    extra_plots: tuple[Callable[[dict, dict, Path, str], Path | None], ...] = ()
    """``plot(report, extras, out, stem) -> path or None``: plots ``evaluate.py`` draws before the primary
    metric's bar plot; ``extras`` maps each agent to the concatenated per-task values of its episodes."""
    leaderboard_checkpoints: Callable[[str, Path], list[Path]] = no_checkpoints
    """``(scenario, runs_dir) -> run directories`` of trained checkpoints the leaderboard evaluates on that
    scenario (``runs_dir`` is where ``make reproduce`` trains)."""
    leaderboard_runs: tuple[tuple[str, str, str], ...] = ()
    """``(run directory name, learner, scenario)`` of the checkpoints the leaderboard expects in its runs
    directory: ``make leaderboard`` trains a missing one at the learner's quick budget (seed 0) before
    evaluating, as ``make reproduce`` does."""
    calibrate: Callable[[int, str | None], str] | None = None
    """``calibrate(seeds, scenario) -> Markdown table`` of the baselines beside the source paper's figures
    (``benchmarks/calibration.py``); ``scenario`` None means the hook's own; hooks tied to fixed paper
    instances ignore it."""
    quality_scenario: str | None = None
    """Where ``benchmarks/bench_quality.py`` times the learners (None: the env is not in that benchmark)."""
    quality_targets: tuple[str, ...] = ()
    """Baselines whose primary metric on ``quality_scenario`` each learner is timed to reach, in order."""
    docs: EnvDocs | None = None
    """Its page on the documentation site (None: no page)."""
    learner_table: dict[str, LearnerSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.better not in ("lower", "higher"):
            raise ValueError(f"{self.name}: better must be 'lower' or 'higher', not {self.better!r}")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"{self.name}: primary metric {self.primary_metric!r} is not in its metrics")
        for s in (self.default_scenario, self.test_scenario):
            if s not in self.scenarios:
                raise ValueError(f"{self.name}: scenario {s!r} is not one of {self.scenarios}")
        if self.quality_scenario is not None and self.quality_scenario not in self.scenarios:
            raise ValueError(f"{self.name}: quality scenario {self.quality_scenario!r} is not a scenario")
        for b in self.quality_targets:
            if b not in self.baselines:
                raise ValueError(f"{self.name}: quality target {b!r} is not a baseline")
        if self.reference_baseline is not None and self.reference_baseline not in self.baselines:
            raise ValueError(f"{self.name}: reference baseline {self.reference_baseline!r} is not a baseline")
        object.__setattr__(self, "learner_table", {lr.name: lr for lr in self.learners})
        for run, learner, scenario in self.leaderboard_runs:
            if learner not in self.learner_table or scenario not in self.scenarios:
                raise ValueError(f"{self.name}: leaderboard run {run!r}: {learner!r} on {scenario!r} is not a "
                                 "learner on a scenario of this env")

    def learner(self, name: str) -> LearnerSpec:
        if name not in self.learner_table:
            raise ValueError(f"agent: {name!r} cannot be trained on {self.name}; learners: "
                             f"{tuple(self.learner_table)}")
        return self.learner_table[name]

    def baseline(self, name: str, env: Any, seed: int = 0) -> Policy:
        if name not in self.baselines:
            raise ValueError(f"agent: {name!r} is not a baseline of {self.name}; choose from {self.baselines}")
        return self.make_baseline(name, env, seed)

    def optimality_gap(self, values: np.ndarray, optimum: np.ndarray) -> np.ndarray:
        """Relative distance of ``values`` to ``optimum`` on the primary metric, >= 0 when it is optimal."""
        diff = optimum - values if self.better == "higher" else values - optimum
        return diff / np.abs(optimum)


def play_parallel(env: Any, policy: Policy, seed: int) -> dict:
    """A PettingZoo parallel episode until no agent is left; the final info of the first agent (the envs'
    episode metrics are the same for every agent)."""
    obs, infos = env.reset(seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(policy.act(obs))
    return infos[env.possible_agents[0]]


def play_gym(env: Any, policy: Policy, seed: int) -> dict:
    """A Gymnasium episode until termination or truncation; the final info. Policies may carry
    ``reset_options`` for ``env.reset``."""
    obs, _ = env.reset(seed=seed, options=getattr(policy, "reset_options", None))
    done = False
    info: dict = {}
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        done = terminated or truncated
    return info


def run_gym_episode(env: Any, policy: Policy, seed: int) -> EpisodeResult:
    """``EnvSpec.run_episode`` for a Gymnasium env without per-task values."""
    policy.reset(seed)
    return play_gym(env, policy, seed), np.zeros(0)


def mean_halfwidth(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its normal 95% interval (0 for a single value), for calibration tables."""
    x = np.asarray(values, float)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
    return float(x.mean()), float(half)
