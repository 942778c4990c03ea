"""Training Double DQN on Aggregation-v1 with stable-baselines3: tqdm progress, CSV + TensorBoard through
SB3's logger (plus each episode's EDR, energy reduction and delay), checkpoints at episode ends, and
``--resume`` from the last one. The evaluable model is ``model.pt`` (a state_dict) + ``meta.json``: the
weights whose greedy policy did best on fixed validation instances (the env's return at its default
weights: EDR with violations charged; ``validation.json`` has every validation); the ``checkpoint/``
folder holds the latest SB3 zip and replay buffer for resuming (pickles: trust only your own)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import __version__ as sb3_version
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from tqdm import tqdm

from agents.common import (
    CHECKPOINT_DIR,
    META_FILE,
    WEIGHTS_FILE,
    TrainClock,
    read_meta,
    save_weights,
    setup_torch,
    training_seed,
    training_seed_range,
    write_json,
)
from leo_envs import __version__, aggregation_v1

from .agent import MaskedDoubleDQN
from .config import DoubleDQNConfig
from .network import PerSatelliteDQNPolicy

EPISODE_METRICS = ("edr_j_per_s", "energy_reduction", "delay_increment_s", "deadline_violations")
VALIDATION_SEED = 3_000_000  # validation instance i resets with this + i (evaluate.py uses 1000 s + e)
VALIDATION_FILE = "validation.json"


def mean_episode_length(scenario: str, samples: int = 20) -> float:
    env = aggregation_v1.env(scenario)
    lengths = []
    for seed in range(samples):
        env.reset(seed=10_000 + seed)
        lengths.append(max(env.unwrapped.instance.num_transfers, 1))
    return float(np.mean(lengths))


QUICK_EPISODES = 150  # make reproduce's budget per traffic level (the paper: 500)


def quick_steps(scenario: str) -> int:
    """The quick budget in steps: QUICK_EPISODES episodes of the scenario's mean length."""
    return int(round(QUICK_EPISODES * mean_episode_length(scenario)))


def random_observations(scenario: str, episodes: int, seed: int) -> np.ndarray:
    """Observations of ``episodes`` episodes under random masked actions (instances apart from the
    evaluation's, which reset with seeds 1000 s + e)."""
    env = aggregation_v1.env(scenario)
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
    """Maps the reset seeds SB3 passes (the run seed, then none) into the run's training range, so no
    training instance is an evaluation (1000 s + e) or validation instance."""

    def __init__(self, env: gym.Env, run_seed: int):
        super().__init__(env)
        self.run_seed = run_seed

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            seed = training_seed(self.run_seed, seed - self.run_seed)
        return self.env.reset(seed=seed, options=options)


def training_env(scenario: str, run_seed: int):
    return TrainingSeeds(aggregation_v1.env(scenario, **TRAINING_REWARD), run_seed)


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
    env = aggregation_v1.env(scenario)
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

    def __init__(self, cfg: DoubleDQNConfig, out: Path, resume: bool):
        self.cfg, self.out = cfg, out
        path = out / VALIDATION_FILE
        # a fresh run into an old directory starts a fresh record (the old best belongs to other weights)
        resumed = resume and path.is_file()
        self.record = json.loads(path.read_text()) if resumed else {"best": None, "history": []}

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
        self.episodes = 0

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.model.num_timesteps, desc="double_dqn", unit="step",
                        disable=not self.progress)
        every = self.cfg.checkpoint_every
        self.next_checkpoint = (self.model.num_timesteps // every + 1) * every

    def _on_step(self) -> bool:
        self.bar.update(1)
        for done, info in zip(self.locals["dones"], self.locals["infos"]):
            if done:
                for k in EPISODE_METRICS:
                    self.logger.record_mean(f"episode/{k}", info[k])
                self.episodes += 1
                if self.validate and self.episodes % self.cfg.validate_every == 0:
                    self.validate(self.model)
                if self.num_timesteps >= self.next_checkpoint:
                    save_checkpoint(self.model, self.cfg, self.out)
                    self.next_checkpoint += self.cfg.checkpoint_every
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


def save_checkpoint(model: MaskedDoubleDQN, cfg: DoubleDQNConfig, out: Path) -> None:
    ck = out / CHECKPOINT_DIR
    ck.mkdir(parents=True, exist_ok=True)
    model.save(ck / "sb3_model.zip")
    model.save_replay_buffer(ck / "replay_buffer.pkl")
    write_json(ck / META_FILE, model_meta(model, cfg))
    if not cfg.validate_every:  # without validation the evaluable model is the latest
        save_model(model, cfg, out)


def model_meta(model: MaskedDoubleDQN, cfg: DoubleDQNConfig) -> dict:
    return {"agent": "double_dqn", "env": "aggregation", "version": __version__, "config": cfg.to_dict(),
            "training_seeds": training_seed_range(cfg.seed), "library": "stable-baselines3",
            "library_version": sb3_version, "train_wall_s": model.train_clock.total_s(),
            "step": int(model.num_timesteps), "episode": int(model._episode_num)}


def save_model(model: MaskedDoubleDQN, cfg: DoubleDQNConfig, out: Path, validation: dict | None = None) -> None:
    """The evaluable model: model.pt (state_dict) + meta.json."""
    save_weights(out / WEIGHTS_FILE, {"policy": model.policy.state_dict()})
    meta = model_meta(model, cfg)
    if validation is not None:
        meta["validation"] = validation
    write_json(out / META_FILE, meta)


def train(cfg: DoubleDQNConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed)
    total = cfg.steps or int(round(cfg.episodes * mean_episode_length(cfg.scenario)))
    env = training_env(cfg.scenario, cfg.seed)
    ck = out / CHECKPOINT_DIR / "sb3_model.zip"
    if resume and ck.is_file():
        model = MaskedDoubleDQN.load(ck, env=env, device="cpu")  # our own checkpoint: trusted
        model.load_replay_buffer(out / CHECKPOINT_DIR / "replay_buffer.pkl")
        model.train_clock = TrainClock(read_meta(out / CHECKPOINT_DIR).get("train_wall_s", 0.0))
    else:
        model = build_model(cfg, env)
        model.train_clock = TrainClock()
        fit_input_scaling(model, cfg)
    model.set_logger(configure(str(out), ["csv", "tensorboard"]))
    validate = BestOnValidation(cfg, out, resume=resume and ck.is_file()) if cfg.validate_every else None
    remaining = total - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=TrainingCallback(cfg, out, total, progress, validate),
                    reset_num_timesteps=not resume, log_interval=1)
    if validate:
        validate(model)  # the final weights compete too
    save_checkpoint(model, cfg, out)
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
