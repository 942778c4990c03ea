"""offload_routing_v3 as a stable-baselines3 vector env through SuperSuit (parameter sharing: one vector
slot per satellite, all sharing one policy).

SuperSuit 3.11's SB3 wrapper seeds by calling ``venv.seed``, which its ``ConcatVecEnv`` no longer has
(seeding moved to ``reset(seed=...)``); ``SeededSB3VecEnv`` keeps the seed and hands it to the next reset,
so ``DQN(..., seed=k)`` and ``PPO(..., seed=k)`` work.

This path is UNMASKED: SuperSuit does not enforce action masks, so a learner on it plays masked actions (the env
holds a masked action's data for the slot and counts it in ``masked_actions``). The masked, parameter-shared path
is ``ppo_sb3`` (sb3-contrib's MaskablePPO on ``agents.sb3_offload_vec_env.OffloadRoutingVecEnv``).

At an episode's end SuperSuit 3.11's ``pettingzoo_env_to_vec_env_v1`` merges the new episode's reset info
over the last step's, so the final metrics would come out as the next episode's first values
(``metrics_final`` False), and it writes ``terminal_observation`` into the env's info dicts, which the
envs share between agents (every slot got the last agent's). ``EpisodeEndVecEnv`` keeps SB3's meaning:
the done step's info is the last step's own, with each slot's own ``terminal_observation``; the new
episode's reset infos are in its ``reset_infos``.
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector.utils import iterate
from supersuit.vector.markov_vector_wrapper import MarkovVectorEnv
from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper


class EpisodeEndVecEnv(MarkovVectorEnv):
    """SuperSuit's ``MarkovVectorEnv`` (one slot per agent, reset when every agent is done) whose done step
    returns the last step's infos, not the next episode's reset infos."""

    def __init__(self, par_env):
        super().__init__(par_env)
        self.reset_infos: list[dict] = []

    def reset(self, seed=None, options=None):
        observations, self.reset_infos = super().reset(seed=seed, options=options)
        return observations, self.reset_infos

    def step(self, actions):
        par, agents = self.par_env, self.par_env.possible_agents
        actions = list(iterate(self.action_space, actions))
        live = set(par.agents)
        observations, rewards, terms, truncs, infos = par.step(
            {agent: actions[i] for i, agent in enumerate(agents) if agent in live})
        env_done = bool((np.fromiter(terms.values(), bool) | np.fromiter(truncs.values(), bool)).all())
        rews = np.array([rewards.get(agent, 0) for agent in agents], dtype=np.float32)
        tms = np.array([terms.get(agent, False) for agent in agents], dtype=np.uint8)
        tcs = np.array([truncs.get(agent, False) for agent in agents], dtype=np.uint8)
        if env_done:  # a copy per slot: the env's agents share one info dict
            infs = [{**infos.get(agent, {}), "terminal_observation": observations[agent]} for agent in agents]
            out, _ = self.reset()
        else:
            infs = [dict(infos.get(agent, {})) for agent in agents]
            out = self.concat_obs(observations)
        if not (self.black_death or par.agents == agents):
            raise ValueError("EpisodeEndVecEnv: every agent must stay until the episode ends (no agent death)")
        return out, rews, tms, tcs, infs


class SeededSB3VecEnv(SB3VecEnvWrapper):
    def __init__(self, venv):
        super().__init__(venv)
        self._next_seed = None

    def seed(self, seed=None):
        self._next_seed = seed
        return [seed] * self.num_envs

    def reset(self, seed=None, options=None):
        seed = seed if seed is not None else self._next_seed
        self._next_seed = None
        observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
        return observations


def make_sb3_vec_env(parallel_env, copies: int = 1, num_cpus: int = 0) -> SeededSB3VecEnv:
    """``copies`` copies of a PettingZoo parallel env, every agent a slot of one SB3 ``VecEnv``."""
    import supersuit as ss

    concat = ss.concat_vec_envs_v1(EpisodeEndVecEnv(parallel_env), copies, num_cpus=num_cpus,
                                   base_class="gymnasium")
    return SeededSB3VecEnv(concat)
