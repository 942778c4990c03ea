"""offload_routing_v3 on TLE constellations: the same env as the preset it was exported from, and
full episodes on sets with holes or a decayed satellite."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from agents.baselines.offload_routing import make_offload_routing_baseline
from leo_envs import offload_routing_v3
from leo_envs.core import Constellation

DATA = Path(__file__).parent.parent / "data" / "tle"
HOLES = (5, 17, 40)  # tests/data/tle/make_fixtures.py
KEYS = ("mean_task_cost_s", "total_cost_s", "mean_delay_s", "completion_rate", "drop_rate", "arrived_tasks")


def _env(scenario: str, **kw):
    return offload_routing_v3.parallel_env(scenario, **kw)


@pytest.mark.parametrize("scenario", ["tiny", "iridium", "starlink_shell1"])
def test_tle_export_gives_the_same_ports_and_csats(scenario):
    preset = _env(scenario)
    tle = Constellation.from_preset(preset.config.constellation).to_tle()
    env = _env(scenario, constellation=tle)
    np.testing.assert_array_equal(env.sim.port_nbr, preset.sim.port_nbr)
    np.testing.assert_array_equal(env.sim.port_edge, preset.sim.port_edge)
    np.testing.assert_array_equal(env.sim.is_csat, preset.sim.is_csat)
    assert env.possible_agents == preset.possible_agents
    assert env.sim.period_s == pytest.approx(preset.sim.period_s, rel=1e-8)


def _episode(env, seed: int, baseline: str = "congestion_aware") -> dict:
    policy = make_offload_routing_baseline(baseline, env, seed=seed)
    env.reset(seed=seed)
    obs, mask = env.observation_arrays()
    info = {}
    while env.agents:
        obs, mask, _, _, _, info = env.step_arrays(policy.act_arrays(obs, mask))
        acc = env.sim.accounting()
        assert acc["arrived_tasks"] == acc["finished_tasks"] + acc["dropped_tasks"] + acc["in_flight_tasks"]
        assert acc["arrived_bits"] == pytest.approx(acc["done_bits"] + acc["dropped_bits"] + acc["in_flight_bits"],
                                                    rel=1e-9)
    assert info["metrics_final"]
    return info


def test_iridium_episode_from_its_tle_matches_the_preset_within_one_percent():
    tle = DATA / "iridium.tle"
    for seed in (0, 1):
        want = _episode(_env("iridium", max_cycles=600), seed)
        got = _episode(_env("iridium", max_cycles=600, constellation=tle), seed)
        assert want["arrived_tasks"] > 500
        for key in KEYS:
            assert got[key] == pytest.approx(want[key], rel=0.01, abs=1e-9), key


@pytest.mark.parametrize("unplaced", ["relay", "drop"])
def test_sets_with_holes_or_a_decayed_satellite_run_full_episodes(unplaced):
    holes = _env("iridium", max_cycles=400, constellation=str(DATA / "iridium_holes.tle"),
                 unplaced_satellites=unplaced)
    assert len(holes.possible_agents) == 63
    info = _episode(holes, seed=3)
    assert info["arrived_tasks"] > 200 and info["finished_tasks"] > 0
    # neighbours of a hole have no port towards it; the rest of the grid is the preset's
    full = _env("iridium", max_cycles=400, constellation=DATA / "iridium.tle")
    number = full.sim.constellation.catalog_numbers
    kept = ~np.isin(number, HOLES)
    want = np.where(np.isin(number[full.sim.port_nbr], HOLES) | (full.sim.port_nbr < 0), -1,
                    number[full.sim.port_nbr])[kept]
    got = holes.sim.constellation.catalog_numbers[holes.sim.port_nbr]
    np.testing.assert_array_equal(np.where(holes.sim.port_nbr < 0, -1, got), want)
    assert (want < 0).sum() - (full.sim.port_nbr[kept] < 0).sum() == 4 + 4 + 3
    with pytest.warns(UserWarning, match="no \\+Grid slot" if unplaced == "relay" else "left out"):
        decayed = _env("iridium", max_cycles=400, constellation=DATA / "iridium_decayed.tle",
                       unplaced_satellites=unplaced)
    n = 67 if unplaced == "relay" else 66
    assert decayed.sim.n == n
    info = _episode(decayed, seed=3)
    assert info["arrived_tasks"] > 200
    if unplaced == "relay":  # the decayed satellite is down all episode: no tasks, no ports, nothing to decide
        assert not decayed.sim.sat_up[66] and (decayed.sim.port_nbr[66] < 0).all()
        assert not (decayed.sim.tasks.origin[: decayed.sim.tasks.size] == 66).any()
        assert not decayed.sim.mask[66].any()


def test_csats_by_catalog_number_and_catalog_selection():
    env = _env("iridium", constellation=DATA / "iridium.tle", csat_catalog_numbers=[1, 12, 23, 34, 45, 56])
    assert np.flatnonzero(env.sim.is_csat).tolist() == [0, 11, 22, 33, 44, 55]
    two = _env("iridium", constellation=DATA / "iridium.tle", catalog_numbers=list(range(1, 23)))
    assert two.sim.n == 22 and two.sim.is_csat.sum() == 6
    assert isinstance(two.config.constellation, str)  # a Path is kept as a str (JSON-able config)
    clone = pickle.loads(pickle.dumps(two))
    np.testing.assert_array_equal(clone.sim.port_nbr, two.sim.port_nbr)


@pytest.mark.parametrize(("overrides", "match"), [
    (dict(constellation="iridum"), r"constellation: 'iridum' is not a preset .*no such file"),
    (dict(constellation=42), "constellation: 42 is not allowed"),
    (dict(constellation="1 25544U garbage\n2 25544"), "constellation: .*TLE line 1"),
    (dict(catalog_numbers=[1, 2]), "catalog_numbers: .*is a preset"),
    (dict(csat_catalog_numbers=[1, 999]), r"csat_catalog_numbers: \[999\] are not satellites"),
    (dict(csat_catalog_numbers=[1, 1]), r"csat_catalog_numbers: \[1\] listed more than once"),
    (dict(csat_catalog_numbers=[]), "csat_catalog_numbers: .* 1 or more"),
    (dict(unplaced_satellites="keep"), "unplaced_satellites: 'keep' is not allowed"),
])
def test_bad_tle_settings_raise_naming_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        _env("iridium", **overrides)
