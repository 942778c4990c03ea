"""offload_routing_v3 as a native TorchRL ``EnvBase`` on the env's array API (``step_arrays``).

TorchRL's ``PettingZooWrapper`` converts every agent's observation, mask, reward and info value into tensors one
by one at every step; this env moves whole arrays with ``torch.from_numpy``, so a step costs a few tensor
constructions whatever the number of satellites. The layout follows TorchRL's multi-agent envs (VMAS, as BenchMARL
expects): one agent group, ``"agents"``, every satellite a row of it::

    ("agents", "observation")  (N, D) float32      ("agents", "action")  (N,) int64, categorical
    ("agents", "action_mask")  (N, A) bool         ("agents", "reward")  (N, 1) float32 (in "next")
    "state"                    (N * D,) float32    the global state (``env.state()``) for centralised critics
    "done", "terminated", "truncated"  (1,) bool   for the whole team: every satellite ends together
    ("episode", "metrics")     (M,) float64        the episode's metrics (names: ``EPISODE_KEYS``) at its last step
    ("episode", "final")       (1,) bool           True at the episode's last step only

An idle satellite (nothing to decide: the env gives it an all-zero mask and ignores its action) gets a mask that
allows hold (action 0) only, so TorchRL's masked samplers and losses always see at least one allowed action; a
learner can tell idle rows by ``mask.sum(-1) == 1 and mask[..., 0]`` (see ``idle_rows``). The episode metrics are
in the tensordict at every step (static specs), zero except at the episode's last step, where ``("episode",
"final")`` is True; ``final_metrics(td)`` names them. They are one vector, not one key per metric: TorchRL copies,
checks and stacks every key at every step (a rollout step on tiny took 3.0 ms with 16 scalar keys, 2.3 ms with the
vector). Seeding: ``set_seed(s)`` seeds a generator that draws the seed of each following reset, so a seeded env
replays the same episodes bit for bit; ``seed_episodes(first)`` resets with ``first, first + 1, ...``.

``batch_size=()`` (one simulation) only for now; shapes are built as ``batch_size + (N, ...)`` so a batched version
with a leading K axis keeps the same keys.
"""

from __future__ import annotations

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Binary, Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from leo_envs import offload_routing_v3
from leo_envs.envs.offload_routing import OffloadRoutingEnv
from leo_envs.wrappers import HOLD, hold_when_idle

GROUP = "agents"
# the numeric episode metrics of the env's info (its docstring, "Info"), and the drop breakdown flattened
EPISODE_METRICS = ("mean_task_cost_s", "total_cost_s", "scored_tasks", "mean_delay_s", "p95_delay_s",
                   "completion_rate", "drop_rate", "mean_isl_utilization", "peak_isl_utilization", "csat_load_jain",
                   "finished_tasks", "arrived_tasks", "masked_actions_total")
DROP_REASONS = ("ttl", "buffer", "sat_failure")
EPISODE_KEYS = EPISODE_METRICS + tuple(f"drops_{r}" for r in DROP_REASONS)


def idle_rows(mask: torch.Tensor) -> torch.Tensor:
    """(..., N) bool: the rows of a ``hold_when_idle`` mask whose only allowed action is hold (nothing to decide)."""
    return mask[..., HOLD] & (mask.sum(-1) == 1)


def episode_metrics(info: dict) -> np.ndarray:
    """The values of ``EPISODE_KEYS`` in the env's info, as float64."""
    drops = info["drops_by_reason"]
    return np.array([info[k] for k in EPISODE_METRICS] + [drops[r] for r in DROP_REASONS], dtype=np.float64)


class OffloadRoutingTorchRLEnv(EnvBase):
    """offload_routing_v3 with TorchRL's multi-agent layout (module docstring). ``scenario`` and ``overrides`` go
    to ``offload_routing_v3.parallel_env``; ``env`` takes a built ``OffloadRoutingEnv`` instead."""

    def __init__(self, scenario: str = "iridium", *, env: OffloadRoutingEnv | None = None, seed: int | None = None,
                 device: str | torch.device = "cpu", batch_size: tuple[int, ...] | torch.Size = (), **overrides):
        if tuple(batch_size) != ():
            raise ValueError(f"batch_size: {tuple(batch_size)}; only () (one simulation) is supported")
        if torch.device(device).type != "cpu":
            raise ValueError(f"device: {device}; the simulation runs on the CPU (move the data in the policy)")
        if env is not None and overrides:
            raise ValueError(f"overrides {sorted(overrides)} given with a built env; configure the env instead")
        self.pz_env = env if env is not None else offload_routing_v3.parallel_env(scenario, **overrides)
        super().__init__(device=device, batch_size=torch.Size(batch_size))
        sim = self.pz_env.sim
        self.n_agents, self.obs_dim, self.n_actions = sim.n, sim.obs_dim, sim.n_actions
        self._seeds: np.random.Generator | None = None
        self._episode_seed: int | None = None
        self._episode_zero = torch.zeros(len(EPISODE_KEYS), dtype=torch.float64)
        self._make_specs()
        if seed is not None:
            self.set_seed(seed)

    def _make_specs(self) -> None:
        n, d, a, dev, b = self.n_agents, self.obs_dim, self.n_actions, self.device, self.batch_size
        group_shape = b + (n,)
        episode = {"metrics": Unbounded(shape=b + (len(EPISODE_KEYS),), dtype=torch.float64, device=dev),
                   "final": Categorical(2, shape=b + (1,), dtype=torch.bool, device=dev)}
        self.observation_spec = Composite({
            GROUP: Composite({
                "observation": Bounded(0.0, torch.inf, shape=group_shape + (d,), dtype=torch.float32, device=dev),
                "action_mask": Binary(n=a, shape=group_shape + (a,), dtype=torch.bool, device=dev),
            }, shape=group_shape, device=dev),
            "state": Bounded(0.0, torch.inf, shape=b + (n * d,), dtype=torch.float32, device=dev),
            "episode": Composite(episode, shape=b, device=dev),
        }, shape=b, device=dev)
        self.action_spec = Composite({
            GROUP: Composite({"action": Categorical(a, shape=group_shape, dtype=torch.int64, device=dev)},
                             shape=group_shape, device=dev),
        }, shape=b, device=dev)
        self.reward_spec = Composite({
            GROUP: Composite({"reward": Unbounded(shape=group_shape + (1,), dtype=torch.float32, device=dev)},
                             shape=group_shape, device=dev),
        }, shape=b, device=dev)
        self.done_spec = Composite({k: Categorical(2, shape=b + (1,), dtype=torch.bool, device=dev)
                                    for k in ("done", "terminated", "truncated")}, shape=b, device=dev)

    # ------------------------------------------------------------------ EnvBase
    def _set_seed(self, seed: int | None) -> None:
        self._seeds = None if seed is None else np.random.default_rng(seed)
        self._episode_seed = None

    def seed_episodes(self, first: int) -> None:
        """Reset with the seeds ``first``, ``first + 1``, ... from now on (a training run's block of env seeds,
        ``agents.common.training_seed``) instead of drawing them; ``set_seed`` switches back to drawing."""
        self._seeds, self._episode_seed = None, int(first)

    def _next_seed(self) -> int | None:
        if self._episode_seed is not None:
            self._episode_seed += 1
            return self._episode_seed - 1
        return None if self._seeds is None else int(self._seeds.integers(2**63 - 1))

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        self.pz_env.reset(seed=self._next_seed())
        obs, mask = self.pz_env.observation_arrays()
        return self._output(obs, mask, None, self._episode_zero.clone(), False, False, False)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        actions = tensordict.get((GROUP, "action")).numpy()
        obs, mask, rewards, terminated, truncated, info = self.pz_env.step_arrays(actions)
        final = bool(info["metrics_final"])
        metrics = torch.from_numpy(episode_metrics(info)) if final else self._episode_zero.clone()
        reward = torch.from_numpy(rewards.astype(np.float32)).unsqueeze(-1)
        return self._output(obs, mask, reward, metrics, terminated, truncated, final)

    def _output(self, obs: np.ndarray, mask: np.ndarray, reward: torch.Tensor | None, metrics: torch.Tensor,
                terminated: bool, truncated: bool, final: bool) -> TensorDictBase:
        """One tensordict from whole arrays. ``obs`` is fresh at every env step, so it is shared, not copied.
        ``TensorDict._new_unsafe`` (tensordict's constructor without validation) skips the check of every leaf's
        shape and device, which the specs fix and ``check_env_specs`` verifies."""
        dev, b = self.device, self.batch_size
        observation = torch.from_numpy(obs)
        group = {"observation": observation, "action_mask": torch.from_numpy(hold_when_idle(mask))}
        if reward is not None:
            group["reward"] = reward
        flags = torch.from_numpy(np.array([[terminated or truncated], [terminated], [truncated], [final]]))
        episode = TensorDict._new_unsafe({"metrics": metrics, "final": flags[3]}, batch_size=b, device=dev)
        return TensorDict._new_unsafe({
            GROUP: TensorDict._new_unsafe(group, batch_size=b + (self.n_agents,), device=dev),
            "state": observation.reshape(*b, -1).clone(),
            "episode": episode,
            "done": flags[0],
            "terminated": flags[1],
            "truncated": flags[2],
        }, batch_size=b, device=dev)

    def close(self, *, raise_if_closed: bool = True) -> None:
        self.pz_env.close()
        super().close(raise_if_closed=raise_if_closed)


def final_metrics(tensordict: TensorDictBase) -> list[dict[str, float]]:
    """The metrics of every episode that ended in a rollout (its ``"next"`` entries), by name, in order."""
    episode = tensordict.get(("next", "episode"))
    final = episode.get("final").reshape(-1)
    rows = episode.get("metrics").reshape(-1, len(EPISODE_KEYS))[final]
    return [dict(zip(EPISODE_KEYS, row)) for row in rows.tolist()]


def random_masked_actions(mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A uniform random allowed action per row of a bool mask (..., A): argmax of uniform noise over the allowed."""
    noise = torch.rand(mask.shape, generator=generator).masked_fill_(~mask, -1.0)
    return noise.argmax(-1)


class RandomMaskedPolicy:
    """A TorchRL policy (tensordict in, tensordict out) playing uniform random allowed actions for ``group``."""

    def __init__(self, group: str = GROUP, seed: int = 0):
        self.group = group
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, tensordict: TensorDictBase) -> TensorDictBase:
        mask = tensordict.get((self.group, "action_mask"))
        tensordict.set((self.group, "action"), random_masked_actions(mask, self.generator))
        return tensordict
