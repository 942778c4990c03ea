"""The default iridium scenario sits in the offloading paper's regime (docs/physics.md: the queues and
the calibration against the papers)."""

import numpy as np
import pytest

from agents.baselines import make_offload_routing_baseline
from leo_envs import offload_routing_v3

SEEDS = (0, 1, 2)


def episode_metrics(name: str, seed: int) -> dict:
    env = offload_routing_v3.parallel_env("iridium")
    obs, _ = env.reset(seed=seed)
    policy = make_offload_routing_baseline(name, env, seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(policy.act(obs))
    return infos["sat_0"]


@pytest.fixture(scope="module")
def results() -> dict:
    names = ("full_local", "full_offload", "congestion_aware")
    return {n: {k: np.mean([episode_metrics(n, s)[k] for s in SEEDS])
                for k in ("mean_delay_s", "peak_isl_utilization", "completion_rate")} for n in names}


def test_full_local_delay_in_paper_regime(results):
    assert 1.6 <= results["full_local"]["mean_delay_s"] <= 2.1


def test_full_offload_faster_than_local_and_loads_the_isls(results):
    off = results["full_offload"]
    assert 1.1 <= off["mean_delay_s"] <= 1.5
    assert off["mean_delay_s"] < results["full_local"]["mean_delay_s"]
    assert off["peak_isl_utilization"] >= 0.8


def test_congestion_aware_beats_both(results):
    ca = results["congestion_aware"]["mean_delay_s"]
    assert ca < results["full_offload"]["mean_delay_s"] and ca < results["full_local"]["mean_delay_s"]
    assert results["congestion_aware"]["peak_isl_utilization"] < results["full_offload"]["peak_isl_utilization"]
    assert all(r["completion_rate"] > 0.9 for r in results.values())
