"""Ray RLlib (new API stack) pieces for the leo envs: an env creator, an action-masking PPO module, a callback
that puts the envs' end-of-episode metrics into RLlib's results, and one PPO config for a shared policy.

- ``make_offload_routing_env(config)``: offload_routing_v3 as an RLlib ``MultiAgentEnv``
  (``ParallelPettingZooEnv``), rewards optionally scaled (``reward_factor``), observations renamed for the
  masking module, an agent with nothing to decide
  offered "hold" as its one allowed action (so its sample carries no gradient), infos cut to their numeric
  scalars (shared by all agents of a step, which keeps episodes small to ship between processes).
- ``ActionMaskingPPOModule``: PPO's default torch module with masked logits, built on
  ``DefaultPPOTorchRLModule`` (RLlib's own example module still subclasses the deprecated
  ``PPOTorchRLModule``).
- ``EpisodeMetricsCallback``: at every episode end logs the final step's domain metrics (``EPISODE_METRICS``:
  offload_routing's headline ``mean_task_cost_s``, completion and drop rates; Aggregation's EDR, ...) with
  the env runner's ``metrics_logger``; they appear as ``result["env_runners"][name]``, a mean over the same
  window of recent episodes as ``episode_return_mean``.
- ``ppo_config(...)``: the multi-agent PPO config with one shared policy, the module and the callback.

RLlib 2.60 logs ``RLModule(config=[RLModuleConfig object]) has been deprecated`` from inside
``RLModule.__init__`` for every module, its default PPO module included (ray-project/ray#51630): not a
deprecated API of ours. Importing this module silences exactly that message (in the driver and, because
every env runner imports this module to build ``ActionMaskingPPOModule``, in the workers); every other
deprecation warning still prints.
"""

from __future__ import annotations

import logging
import math
import numbers

import numpy as np
from gymnasium import spaces
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.rllib.utils.torch_utils import FLOAT_MIN

from leo_envs.wrappers import HOLD, ObservationMap

OFFLOAD_ROUTING_ENV = "leo_offload_routing"
SHARED_POLICY = "shared"
EPISODE_METRICS = (
    # offload_routing_v3 (headline first)
    "mean_task_cost_s", "mean_delay_s", "completion_rate", "drop_rate", "masked_actions_total",
    # Aggregation-v2 (headline first)
    "edr_j_per_s", "energy_reduction", "deadline_violations",
)
_RLMODULECONFIG_NOTICE = "RLModule(config=[RLModuleConfig object])"


class _DropRLModuleConfigNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _RLMODULECONFIG_NOTICE not in record.getMessage()


def _silence_rlmoduleconfig_notice() -> None:
    log = logging.getLogger("ray._common.deprecation")
    if not any(isinstance(f, _DropRLModuleConfigNotice) for f in log.filters):
        log.addFilter(_DropRLModuleConfigNotice())


_silence_rlmoduleconfig_notice()


# --- env ---------------------------------------------------------------------------------------------------


def _scalars(info: dict) -> dict:
    return {k: v for k, v in info.items() if isinstance(v, numbers.Number)}


def reward_factor(reward_mode: str, reward_scale: float, n_agents: int) -> float:
    """What ``MaskedObservationView`` multiplies offload_routing's rewards by: ``reward_scale``, and in
    ``team`` mode also ``1 / n_agents``. The hop rewards of a slot sum to its team reward, so both modes then
    give a satellite the same mean reward per slot (minus the slot's cost per satellite, times
    ``reward_scale``). Why scale at all: RLlib's PPO clips each row's squared value error at
    ``vf_clip_param`` (10 by default) and a clipped row gives the critic no gradient; the env's returns
    (seconds of task cost summed over a horizon, hundreds to thousands) clip nearly every row."""
    if not (math.isfinite(reward_scale) and reward_scale > 0):
        raise ValueError(f"reward_scale: {reward_scale} must be a finite number > 0")
    if n_agents < 1:
        raise ValueError(f"n_agents: {n_agents} must be >= 1")
    return reward_scale / n_agents if reward_mode == "team" else reward_scale


class MaskedObservationView(ObservationMap):
    """``{"observations", "action_mask"}`` (float mask) as RLlib's masking modules read them; an all-zero
    mask (nothing to decide, or the episode's last observation) becomes "hold" only; numeric info scalars;
    rewards times ``reward_factor`` (``reward_factor``; the infos keep the env's own figures)."""

    def __init__(self, env, reward_factor: float = 1.0):
        super().__init__(env)
        space = env.observation_space(env.possible_agents[0])
        n = space["action_mask"].shape[0]
        view = spaces.Dict({"observations": space["observation"],
                            "action_mask": spaces.Box(0.0, 1.0, (n,), np.float32)})
        self._spaces = dict.fromkeys(env.possible_agents, view)
        self.reward_factor = float(reward_factor)

    def observation_space(self, agent):
        return self._spaces[agent]

    def map_observations(self, obs: dict) -> dict:
        out = {}
        for agent, o in obs.items():
            mask = o["action_mask"].astype(np.float32)
            if not mask.any():
                mask[HOLD] = 1.0
            out[agent] = {"observations": o["observation"], "action_mask": mask}
        return out

    @staticmethod
    def _infos(infos: dict) -> dict:
        cut: dict[int, dict] = {}  # one scalar dict per distinct info object (the env shares one per step)
        out = {}
        for agent, info in infos.items():
            if id(info) not in cut:
                cut[id(info)] = _scalars(info)
            out[agent] = cut[id(info)]
        return out

    def reset(self, seed=None, options=None):
        obs, infos = super().reset(seed=seed, options=options)
        return obs, self._infos(infos)

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = super().step(actions)
        if self.reward_factor != 1.0:
            rewards = {a: float(r) * self.reward_factor for a, r in rewards.items()}
        return obs, rewards, terminations, truncations, self._infos(infos)


def make_offload_routing_env(config: dict) -> ParallelPettingZooEnv:
    """Env creator for ``ray.tune.registry.register_env``: ``config`` holds ``parallel_env``'s keywords and
    optionally ``reward_scale`` (``reward_factor``; default 1: the env's rewards as they are)."""
    from leo_envs import offload_routing_v3

    config = dict(config)
    scenario = config.pop("scenario", "iridium")
    reward_scale = float(config.pop("reward_scale", 1.0))
    env = offload_routing_v3.parallel_env(scenario, **config)
    factor = reward_factor(env.config.reward_mode, reward_scale, len(env.possible_agents))
    return ParallelPettingZooEnv(MaskedObservationView(env, factor))


# --- module ------------------------------------------------------------------------------------------------


class ActionMaskingPPOModule(DefaultPPOTorchRLModule):
    """PPO's default torch module on ``observation["observations"]``; logits of actions whose
    ``observation["action_mask"]`` is 0 are set to the float minimum (probability 0)."""

    def __init__(self, *, observation_space=None, **kwargs):
        if not (isinstance(observation_space, spaces.Dict)
                and {"observations", "action_mask"} <= set(observation_space.spaces)):
            raise ValueError(f"observation_space must be a Dict with 'observations' and 'action_mask', "
                             f"not {observation_space}")
        self._space_with_mask = observation_space
        super().__init__(observation_space=observation_space["observations"], **kwargs)

    def setup(self):
        super().setup()  # the networks see the observations only
        self.observation_space = self._space_with_mask

    @staticmethod
    def _split(batch: dict):
        obs = batch[Columns.OBS]
        if isinstance(obs, dict):
            return obs["action_mask"], {**batch, Columns.OBS: obs["observations"]}
        return batch["action_mask"], batch

    @staticmethod
    def _mask(out: dict, mask):
        import torch

        out[Columns.ACTION_DIST_INPUTS] = out[Columns.ACTION_DIST_INPUTS] + torch.clamp(torch.log(mask),
                                                                                        min=FLOAT_MIN)
        return out

    def _forward(self, batch, **kwargs):
        mask, batch = self._split(batch)
        return self._mask(super()._forward(batch, **kwargs), mask)

    def _forward_train(self, batch, **kwargs):
        mask, batch = self._split(batch)
        return self._mask(super()._forward_train(batch, **kwargs), mask)

    def compute_values(self, batch, embeddings=None):
        if embeddings is None:
            _, batch = self._split(batch)
        return super().compute_values(batch, embeddings)


# --- metrics -----------------------------------------------------------------------------------------------


def final_info(episode) -> dict:
    """The info dict of an episode's last step: a single-agent episode's, or for a multi-agent episode the
    first agent's that holds any of ``EPISODE_METRICS`` (the envs give every agent the same team metrics)."""
    infos = episode.get_infos(-1)
    if isinstance(episode, MultiAgentEpisode):
        return next((i for i in infos.values() if any(k in i for k in EPISODE_METRICS)), {})
    return infos or {}


def episode_metrics(info: dict) -> dict[str, float]:
    """The ``EPISODE_METRICS`` an info dict holds, as floats; none if the info says they are not final
    (``metrics_final`` False: running values). ``mean_task_cost_s`` is left out when no task was scored yet
    (the env then reports a placeholder 0.0: episodes shorter than one TTL)."""
    out = {}
    if info.get("metrics_final") is False:
        return out
    for key in EPISODE_METRICS:
        value = info.get(key)
        if isinstance(value, numbers.Number) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    if info.get("scored_tasks") == 0:
        out.pop("mean_task_cost_s", None)
    return out


class EpisodeMetricsCallback(RLlibCallback):
    """Logs ``episode_metrics(final_info(episode))`` at every episode end; reported in
    ``result["env_runners"]`` as the mean over the window RLlib uses for ``episode_return_mean``."""

    def on_episode_end(self, *, episode, env_runner=None, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        window = 100
        if env_runner is not None:
            cfg = env_runner.config
            window = max(1, math.ceil(cfg.metrics_num_episodes_for_smoothing / (cfg.num_env_runners or 1)))
        for key, value in episode_metrics(final_info(episode)).items():
            metrics_logger.log_value(key, value, reduce="mean", window=window)


# --- config ------------------------------------------------------------------------------------------------


def ppo_config(env: str = OFFLOAD_ROUTING_ENV, env_config: dict | None = None, *, num_env_runners: int = 2,
               rollout_fragment_length: int | str = "auto", train_batch_size: int = 200, minibatch_size: int = 50,
               num_epochs: int = 1, hidden: tuple[int, ...] = (64, 64), seed: int | None = None,
               vf_clip_param: float = 100.0) -> PPOConfig:
    """Multi-agent PPO, every agent on the one ``SHARED_POLICY`` with ``ActionMaskingPPOModule``, and
    ``EpisodeMetricsCallback``. ``env`` must be registered with Ray (``register_env``) in this process.
    ``vf_clip_param``: RLlib clips each row's squared value error at it (a clipped row trains nothing);
    scale the rewards to returns of a few units (``reward_scale`` in ``env_config``) so it rarely bites."""
    return (
        PPOConfig()
        .environment(env, env_config=env_config or {})
        .env_runners(num_env_runners=num_env_runners, rollout_fragment_length=rollout_fragment_length)
        .training(train_batch_size_per_learner=train_batch_size, minibatch_size=minibatch_size,
                  num_epochs=num_epochs, vf_clip_param=vf_clip_param)
        .multi_agent(policies={SHARED_POLICY}, policy_mapping_fn=lambda agent_id, *a, **k: SHARED_POLICY)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
            SHARED_POLICY: RLModuleSpec(module_class=ActionMaskingPPOModule,
                                        model_config={"head_fcnet_hiddens": list(hidden)})}))
        .callbacks(EpisodeMetricsCallback)
        .debugging(seed=seed)
    )


def env_runner_node_ids(algo) -> list[str]:
    """Ray node id of every remote env runner of ``algo`` (where the sampling runs)."""
    import ray

    return algo.env_runner_group.foreach_env_runner(lambda runner: ray.get_runtime_context().get_node_id(),
                                                    local_env_runner=False)
