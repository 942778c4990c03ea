"""TLE constellations: export with ``to_tle``, read back with the Walker layout inferred from the elements."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from leo_envs.core import CONSTELLATION_PRESETS, Constellation, LayoutTolerances, Network, plus_grid
from leo_envs.core.tle import parse_tle

DATA = Path(__file__).parent.parent / "data" / "tle"
sys.path.insert(0, str(DATA))
from make_fixtures import DECAYED, HOLES, fixtures  # noqa: E402


def test_fixture_files_are_what_to_tle_writes():
    for name, text in fixtures().items():
        assert (DATA / name).read_text() == text, f"{name} is stale: run python tests/data/tle/make_fixtures.py"


@pytest.mark.parametrize("preset", sorted(CONSTELLATION_PRESETS))
def test_round_trip_gives_the_presets_layout_links_and_positions(preset):
    c = Constellation.from_preset(preset)
    text = c.to_tle()
    sets = parse_tle(text, checksum=True)  # every checksum valid
    assert [s.name for s in sets] == c.names
    back = Constellation.from_tle(text)
    for field in ("plane", "slot", "shell", "local_plane", "catalog_numbers"):
        np.testing.assert_array_equal(getattr(back, field), getattr(c, field), err_msg=field)
    sh, got = c.shells[0], back.shells[0]
    assert (got.planes, got.sats_per_plane, got.pattern) == (sh.planes, sh.sats_per_plane, sh.pattern)
    assert got.altitude_km == pytest.approx(sh.altitude_km, abs=1e-3)
    assert got.inclination_deg == pytest.approx(sh.inclination_deg, abs=0.01)
    for a, b in zip(plus_grid(c), plus_grid(back)):
        np.testing.assert_array_equal(a, b)
    times = np.linspace(0.0, 2 * 3600.0, 9)
    error = np.linalg.norm(back.positions_ecef(times) - c.positions_ecef(times), axis=-1)
    assert error.max() < 50.0  # 4 decimals of a degree at 7,000-8,000 km are ~13 m
    assert back.epoch == c.epoch and back.unplaced_reasons == {}


def test_orbit_elements_recover_the_walker_parameters():
    c = Constellation.from_preset("iridium")
    el = c.elements()
    np.testing.assert_allclose(el.altitude_km, 780.0, atol=1e-6)
    np.testing.assert_allclose(el.inclination_deg, 86.4, atol=0.05)  # osculating, J2 short-period terms
    np.testing.assert_allclose(el.period_s, 2 * np.pi / el.mean_motion_rad_s)
    np.testing.assert_allclose(el.period_s, 6027.6, atol=1.0)
    offset = (el.raan_deg - c.plane * 30.0 + 180.0) % 360.0 - 180.0  # star pattern: RAAN 30 deg x plane
    assert np.abs(offset).max() < 0.1


def test_multi_shell_preset_keeps_distinct_shells_and_reports_coplanar_ones():
    """Starlink Gen1: the 53.0, 53.2 and 70 deg shells come back as they were; its two 97.6 deg shells at
    560 km share inclination, altitude and two RAANs, which no element tells apart: they merge, and the
    satellites that clash with the merged slots are unplaced with the reason, never a crash."""
    c = Constellation.from_preset("starlink_gen1")
    back = Constellation.from_tle(c.to_tle())
    for k in range(3):
        idx = c.shell == k
        np.testing.assert_array_equal(back.shell[idx], k)
        np.testing.assert_array_equal(back.slot[idx], c.slot[idx])
        np.testing.assert_array_equal(back.local_plane[idx], c.local_plane[idx])
    assert len(back.shells) == 4 and back.unplaced_reasons
    assert all("slot" in why for why in back.unplaced_reasons.values())
    assert len(np.unique(back.catalog_numbers)) == len(c)  # catalog numbers unique across shells


def test_holes_leave_empty_slots_and_drop_only_their_links():
    full = Constellation.from_tle(DATA / "iridium.tle")
    holes = Constellation.from_tle(DATA / "iridium_holes.tle")
    assert len(holes) == 66 - len(HOLES) and not holes.unplaced_reasons
    keep = ~np.isin(full.catalog_numbers, HOLES)
    np.testing.assert_array_equal(holes.plane, full.plane[keep])
    np.testing.assert_array_equal(holes.slot, full.slot[keep])
    old = {tuple(full.catalog_numbers[p]) for p in plus_grid(full)[0]}
    new = {tuple(holes.catalog_numbers[p]) for p in plus_grid(holes)[0]}
    assert new == {p for p in old if not set(p) & set(HOLES)}
    assert len(old) - len(new) == 4 + 4 + 3  # four +Grid links each; 5 is in plane 0, at the star's seam


def test_decayed_satellite_is_kept_as_relay_or_dropped():
    relay = Constellation.from_tle(DATA / "iridium_decayed.tle")
    assert len(relay) == 67 and relay.failed_at_epoch.tolist() == [False] * 66 + [True]
    assert list(relay.unplaced_reasons) == [66] and "decayed" in relay.unplaced_reasons[66]
    assert relay.plane[66] == relay.slot[66] == relay.shell[66] == -1
    assert 66 not in plus_grid(relay)[0]
    snap = Network(relay).at(0.0)
    assert not snap.sat_up[66] and snap.sat_up[:66].all()
    dropped = Constellation.from_tle(DATA / "iridium_decayed.tle", unplaced="drop")
    assert len(dropped) == 66 and list(dropped.left_out) == [67]
    np.testing.assert_array_equal(dropped.slot, relay.slot[:66])
    assert DECAYED[0] not in dropped.names


def test_catalog_numbers_select_satellites():
    c = Constellation.from_tle(DATA / "iridium.tle", catalog_numbers=range(1, 23))  # planes 0 and 1
    assert len(c) == 22 and c.shells[0].planes == 2 and set(c.plane) == {0, 1}
    with pytest.raises(ValueError, match=r"catalog_numbers: \[999\] not in the TLE set"):
        Constellation.from_tle(DATA / "iridium.tle", catalog_numbers=[1, 999])
    with pytest.raises(ValueError, match="catalog_numbers: catalog numbers \\[3\\] are listed twice"):
        Constellation.from_tle(DATA / "iridium.tle", catalog_numbers=[3, 3])
    with pytest.raises(ValueError, match="catalog_numbers\\[1\\]"):
        Constellation.from_tle(DATA / "iridium.tle", catalog_numbers=[1, 2.5])


def test_lone_satellites_are_unplaced_and_layout_can_be_switched_off():
    iss = ("1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
           "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n")
    one = Constellation.from_tle(iss)
    assert one.slot.tolist() == [-1] and "alone" in one.unplaced_reasons[0] and one.shells == ()
    raw = Constellation.from_tle(DATA / "iridium.tle", layout=False)
    assert (raw.plane == -1).all() and raw.shells == ()
    with pytest.raises(ValueError, match="unplaced"):
        Constellation.from_tle(DATA / "iridium.tle", unplaced="keep")
    with pytest.raises(ValueError, match="raan_deg"):
        LayoutTolerances(raan_deg=0.0)


def test_tolerances_decide_what_is_a_plane():
    tight = Constellation.from_tle(DATA / "iridium.tle", tolerances=LayoutTolerances(min_plane_size=12))
    assert tight.shells == () and len(tight.unplaced_reasons) == 66  # 11 per plane < 12


def test_tle_constellation_pickles_with_its_options():
    c = Constellation.from_tle(DATA / "iridium_decayed.tle", unplaced="drop", catalog_numbers=range(1, 68))
    clone = pickle.loads(pickle.dumps(c))
    assert len(clone) == 66 and clone.left_out == c.left_out
    np.testing.assert_array_equal(clone.slot, c.slot)
    np.testing.assert_array_equal(clone.positions_ecef([60.0]), c.positions_ecef([60.0]))
