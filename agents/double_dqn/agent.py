"""Double DQN with action masks on stable-baselines3.

SB3's ``DQN`` bootstraps from max_a Q_target(s', a) and ignores masks. ``MaskedDoubleDQN`` overrides
``train`` for the Double-DQN target
    y = r + gamma (1 - done) Q_target(s', argmax over unmasked a' of Q_online(s', a')),
applies the ``action_mask`` of Dict observations when acting (greedy and epsilon-random alike), and decays
epsilon per episode from ``epsilon_start`` (the paper: epsilon <- 0.995 epsilon). Everything else (replay,
logger, callbacks, save/load) is SB3's. SB3 ``.zip`` files are pickles: load only files you trust (your own
checkpoints).
"""

from __future__ import annotations

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DQN


def masked_argmax(q: th.Tensor, mask: th.Tensor) -> th.Tensor:
    """argmax over the unmasked actions (rows with no valid action fall back to the plain argmax)."""
    masked = q.masked_fill(~mask, float("-inf"))
    none = ~mask.any(dim=1, keepdim=True)
    return th.where(none, q, masked).argmax(dim=1)


class MaskedDoubleDQN(DQN):
    def __init__(self, *args, epsilon_decay: float = 0.995, epsilon_start: float = 1.0, **kwargs):
        self.epsilon_decay, self.epsilon_start = epsilon_decay, epsilon_start
        self.explore_rng = np.random.default_rng(kwargs.get("seed"))
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ the Double-DQN target
    def double_dqn_target(self, data) -> th.Tensor:
        with th.no_grad():
            next_mask = data.next_observations["action_mask"].bool()
            best = masked_argmax(self.q_net(data.next_observations), next_mask).unsqueeze(1)
            next_q = self.q_net_target(data.next_observations).gather(1, best)
            return data.rewards + (1 - data.dones) * self.gamma * next_q

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            target = self.double_dqn_target(data)
            current = self.q_net(data.observations).gather(1, data.actions.long())
            loss = F.smooth_l1_loss(current, target)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))

    # ------------------------------------------------------------------ acting with masks
    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        obs_t, vectorized = self.policy.obs_to_tensor(observation)
        mask = obs_t["action_mask"].bool()
        with th.no_grad():
            greedy = masked_argmax(self.q_net(obs_t), mask).cpu().numpy()
        if not deterministic:
            explore = self.explore_rng.random(len(greedy)) < self.exploration_rate
            scores = self.explore_rng.random(mask.shape) * mask.cpu().numpy()
            greedy = np.where(explore, scores.argmax(axis=1), greedy)
        if not vectorized:
            greedy = greedy[0]
        return greedy, state

    def _sample_action(self, learning_starts, action_noise=None, n_envs: int = 1):
        # SB3 samples unmasked random actions before learning_starts; we keep masks from the first step
        action, _ = self.predict(self._last_obs, deterministic=False)
        return action, action

    def _on_step(self) -> None:
        super()._on_step()
        self.exploration_rate = max(self.exploration_final_eps,
                                    self.epsilon_start * self.epsilon_decay**self._episode_num)
        self.logger.record("rollout/exploration_rate", self.exploration_rate)
