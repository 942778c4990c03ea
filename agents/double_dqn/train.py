"""Training Double DQN on Aggregation-v2 with stable-baselines3: tqdm progress, CSV + TensorBoard through
SB3's logger (plus each episode's EDR, energy reduction and delay), checkpoints after episode ends, and
``--resume`` from the last one, bit for bit.

Two snapshots (``agents.checkpoint``: written whole or not at all, checked against a manifest on load):
``model/`` is the evaluable model (``model.pt``: the policy's state_dict, ``meta.json``), the weights whose
greedy policy did best on fixed validation instances (the env's return at its default weights: EDR with
violations charged; ``validation.json`` beside it has every validation); ``checkpoint/`` is the resume state
without pickles: ``learner.pt`` (policy and optimizer state_dicts, torch's RNG state; ``weights_only``),
``replay.npz`` (the replay buffer's arrays and numpy's global RNG state, which SB3 samples batches with;
``allow_pickle=False``), ``validation.json`` and ``meta.json`` (SB3's counters, the exploration RNG, Python's
RNG). Every training episode resets with its own seed (``training_seed(run seed, episode)``), so the
episode in progress at a checkpoint is restored by resetting with its seed and replaying its actions (saved
in ``replay.npz``; the env is deterministic given both).
``MaskedDoubleDQN.save`` (an SB3 zip) stays available as an export; nothing here loads one.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import __version__ as sb3_version
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from agents.checkpoint import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    WEIGHTS_FILE,
    CheckpointError,
    check_resume,
    json_bytes,
    npz_bytes,
    read_checkpoint,
    torch_bytes,
    write_snapshot,
)
from agents.common import (
    VALIDATION_SEED_BASE,
    TrainClock,
    setup_torch,
    training_seed,
    training_seed_range,
    write_json,
)
from agents.sb3_training import make_logger
from leo_envs import __version__, aggregation_v2

from .agent import MaskedDoubleDQN
from .config import DoubleDQNConfig
from .network import PerSatelliteDQNPolicy

EPISODE_METRICS = ("edr_j_per_s", "energy_reduction", "delay_increment_s", "deadline_violations")
VALIDATION_SEED = VALIDATION_SEED_BASE  # validation instance i resets with this + i (evaluate.py: 1000 s + e)
VALIDATION_FILE = "validation.json"


def mean_episode_length(scenario: str, samples: int = 20) -> float:
    env = aggregation_v2.env(scenario)
    lengths = []
    for seed in range(samples):
        env.reset(seed=10_000 + seed)
        lengths.append(max(env.unwrapped.instance.num_transfers, 1))
    return float(np.mean(lengths))


QUICK_EPISODES = 150  # make reproduce's budget per traffic level
FULL_EPISODES = 500  # the paper's, make reproduce FULL=1's and the leaderboard's


def quick_steps(scenario: str) -> int:
    """The quick budget in steps: QUICK_EPISODES episodes of the scenario's mean length."""
    return int(round(QUICK_EPISODES * mean_episode_length(scenario)))


def full_steps(scenario: str) -> int:
    """The full budget in steps: FULL_EPISODES episodes of the scenario's mean length."""
    return int(round(FULL_EPISODES * mean_episode_length(scenario)))


def random_observations(scenario: str, episodes: int, seed: int) -> np.ndarray:
    """Observations of ``episodes`` episodes under random masked actions (instances apart from the
    evaluation's, which reset with seeds 1000 s + e)."""
    env = aggregation_v2.env(scenario)
    rng = np.random.default_rng([seed, 1])
    rows = []
    for env_seed in rng.integers(10**6, 2 * 10**6, episodes).tolist():
        obs, _ = env.reset(seed=env_seed)
        done = False
        while not done:
            rows.append(obs["observation"])
            allowed = np.flatnonzero(obs["action_mask"])
            obs, _, terminated, truncated, _ = env.step(int(rng.choice(allowed)) if allowed.size else 0)
            done = terminated or truncated
    return np.stack(rows)


def fit_input_scaling(model: MaskedDoubleDQN, cfg: DoubleDQNConfig) -> None:
    obs = random_observations(cfg.scenario, cfg.input_stats_episodes, cfg.seed)
    for net in (model.q_net, model.q_net_target):
        net.set_input_scaling(obs)


# Double DQN learns the objective in increments: log_edr pays each step's change of log EDR (its sum is
# log EDR minus a constant of the instance); deadline and invalid charge as in the env's default return
TRAINING_REWARD = {"edr_weight": 0.0, "delay_weight": 0.0, "energy_weight": 0.0, "log_edr_weight": 1.0}


class TrainingSeeds(gym.Wrapper):
    """Resets episode e of the run with ``training_seed(run_seed, e)`` whatever seed SB3 passes, so no
    training instance is an evaluation (1000 s + e) or validation instance, and every episode can be
    restored from its index (``episodes``: resets so far)."""

    def __init__(self, env: gym.Env, run_seed: int):
        super().__init__(env)
        self.run_seed = run_seed
        self.episodes = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = training_seed(self.run_seed, self.episodes)
        self.episodes += 1
        return self.env.reset(seed=seed, options=options)


def training_env(scenario: str, run_seed: int):
    return TrainingSeeds(aggregation_v2.env(scenario, **TRAINING_REWARD), run_seed)


def build_model(cfg: DoubleDQNConfig, env, tensorboard: str | None = None, *, gamma: float | None = None,
                learning_starts: int | None = None, target_update_interval: int | None = None,
                epsilon_start: float = 1.0, seed: int | None = None) -> MaskedDoubleDQN:
    """The model for training across instances (``pretrain_gamma``) unless fine-tuning overrides."""
    return MaskedDoubleDQN(
        PerSatelliteDQNPolicy, env, learning_rate=cfg.lr, gamma=cfg.pretrain_gamma if gamma is None else gamma,
        epsilon_decay=cfg.epsilon_decay, epsilon_start=epsilon_start, exploration_final_eps=cfg.epsilon_min,
        buffer_size=cfg.buffer_size,
        learning_starts=cfg.learning_starts if learning_starts is None else learning_starts,
        batch_size=cfg.batch_size, train_freq=cfg.train_freq,
        target_update_interval=target_update_interval or cfg.target_update_interval,
        policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, seed=cfg.seed if seed is None else seed, device="cpu",
        tensorboard_log=tensorboard,
    )


def validation_score(model: MaskedDoubleDQN, scenario: str, instances: int) -> dict:
    """Mean return, EDR and deadline violations of the greedy policy on the fixed validation instances
    (the env at its default weights, whose return is the episode's objective)."""
    env = aggregation_v2.env(scenario)
    returns, edr, violations = [], [], []
    for i in range(instances):
        obs, _ = env.reset(seed=VALIDATION_SEED + i)
        done, ret = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(int(action))
            ret += reward
            done = terminated or truncated
        returns.append(ret)
        edr.append(info["edr_j_per_s"])
        violations.append(info["deadline_violations"])
    return {"return": float(np.mean(returns)), "edr_j_per_s": float(np.mean(edr)),
            "deadline_violations": float(np.mean(violations))}


class BestOnValidation:
    """Keeps in model.pt the weights whose greedy policy did best on the validation instances (like SB3's
    EvalCallback best model), judged by the env's return at its default weights (EDR with violations and
    masked actions charged) rather than the shaped training return; survives ``--resume``."""

    def __init__(self, cfg: DoubleDQNConfig, out: Path):
        self.cfg, self.out = cfg, out
        self.record = {"best": None, "history": []}  # a resumed run takes the checkpoint's

    def __call__(self, model: MaskedDoubleDQN) -> None:
        entry = {"step": int(model.num_timesteps), **validation_score(model, self.cfg.scenario,
                                                                      self.cfg.validation_instances)}
        self.record["history"].append(entry)
        best = self.record["best"]
        if best is None or entry["return"] > best.get("return", -np.inf):
            self.record["best"] = entry
            save_model(model, self.cfg, self.out, validation=entry)
        write_json(self.out / VALIDATION_FILE, self.record)


class TrainingCallback(BaseCallback):
    """Progress bar, per-episode metrics in the logger, validation and checkpoints at episode ends."""

    def __init__(self, cfg: DoubleDQNConfig, out: Path, total: int, progress: bool,
                 validate: BestOnValidation | None):
        super().__init__()
        self.cfg, self.out, self.total, self.progress, self.validate = cfg, out, total, progress, validate
        self.next_checkpoint = None
        self.episode_ended = False

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.model.num_timesteps, desc="double_dqn", unit="step",
                        disable=not self.progress)
        every = self.cfg.checkpoint_every
        self.next_checkpoint = (self.model.num_timesteps // every + 1) * every

    def _on_rollout_start(self) -> None:
        # here the last step's transition is stored and its update done: a consistent state to save
        if self.episode_ended and self.num_timesteps >= self.next_checkpoint:
            save_checkpoint(self.model, self.cfg, self.out, self.validate)
            every = self.cfg.checkpoint_every
            self.next_checkpoint = (self.num_timesteps // every + 1) * every
        self.episode_ended = False

    def _on_step(self) -> bool:
        self.bar.update(1)
        for done, info, action in zip(self.locals["dones"], self.locals["infos"], self.locals["actions"]):
            if not done:
                self.model.episode_actions.append(int(action))
            else:
                self.model.episode_actions.clear()
                for k in EPISODE_METRICS:
                    self.logger.record_mean(f"episode/{k}", info[k])
                self.episode_ended = True
                if self.validate and (self.model._episode_num + 1) % self.cfg.validate_every == 0:
                    self.validate(self.model)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


LEARNER_FILE = "learner.pt"
REPLAY_FILE = "replay.npz"
COUNTERS = ("num_timesteps", "_episode_num", "_n_calls", "_n_updates")


def replay_arrays(model: MaskedDoubleDQN) -> dict[str, np.ndarray]:
    """The filled part of SB3's DictReplayBuffer (and numpy's global RNG state) as plain arrays."""
    rb = model.replay_buffer
    n = rb.buffer_size if rb.full else rb.pos
    arrays = {"pos": np.int64(rb.pos), "full": np.bool_(rb.full),
              "episode_actions": np.asarray(model.episode_actions, np.int64)}
    for key in rb.observations:
        arrays[f"obs.{key}"] = rb.observations[key][:n]
        arrays[f"next_obs.{key}"] = rb.next_observations[key][:n]
    for name in ("actions", "rewards", "dones", "timeouts"):
        arrays[name] = getattr(rb, name)[:n]
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (SB3 samples batches with it)
    arrays.update(np_rng_kind=np.array(kind), np_rng_keys=keys, np_rng_ints=np.array([pos, has_gauss], np.int64),
                  np_rng_gauss=np.array(cached, np.float64))
    return arrays


def restore_replay(model: MaskedDoubleDQN, arrays: dict[str, np.ndarray]) -> None:
    rb = model.replay_buffer
    pos, full = int(arrays["pos"]), bool(arrays["full"])
    n = rb.buffer_size if full else pos
    targets = {**{f"obs.{k}": v for k, v in rb.observations.items()},
               **{f"next_obs.{k}": v for k, v in rb.next_observations.items()},
               **{name: getattr(rb, name) for name in ("actions", "rewards", "dones", "timeouts")}}
    for name, target in targets.items():
        if arrays[name].shape != (n, *target.shape[1:]):
            raise ValueError(f"{name} has shape {arrays[name].shape}, expected {(n, *target.shape[1:])}")
    for name, target in targets.items():
        target[:n] = arrays[name]
    rb.pos, rb.full = pos % rb.buffer_size, full
    ints = arrays["np_rng_ints"].tolist()
    np.random.set_state((str(arrays["np_rng_kind"]), arrays["np_rng_keys"], ints[0], ints[1],  # noqa: NPY002
                         float(arrays["np_rng_gauss"])))


def save_checkpoint(model: MaskedDoubleDQN, cfg: DoubleDQNConfig, out: Path,
                    validate: BestOnValidation | None = None) -> None:
    """The resume state as a snapshot (no pickles), and the evaluable model if there is no validation."""
    import random

    import torch

    env = model.get_env().envs[0]
    meta = {**model_meta(model, cfg), "counters": {k: int(getattr(model, k)) for k in COUNTERS},
            "exploration_rate": float(model.exploration_rate), "training_episodes": int(training_resets(env)),
            "explore_rng": model.explore_rng.bit_generator.state, "python_rng": random.getstate()}
    policy = model.policy
    write_snapshot(out / CHECKPOINT_DIR, meta, {
        LEARNER_FILE: torch_bytes({"policy": policy.state_dict(), "optimizer": policy.optimizer.state_dict(),
                                   "torch_rng": torch.get_rng_state()}),
        REPLAY_FILE: npz_bytes(replay_arrays(model)),
        VALIDATION_FILE: json_bytes(validate.record if validate else None)})
    if not cfg.validate_every:  # without validation the evaluable model is the latest
        save_model(model, cfg, out)


def training_resets(env: gym.Env) -> int:
    """Resets so far of the run's ``TrainingSeeds`` inside SB3's wrappers (Monitor)."""
    while not isinstance(env, TrainingSeeds):
        env = env.env
    return env.episodes


def restore(model: MaskedDoubleDQN, cfg: DoubleDQNConfig, out: Path) -> tuple[TrainClock, dict | None]:
    """Load the checkpoint of ``out`` (a double_dqn run of ``cfg``) into ``model``, with the env back at the
    start of the episode in progress: ``(clock, validation record)``."""
    import random

    import torch

    snapshot = read_checkpoint(out)
    check_resume(snapshot, agent="double_dqn", env="aggregation", config=cfg.to_dict())
    state, meta = snapshot.torch(LEARNER_FILE), snapshot.meta
    try:
        model.policy.load_state_dict(state["policy"])
        model.policy.optimizer.load_state_dict(state["optimizer"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{snapshot.file(LEARNER_FILE)}: does not fit this Double DQN ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0][:200]})") from None
    try:
        restore_replay(model, snapshot.arrays(REPLAY_FILE))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{snapshot.file(REPLAY_FILE)}: does not fit this replay buffer ({exc})") from None
    vec = model.get_env()
    try:
        for k in COUNTERS:
            setattr(model, k, int(meta["counters"][k]))
        model.exploration_rate = float(meta["exploration_rate"])
        model.explore_rng.bit_generator.state = meta["explore_rng"]
        seeds = vec.envs[0]
        while not isinstance(seeds, TrainingSeeds):
            seeds = seeds.env
        seeds.episodes = int(meta["training_episodes"]) - 1  # the episode in progress resets again
        version, internal, gauss = meta["python_rng"]
        clock = TrainClock(float(meta["train_wall_s"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{snapshot.path / 'meta.json'}: counters or RNG state unusable ({exc})") from None
    obs = vec.reset()
    actions = snapshot.arrays(REPLAY_FILE)["episode_actions"]
    for a in actions:
        obs, _, dones, _ = vec.step(np.array([a]))
        if dones.any():
            raise CheckpointError(f"{snapshot.file(REPLAY_FILE)}: replaying the episode in progress ended it early")
    model.episode_actions = [int(a) for a in actions]
    model._last_obs = obs
    model._last_episode_starts = np.full(vec.num_envs, len(actions) == 0)
    torch.set_rng_state(state["torch_rng"])
    random.setstate((version, tuple(internal), gauss))
    return clock, snapshot.json(VALIDATION_FILE)


def model_meta(model: MaskedDoubleDQN, cfg: DoubleDQNConfig) -> dict:
    return {"agent": "double_dqn", "env": "aggregation", "version": __version__, "config": cfg.to_dict(),
            "training_seeds": training_seed_range(cfg.seed), "library": "stable-baselines3",
            "library_version": sb3_version, "train_wall_s": model.train_clock.total_s(),
            "step": int(model.num_timesteps), "episode": int(model._episode_num)}


def save_model(model: MaskedDoubleDQN, cfg: DoubleDQNConfig, out: Path, validation: dict | None = None) -> None:
    """The evaluable model: the ``model/`` snapshot (model.pt: the policy's state_dict, meta.json)."""
    meta = model_meta(model, cfg)
    if validation is not None:
        meta["validation"] = validation
    write_snapshot(out / MODEL_DIR, meta, {WEIGHTS_FILE: torch_bytes({"policy": model.policy.state_dict()})})


def train(cfg: DoubleDQNConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed)
    total = cfg.steps or int(round(cfg.episodes * mean_episode_length(cfg.scenario)))
    model = build_model(cfg, training_env(cfg.scenario, cfg.seed))
    model.episode_actions = []  # of the episode in progress (a checkpoint replays them)
    validate = BestOnValidation(cfg, out) if cfg.validate_every else None
    if resume:
        model.train_clock, record = restore(model, cfg, out)
        if validate and record:
            validate.record = record
    else:
        model.train_clock = TrainClock()
        fit_input_scaling(model, cfg)
    model.set_logger(make_logger(out, int(model.num_timesteps) if resume else None))
    remaining = total - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=TrainingCallback(cfg, out, total, progress, validate),
                    reset_num_timesteps=not resume, log_interval=1)
    if validate:
        validate(model)  # the final weights compete too
    save_checkpoint(model, cfg, out, validate)
    return {"step": int(model.num_timesteps), "episode": int(model._episode_num)}


class DoubleDQNPolicy:
    """A trained Double DQN behind the policy interface. With ``instance_episodes`` > 0 (the paper's
    protocol) it fine-tunes a copy of the network on each new instance at its first step and plays the
    best assignment found (``finetune.fine_tune``); with 0 it acts greedily over the masked Q-values."""

    name = "double_dqn"
    reset_options = None

    def __init__(self, env, model: MaskedDoubleDQN, cfg: DoubleDQNConfig, weights: dict):
        self.env, self.model, self.cfg, self.weights = env, model, cfg, weights
        self.seed = cfg.seed
        self._plan: list[int] = []
        self._plan_for = None

    @classmethod
    def load(cls, env, weights: dict, cfg: DoubleDQNConfig) -> DoubleDQNPolicy:
        model = build_model(cfg, env)
        model.policy.load_state_dict(weights["policy"])
        return cls(env, model, cfg, weights)

    def reset(self, seed: int | None = None) -> None:
        self.seed = self.cfg.seed if seed is None else int(seed)

    def greedy(self, observation: dict) -> int:
        action, _ = self.model.predict(observation, deterministic=True)
        return int(action)

    def act(self, observation: dict) -> int:
        if self.cfg.instance_episodes <= 0:
            return self.greedy(observation)
        from .finetune import fine_tune

        core = self.env.unwrapped
        if self._plan_for is not core.state:  # a new episode: search this instance
            self._plan = fine_tune(self.weights, self.cfg, core.config, core.instance, seed=self.seed)
            self._plan_for = core.state
            self._played = 0
        step = self._played
        self._played += 1
        if step < len(self._plan) and observation["action_mask"][self._plan[step]]:
            return self._plan[step]
        return self.greedy(observation)  # the replay is exact; a guard, never reached in tests
