"""Training Double DQN on Aggregation-v0 with stable-baselines3: tqdm progress, CSV + TensorBoard through
SB3's logger (plus each episode's EDR, energy reduction and delay), checkpoints at episode ends, and
``--resume`` from the last one. The evaluable model is ``model.pt`` (a state_dict) + ``meta.json``; the
``checkpoint/`` folder holds SB3's zip and replay buffer for resuming (pickles: trust only your own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from tqdm import tqdm

from agents.common import CHECKPOINT_DIR, META_FILE, WEIGHTS_FILE, save_weights, setup_torch, write_json
from leo_envs import __version__, aggregation_v0

from .agent import MaskedDoubleDQN
from .config import DoubleDQNConfig
from .network import PerSatelliteDQNPolicy

EPISODE_METRICS = ("edr_j_per_s", "energy_reduction", "delay_increment_s", "deadline_violations")


def mean_episode_length(scenario: str, samples: int = 20) -> float:
    env = aggregation_v0.env(scenario)
    lengths = []
    for seed in range(samples):
        env.reset(seed=10_000 + seed)
        lengths.append(env.unwrapped.instance.transfer.size)
    return float(np.mean(lengths))


def build_model(cfg: DoubleDQNConfig, env, tensorboard: str | None = None) -> MaskedDoubleDQN:
    return MaskedDoubleDQN(
        PerSatelliteDQNPolicy, env, learning_rate=cfg.lr, gamma=cfg.gamma, epsilon_decay=cfg.epsilon_decay,
        exploration_final_eps=cfg.epsilon_min, buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts,
        batch_size=cfg.batch_size, train_freq=cfg.train_freq, target_update_interval=cfg.target_update_interval,
        policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, seed=cfg.seed, device="cpu",
        tensorboard_log=tensorboard,
    )


class TrainingCallback(BaseCallback):
    """Progress bar, per-episode metrics in the logger, checkpoints at episode ends."""

    def __init__(self, cfg: DoubleDQNConfig, out: Path, total: int, progress: bool):
        super().__init__()
        self.cfg, self.out, self.total, self.progress = cfg, out, total, progress
        self.next_checkpoint = None

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
    meta = {"agent": "double_dqn", "env": "aggregation", "version": __version__, "config": cfg.to_dict(),
            "step": int(model.num_timesteps), "episode": int(model._episode_num)}
    write_json(ck / META_FILE, meta)
    save_weights(out / WEIGHTS_FILE, {"policy": model.policy.state_dict()})
    write_json(out / META_FILE, meta)


def train(cfg: DoubleDQNConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setup_torch(cfg.seed)
    total = cfg.steps or int(round(cfg.episodes * mean_episode_length(cfg.scenario)))
    env = aggregation_v0.env(cfg.scenario)
    ck = out / CHECKPOINT_DIR / "sb3_model.zip"
    if resume and ck.is_file():
        model = MaskedDoubleDQN.load(ck, env=env, device="cpu")  # our own checkpoint: trusted
        model.load_replay_buffer(out / CHECKPOINT_DIR / "replay_buffer.pkl")
    else:
        model = build_model(cfg, env)
    model.set_logger(configure(str(out), ["csv", "tensorboard"]))
    remaining = total - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=TrainingCallback(cfg, out, total, progress), reset_num_timesteps=not resume,
                    log_interval=1)
    save_checkpoint(model, cfg, out)
    return {"step": int(model.num_timesteps), "episode": int(model._episode_num)}


class DoubleDQNPolicy:
    """A trained Double DQN behind the policy interface (greedy over the masked Q-values)."""

    name = "double_dqn"
    reset_options = None

    def __init__(self, env, model: MaskedDoubleDQN):
        self.env, self.model = env, model

    @classmethod
    def load(cls, env, weights: dict, cfg: DoubleDQNConfig) -> DoubleDQNPolicy:
        model = build_model(cfg, env)
        model.policy.load_state_dict(weights["policy"])
        return cls(env, model)

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, observation: dict) -> int:
        action, _ = self.model.predict(observation, deterministic=True)
        return int(action)

