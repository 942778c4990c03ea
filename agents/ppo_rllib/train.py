"""Training ppo_rllib on offload_routing_v3: RLlib's PPO (new API stack), every satellite on one shared
policy with masked logits, sampled by Ray env runners.

Ray is started locally (``ray.init(address="local")``, one CPU per env runner) unless ``cfg.address`` names
a running cluster, and shut down at the end. Each training iteration is one ``algo.train()``: a row of
``progress.csv`` and TensorBoard (``tb/``) with the env steps and agent steps so far, the losses (the value
loss before and after RLlib's clip: equal while the rewards are scaled right) and the env's episode metrics
from ``EpisodeMetricsCallback`` (means over the recent episodes), and two snapshots
(``agents.checkpoint``: written whole or not at all, checked against their manifest on load):

- ``model/``: ``model.pt`` (``{"module": the shared RLModule's state_dict}``, what ``evaluate.py`` loads) and
  ``meta.json``: agent, env, version, config, the counters of ``COUNTERS`` (env steps ``step`` and
  ``agent_steps``, env steps x satellites, the budget as parameter-shared MARL counts it), ``library`` /
  ``library_version``, ``train_wall_s``, ``agent_steps_per_s`` (``agent_steps / train_wall_s``),
  ``training_seeds`` (the run's block of env seeds) and ``training_seeds_used`` (the smallest and largest
  reset seed of the episodes trained on);
- ``checkpoint/``: ``learner.pt`` (the module and its Adam state) and the same ``meta.json``, for ``--resume``.

No pickle is written or read: the weights and optimizer state are tensors saved by ``torch.save`` and loaded
with ``weights_only=True``. ``--resume`` rebuilds the algorithm from the config in ``meta.json``, loads the
module and Adam state into the learner, pushes the weights to the env runners and continues the counters;
the resumed part resets with fresh seeds (after the last one used). It is not bit for bit: the env runners
sample in parallel processes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    WEIGHTS_FILE,
    check_resume,
    read_checkpoint,
    torch_bytes,
    write_snapshot,
)
from agents.common import RunLogger, TrainClock, setup_torch, training_seed_range

from .config import PPORLlibConfig

LEARNER_FILE = "learner.pt"
LOG_FIELDS = ["step", "agent_steps", "decisions", "iteration", "episodes", "wall_s", "iteration_s", "agent_rows",
              "episode_return_mean", "episode_len_mean", "mean_task_cost_s", "completion_rate", "drop_rate",
              "mean_delay_s", "masked_actions_total", "policy_loss", "vf_loss", "vf_loss_unclipped", "entropy",
              "vf_explained_var", "training_seed_min", "training_seed_max"]
RUNNER_KEYS = ("episode_return_mean", "episode_len_mean", "mean_task_cost_s", "completion_rate", "drop_rate",
               "mean_delay_s", "masked_actions_total", "training_seed_min", "training_seed_max")
LEARNER_KEYS = ("policy_loss", "vf_loss", "vf_loss_unclipped", "entropy", "vf_explained_var")
COUNTERS = ("step", "agent_steps", "decisions", "iteration", "episode")
"""What meta.json counts: ``step`` env steps (slots), ``agent_steps`` = ``step`` x satellites (every
satellite every slot, as parameter-shared MARL budgets and SB3's ``total_timesteps`` count them),
``decisions`` the agent steps sampled as training rows (``skip_idle``: the satellites with a choice),
``iteration`` ``algo.train()`` calls and ``episode`` finished episodes."""


def ppo_algorithm_config(cfg: PPORLlibConfig, seed_start: int):
    """The ``PPOConfig``: ``agents.rllib_support.ppo_config`` (shared policy, masking module, metrics
    callback) with this learner's module, hyper-parameters, seeded training env and seed callback."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

    from agents.rllib_support import SHARED_POLICY, ppo_config

    from .env import TRAINING_ENV, SeededEpisodeMetricsCallback
    from .policy import module_spec

    env_config = {"scenario": cfg.scenario, "reward_mode": cfg.reward_mode, "seed_start": seed_start,
                  "allow_hold": cfg.allow_hold, "skip_idle": cfg.skip_idle, "reward_scale": cfg.reward_scale}
    if cfg.max_cycles is not None:
        env_config["max_cycles"] = cfg.max_cycles
    return (
        ppo_config(TRAINING_ENV, env_config, num_env_runners=cfg.num_env_runners,
                   train_batch_size=cfg.train_batch, minibatch_size=cfg.minibatch_size,
                   num_epochs=cfg.num_epochs, seed=cfg.seed)
        # RLlib discards the samples of an env runner slower than sample_timeout_s (60 s by default): on a
        # busy machine whole iterations came back empty or with half the batch. Wait for them instead
        .env_runners(sample_timeout_s=None)
        .training(lr=cfg.lr, gamma=cfg.gamma, lambda_=cfg.lambda_, clip_param=cfg.clip_param,
                  entropy_coeff=cfg.entropy_coeff, vf_loss_coeff=cfg.vf_loss_coeff,
                  vf_clip_param=cfg.vf_clip_param, grad_clip=cfg.grad_clip, grad_clip_by="global_norm",
                  use_kl_loss=False)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={SHARED_POLICY: module_spec(cfg)}))
        .callbacks(SeededEpisodeMetricsCallback)
    )


def _on_learner(algo, fn):
    """``fn(learner)`` on the (local) learner of ``algo``."""
    results = list(algo.learner_group.foreach_learner(fn))
    return results[0].get()


def learner_state(algo) -> dict:
    """The shared module's state_dict and its Adam state, as tensors (loadable with ``weights_only``)."""
    from agents.rllib_support import SHARED_POLICY

    return _on_learner(algo, lambda learner: {
        "module": {k: v.detach().clone() for k, v in learner.module[SHARED_POLICY].state_dict().items()},
        "optimizer": learner.get_optimizer(SHARED_POLICY).state_dict()})


def load_learner_state(algo, state: dict) -> None:
    """Loads ``learner_state`` into the learner and sends the weights to every env runner."""
    from agents.rllib_support import SHARED_POLICY

    def load(learner):
        learner.module[SHARED_POLICY].load_state_dict(state["module"])
        learner.get_optimizer(SHARED_POLICY).load_state_dict(state["optimizer"])

    _on_learner(algo, load)
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group, inference_only=True,
                                       timeout_seconds=None)


def _number(value):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def sampled_rows(result: dict) -> int | None:
    """The agent steps (training rows) the env runners sampled in the iteration of ``result``."""
    rows = result.get("env_runners", {}).get("num_module_steps_sampled")  # per module
    total = _number(sum(rows.values())) if isinstance(rows, dict) and rows else None
    return None if total is None else int(total)  # (NaN when nothing was sampled)


def n_satellites(cfg: PPORLlibConfig) -> int:
    """The number of satellites (agents) of ``cfg.scenario``: an env step is that many agent steps."""
    from leo_envs import offload_routing_v3

    return len(offload_routing_v3.parallel_env(cfg.scenario).possible_agents)


def result_row(result: dict, counters: dict, wall_s: float) -> dict:
    """The log row of one iteration's ``result``; keys RLlib did not report (no episode ended yet) are absent."""
    from agents.rllib_support import SHARED_POLICY

    runners, learner = result.get("env_runners", {}), result.get("learners", {}).get(SHARED_POLICY, {})
    row = {"step": counters["step"], "agent_steps": counters["agent_steps"], "decisions": counters["decisions"],
           "iteration": counters["iteration"], "episodes": counters["episode"], "wall_s": round(wall_s, 3),
           "iteration_s": _number(result.get("time_this_iter_s"))}
    rows = sampled_rows(result)
    if rows is not None:
        row["agent_rows"] = rows
    for source, keys in ((runners, RUNNER_KEYS), (learner, LEARNER_KEYS)):
        for key in keys:
            value = _number(source.get(key))
            if value is not None:
                row[key] = value
    return row


def restore_point(out: Path, cfg: PPORLlibConfig) -> tuple[dict, dict]:
    """``(meta, learner_state)`` of the run in ``out`` to resume; CheckpointError if it is not a ppo_rllib run
    of ``cfg`` (only ``cfg.RESUME_MAY_CHANGE`` may differ) or its checkpoint is damaged."""
    snapshot = read_checkpoint(out)
    check_resume(snapshot, agent="ppo_rllib", env="offload_routing", config=cfg.to_dict(),
                 may_change=cfg.RESUME_MAY_CHANGE)
    return snapshot.meta, snapshot.torch(LEARNER_FILE)


def save_checkpoint(out: Path, cfg: PPORLlibConfig, algo, counters: dict, seeds: list[int], wall_s: float) -> None:
    import ray

    from leo_envs import __version__

    state = learner_state(algo)
    first, last = training_seed_range(cfg.seed)
    meta = {"agent": "ppo_rllib", "env": "offload_routing", "version": __version__, "config": cfg.to_dict(),
            **counters, "library": "ray[rllib]", "library_version": ray.__version__, "train_wall_s": round(wall_s, 3),
            "agent_steps_per_s": round(counters["agent_steps"] / wall_s, 1) if wall_s > 0 else None,
            "training_seeds": [first, last], "training_seeds_used": seeds}
    write_snapshot(out / CHECKPOINT_DIR, meta, {LEARNER_FILE: torch_bytes(state)})
    write_snapshot(out / MODEL_DIR, meta, {WEIGHTS_FILE: torch_bytes({"module": state["module"]})})


def train(cfg: PPORLlibConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train for ``cfg.steps`` env steps in all (``resume``: continue the run in ``out``); returns the
    counters (``COUNTERS``)."""
    if cfg.num_env_runners < 1:
        raise ValueError(f"num_env_runners: {cfg.num_env_runners} must be >= 1")
    out = Path(out)
    counters = dict.fromkeys(COUNTERS, 0)
    clock, state = TrainClock(), None
    first, last = training_seed_range(cfg.seed)
    seeds = [last + 1, first - 1]  # [smallest, largest] reset seed of the episodes trained on (none yet)
    if resume:
        meta, state = restore_point(out, cfg)
        counters = {k: int(meta[k]) for k in counters}
        clock = TrainClock(meta["train_wall_s"])
        seeds = list(meta["training_seeds_used"])
        warnings.warn(f"ppo_rllib: resuming {out} at step {counters['step']} with its weights and Adam state; "
                      "Ray's env runners sample anew, so the run does not continue bit for bit", UserWarning,
                      stacklevel=2)
    seed_start = seeds[1] + 1
    if seed_start > last:
        raise ValueError(f"seed: run {cfg.seed} used up its training seeds {first}..{last}")
    out.mkdir(parents=True, exist_ok=True)

    import ray
    from ray.tune.registry import register_env
    from tqdm import tqdm

    from .env import TRAINING_ENV, make_training_env

    setup_torch(cfg.seed, cfg.torch_threads)
    satellites = n_satellites(cfg)
    if cfg.address:
        ray.init(address=cfg.address)
    else:  # "local": a fresh instance, never a cluster an earlier run left behind
        ray.init(address="local", num_cpus=cfg.num_env_runners, include_dashboard=False)
    logger = bar = None
    try:
        register_env(TRAINING_ENV, make_training_env)
        algo = ppo_algorithm_config(cfg, seed_start).build_algo()
        try:
            if state is not None:
                load_learner_state(algo, state)
            base = dict(counters)
            logger = RunLogger(out, LOG_FIELDS, resume_step=counters["step"] if resume else None)
            bar = tqdm(total=cfg.steps, initial=min(counters["step"], cfg.steps), desc="ppo_rllib", unit="step",
                       disable=not progress)
            while counters["step"] < cfg.steps:
                result = algo.train()
                runners = result.get("env_runners", {})
                step = base["step"] + int(runners.get("num_env_steps_sampled_lifetime", 0))
                bar.update(min(step, cfg.steps) - min(counters["step"], cfg.steps))
                counters = {"step": step, "agent_steps": step * satellites,
                            "decisions": counters["decisions"] + (sampled_rows(result) or 0),
                            "iteration": counters["iteration"] + 1,
                            "episode": base["episode"] + int(runners.get("num_episodes_lifetime", 0))}
                lo, hi = runners.get("training_seed_min"), runners.get("training_seed_max")
                if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
                    # (NaN in an iteration in which no episode ended)
                    seeds = [min(seeds[0], int(lo)), max(seeds[1], int(hi))]
                wall = clock.total_s()
                row = result_row(result, counters, wall)
                logger.log(row, step)
                if "mean_task_cost_s" in row:
                    bar.set_postfix(cost=f"{row['mean_task_cost_s']:.3f}", done=f"{row['completion_rate']:.2f}")
                save_checkpoint(out, cfg, algo, counters, seeds, wall)
        finally:
            algo.stop()
    finally:
        if bar is not None:
            bar.close()
        if logger is not None:
            logger.close()
        ray.shutdown()
    return counters
