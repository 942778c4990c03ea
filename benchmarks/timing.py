"""Timing helpers shared by the benchmarks (numpy only, so the scale workers' peak memory stays their own)."""

from __future__ import annotations

import time

import numpy as np


def seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_interleaved(measures: dict, repeats: int, cost=lambda result: result) -> dict:
    """Run the measurements (key -> function) in turn, ``repeats`` rounds, and keep each one's result of
    least ``cost``: a slow spell of a shared machine then hits ours and the reference alike."""
    best: dict = {}
    for _ in range(repeats):
        for key, measure in measures.items():
            result = measure()
            if key not in best or cost(result) < cost(best[key]):
                best[key] = result
    return best


def step_time(env, rng: np.random.Generator, api: str, steps: int) -> float:
    """Seconds spent in ``steps`` offload_routing steps through the ``"dict"`` or ``"arrays"`` API, with
    random masked actions (uniform over each agent's allowed actions) picked outside the clock. An episode
    that ends is reset (outside the clock, next seed) and the count goes on, as a training loop runs."""
    agents = env.possible_agents
    elapsed = 0.0
    for _ in range(steps):
        if not env.agents:
            env.reset(seed=int(rng.integers(2**31)))
        _, mask = env.observation_arrays()
        actions = (rng.random(mask.shape) * mask).argmax(axis=1)
        if api == "arrays":
            t0 = time.perf_counter()
            env.step_arrays(actions)
        else:
            action_dict = dict(zip(agents, actions.tolist()))
            t0 = time.perf_counter()
            env.step(action_dict)
        elapsed += time.perf_counter() - t0
    return elapsed
