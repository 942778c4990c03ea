"""offload_routing_v1 as a stable-baselines3 vector env through SuperSuit (parameter sharing: one vector
slot per satellite, all sharing one policy).

SuperSuit 3.11's SB3 wrapper seeds by calling ``venv.seed``, which its ``ConcatVecEnv`` no longer has
(seeding moved to ``reset(seed=...)``); ``SeededSB3VecEnv`` keeps the seed and hands it to the next reset,
so ``DQN(..., seed=k)`` and ``PPO(..., seed=k)`` work. SuperSuit does not enforce action masks: the env
treats a masked action as "hold" and counts it.
"""

from __future__ import annotations

from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper


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

    markov = ss.pettingzoo_env_to_vec_env_v1(parallel_env)
    concat = ss.concat_vec_envs_v1(markov, copies, num_cpus=num_cpus, base_class="gymnasium")
    return SeededSB3VecEnv(concat)
