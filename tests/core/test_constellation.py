import math
import pickle

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec
from sgp4.propagation import gstime

from leo_envs.core import CONSTELLATION_PRESETS, EARTH_RADIUS_M, Constellation

WALKER = dict(planes=6, sats_per_plane=11, altitude_km=780, inclination_deg=86.4, phasing=2)


@pytest.mark.parametrize(
    "override, field",
    [
        (dict(altitude_km=-5), "altitude_km"),
        (dict(altitude_km=0), "altitude_km"),
        (dict(altitude_km=float("nan")), "altitude_km"),
        (dict(altitude_km=float("inf")), "altitude_km"),
        (dict(planes=0), "planes"),
        (dict(sats_per_plane=0), "sats_per_plane"),
        (dict(planes=2.5), "planes"),
        (dict(inclination_deg=200), "inclination_deg"),
        (dict(inclination_deg=-1), "inclination_deg"),
        (dict(phasing=6), "phasing"),
        (dict(pattern="rosette"), "pattern"),
    ],
)
def test_bad_walker_parameters_raise_naming_the_field(override, field):
    with pytest.raises(ValueError, match=field):
        Constellation.walker(**{**WALKER, **override})


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset: 'nope'"):
        Constellation.from_preset("nope")


@pytest.mark.parametrize("name", sorted(CONSTELLATION_PRESETS))
def test_presets_have_their_size_and_altitude(name):
    p = CONSTELLATION_PRESETS[name]
    c = Constellation.from_preset(name)
    assert len(c) == p.planes * p.sats_per_plane
    assert not c.failed_at_epoch.any()
    r = np.linalg.norm(c.positions_ecef([0.0, 300.0]), axis=-1)
    assert abs(np.median(r) - (EARTH_RADIUS_M + p.altitude_km * 1e3)) < 30e3
    assert sorted(set(c.plane)) == list(range(p.planes))
    assert np.bincount(c.plane).tolist() == [p.sats_per_plane] * p.planes


def test_walker_geometry_raan_inclination_and_phasing():
    c = Constellation.walker(planes=4, sats_per_plane=3, altitude_km=550, inclination_deg=53, phasing=1)
    prop = c.propagate([0.0])
    h = np.cross(prop.position_m[0], prop.velocity_m_s[0])
    inc = np.degrees(np.arccos(h[:, 2] / np.linalg.norm(h, axis=1)))
    np.testing.assert_allclose(inc, 53.0, atol=0.2)  # osculating vs mean elements
    node = np.degrees(np.arctan2(h[:, 0], -h[:, 1]))
    np.testing.assert_allclose(np.cos(np.radians(node[c.slot == 0] - [0, 90, 180, 270])), 1.0, atol=1e-4)
    star = Constellation.walker(planes=4, sats_per_plane=3, altitude_km=550, inclination_deg=86, pattern="star")
    hs = np.cross(*[getattr(star.propagate([0.0]), a)[0] for a in ("position_m", "velocity_m_s")])
    nodes = np.degrees(np.arctan2(hs[:, 0], -hs[:, 1]))
    np.testing.assert_allclose(np.cos(np.radians(nodes[star.slot == 0] - [0, 45, 90, 135])), 1.0, atol=1e-4)
    # mean anomaly offset 2 pi F p / T between planes: satellite (p, 0) leads (0, 0) by 30 deg * p
    assert c.satrecs[3].mo == pytest.approx(2 * math.pi * 1 * 1 / 12)


def test_positions_ecef_equal_sgp4_rotated_by_gmst():
    c = Constellation.from_preset("iridium")
    times = np.array([0.0, 123.4, 3600.0])
    got = c.positions_ecef(times)
    sat = c.satrecs[17]
    for k, t in enumerate(times):
        e, r, _ = sat.sgp4(c.epoch_jd, c.epoch_fr + t / 86400.0)
        theta = gstime(c.epoch_jd + c.epoch_fr + t / 86400.0)
        x = math.cos(theta) * r[0] + math.sin(theta) * r[1]
        y = -math.sin(theta) * r[0] + math.cos(theta) * r[1]
        np.testing.assert_allclose(got[k, 17], np.array([x, y, r[2]]) * 1e3, atol=0.05)


def test_geodetic_latitude_bounded_by_inclination():
    c = Constellation.from_preset("starlink_shell1")
    lat, lon, alt = c.geodetic(np.arange(0, 6000, 300.0))
    assert np.abs(lat).max() <= 53.0 + 0.3 and np.abs(lat).max() > 52.0
    assert np.all((lon >= -180) & (lon <= 180))
    assert np.all(np.abs(alt - 550e3) < 25e3)


def test_pickle_and_copy_rebuild_the_satellites():
    import copy

    c = Constellation.from_preset("tiny")
    for clone in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
        np.testing.assert_array_equal(clone.positions_ecef([10.0, 20.0]), c.positions_ecef([10.0, 20.0]))
        np.testing.assert_array_equal(clone.plane, c.plane)


def test_failed_satellite_is_flagged_invalid():
    sat = Satrec()
    sat.sgp4init(WGS72, "i", 1, 27000.0, 0.0, 0.0, 0.0, 1.2, 0.0, 0.9, 0.0, 0.06, 0.0)  # eccentricity 1.2
    assert sat.error != 0 or sat.sgp4(2460000.5, 0.0)[0] != 0
    good = Constellation.from_preset("tiny")
    mixed = Constellation(
        good.satrecs[:2] + [sat], epoch=good.epoch, plane=np.array([0, 0, 0]), slot=np.array([0, 1, 2]),
        names=["a", "b", "bad"], pattern=None, num_planes=0, sats_per_plane=0, phasing=0, recipe=("x", ()),
    )
    assert mixed.failed_at_epoch.tolist() == [False, False, True]
    assert np.isnan(mixed.positions_ecef([0.0])[0, 2]).all()
