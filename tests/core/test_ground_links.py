"""Ground-satellite links by minimum elevation (StarPerf's rule), by maximum slant range (Hypatia's) or both.

What is exact and what is not, for a station at geocentric radius R and a satellite at radius r:
- ``range <= d`` is exactly ``geocentric elevation >= elevation_at_range_deg(d, r, R)`` (law of cosines;
  the geocentric elevation is measured from the plane normal to the station's radius vector).
- The network's elevation is measured from the WGS84 ellipsoid normal, which tilts from the radius by the
  difference of geodetic and geocentric latitude: 0 on the equator, at most 0.193 deg (at 45 deg).
- One length ``d = slant_range_m(25, r0, R)`` matches 25 deg only for satellites at r0. sgp4 puts the
  satellites of a circular 550 km, 53 deg shell between about 543 and 555 km (J2 short-period terms), and a
  km of radius moves the matching elevation by about 0.06 deg: up to 0.43 deg.
So the two rules must give the same link for every pair whose elevation is further from 25 deg than the
sum of those two deviations (computed per pair below); within that band they may differ, and do.
"""

import math

import numpy as np
import pytest

from leo_envs.core import EARTH_RADIUS_M, Constellation, GroundStation, Network
from leo_envs.core.network import elevation_at_range_deg, slant_range_m

STARLINK = Constellation.from_preset("starlink_shell1")  # Walker 72/22/1 at 550 km, 53 deg
TIMES = np.arange(0.0, 5400.0, 300.0)  # 18 snapshots over about one orbit
POSITIONS = STARLINK.positions_ecef(TIMES)
R0 = EARTH_RADIUS_M + 550e3
EQUATOR = [GroundStation(f"eq{k}", 0.0, lon) for k, lon in enumerate((-78.5, -10.0, 32.6, 103.8, 160.0))]
ELSEWHERE = [
    GroundStation("Manila", 14.6, 121.0), GroundStation("Sao Paulo", -23.5, -46.6),
    GroundStation("Madrid", 40.4, -3.7), GroundStation("Cape Horn", -55.98, -67.27),
    GroundStation("Hokkaido", 43.06, 141.35, 500.0),
]


def _elevation_deg(ground, up, sat):
    d = sat[None] - ground[:, None]
    return np.degrees(np.arcsin(np.einsum("gnk,gk->gn", d, up) / np.linalg.norm(d, axis=-1)))


def _geometry(net: Network, sat):
    """Per (station, satellite): elevation from the ellipsoid normal, from the radius, slant range, and the
    geocentric radii of both ends."""
    g = net._gs_ecef
    big_r = np.linalg.norm(g, axis=1)
    e = _elevation_deg(g, net._gs_up, sat)
    e_c = _elevation_deg(g, g / big_r[:, None], sat)
    return e, e_c, np.linalg.norm(sat[None] - g[:, None], axis=-1), big_r, np.linalg.norm(sat, axis=1)


def test_slant_range_and_its_inverse():
    r = EARTH_RADIUS_M + np.array([[550e3], [1200e3]])
    e = np.linspace(0.0, 90.0, 91)
    d = slant_range_m(e, r)
    assert d.shape == (2, 91)
    assert d[:, -1] == pytest.approx(r[:, 0] - EARTH_RADIUS_M)  # zenith: the altitude
    assert d[:, 0] == pytest.approx(np.sqrt(r[:, 0] ** 2 - EARTH_RADIUS_M**2))  # horizon: the tangent
    # independently, by the law of sines: nadir angle, Earth central angle, then the side (e < 90)
    el = np.radians(e[:-1])
    nadir = np.arcsin(EARTH_RADIUS_M * np.cos(el) / r)
    central = np.pi / 2 - el - nadir
    assert np.allclose(d[:, :-1], r * np.sin(central) / np.cos(el), rtol=1e-12)
    assert slant_range_m(25.0, R0) == pytest.approx(1123.42e3, abs=10.0)
    assert np.allclose(elevation_at_range_deg(d, r), e, atol=1e-9)
    low = EARTH_RADIUS_M - 20e3
    assert elevation_at_range_deg(slant_range_m(e, R0, low), R0, low) == pytest.approx(e, abs=1e-9)
    beyond = elevation_at_range_deg([100e3, 9000e3, 14000e3], R0)  # < r - R, past the tangent, > r + R
    assert np.isnan(beyond[[0, 2]]).all() and -90.0 < beyond[1] < 0.0


@pytest.mark.parametrize("value", [0.0, -1e3, math.nan, math.inf, True, "1e6", [1e6]])
def test_bad_max_gsl_raises(value):
    with pytest.raises(ValueError, match=r"max_gsl_m: .* must be a finite number > 0 or None"):
        Network(STARLINK, max_gsl_m=value)


@pytest.mark.parametrize("value", [-1.0, 90.0, math.nan, True, "25"])
def test_bad_min_elevation_raises(value):
    with pytest.raises(ValueError, match=r"min_elevation_deg: .* is outside \[0, 90\); allowed a number or None"):
        Network(STARLINK, min_elevation_deg=value)


def test_defaults_unchanged():
    net = Network(STARLINK, ground_stations=ELSEWHERE)
    assert net.min_elevation_deg == 25.0 and net.max_gsl_m is None
    snap = net.snapshot(0.0, POSITIONS[0])
    e = _geometry(net, POSITIONS[0])[0]
    assert np.array_equal(snap.gsl_up, e >= 25.0) and snap.gsl_up.any()


def test_both_none_is_line_of_sight_only():
    net = Network(STARLINK, ground_stations=EQUATOR + ELSEWHERE, min_elevation_deg=None, max_gsl_m=None)
    for t, sat in zip(TIMES[:4], POSITIONS[:4]):
        snap = net.snapshot(t, sat)
        e = _geometry(net, sat)[0]
        assert np.array_equal(snap.gsl_up, e >= 0.0)
        assert (snap.gsl_up & (e < 25.0)).any()  # links below the default minimum
        assert np.all(snap.gsl_capacity_bps[snap.gsl_up] > 0) and np.all(snap.gsl_capacity_bps[~snap.gsl_up] == 0)
    assert snap.gsl_length_m[snap.gsl_up].max() > 2000e3  # far beyond d(25 deg) = 1123 km


def test_range_rule_is_geocentric_elevation_at_the_pair_radii():
    """Exact, for any station: with each station's and each satellite's actual radius."""
    stations = EQUATOR + ELSEWHERE + [GroundStation("pole", 90.0, 0.0), GroundStation("south", -89.0, 10.0)]
    d = slant_range_m(25.0, R0)
    net = Network(STARLINK, ground_stations=stations, min_elevation_deg=None, max_gsl_m=d)
    for t, sat in zip(TIMES, POSITIONS):
        e, e_c, _, big_r, r = _geometry(net, sat)
        e_match = elevation_at_range_deg(d, r[None, :], big_r[:, None])
        assert not np.any(np.abs(e_c - e_match) < 1e-9)  # no float ties to excuse
        assert np.array_equal(net.snapshot(t, sat).gsl_up, (e_c >= e_match) & (e >= 0.0))


def _compare(stations, margin_deg, spherical=False):
    """Range rule (one network per station, d(25 deg) at 550 km from that station's geocentric radius, or
    from the WGS72 sphere if ``spherical``) vs the 25 deg elevation rule over TIMES."""
    out = {"pairs": 0, "near": 0, "mismatch_near": 0, "mismatch_far": 0, "links": 0, "bound_deg": 0.0}
    for gs in stations:
        big_r = float(np.linalg.norm(Network(STARLINK, ground_stations=[gs])._gs_ecef[0]))
        d = slant_range_m(25.0, R0, EARTH_RADIUS_M if spherical else big_r)
        by_range = Network(STARLINK, ground_stations=[gs], min_elevation_deg=None, max_gsl_m=d)
        by_elevation = Network(STARLINK, ground_stations=[gs])
        for t, sat in zip(TIMES, POSITIONS):
            a, b = by_range.snapshot(t, sat).gsl_up, by_elevation.snapshot(t, sat).gsl_up
            e, e_c, _, rg, r = _geometry(by_range, sat)
            # rigorous per pair: the rules can differ only where |e - 25| <= bound
            bound = np.abs(e - e_c) + np.abs(elevation_at_range_deg(d, r[None, :], rg[:, None]) - 25.0)
            assert not np.any((a != b) & (np.abs(e - 25.0) > bound))
            near = np.abs(e - 25.0) <= margin_deg
            out["bound_deg"] = max(out["bound_deg"], float(np.max(bound[np.abs(e - 25.0) < 2.0], initial=0.0)))
            out["pairs"] += e.size
            out["near"] += int(near.sum())
            out["mismatch_near"] += int((near & (a != b)).sum())
            out["mismatch_far"] += int((~near & (a != b)).sum())
            out["links"] += int(b.sum())
    return out


def test_range_rule_agrees_with_elevation_rule_away_from_the_boundary():
    # on the equator the ellipsoid normal is the radius: only the satellites' radii (543-555 km) spread it
    eq = _compare(EQUATOR, margin_deg=0.5)
    assert eq["bound_deg"] < 0.5
    assert eq["mismatch_far"] == 0 and eq["links"] > 500 and eq["near"] > 0
    assert eq["mismatch_near"] > 0  # the rules are not the same rule
    # elsewhere the normal's tilt (<= 0.193 deg) adds to it
    far = _compare(ELSEWHERE, margin_deg=0.7)
    assert 0.5 < far["bound_deg"] < 0.7
    assert far["mismatch_far"] == 0 and far["links"] > 500 and far["near"] > 0
    print(f"equator {eq}\nelsewhere {far}")


def test_one_spherical_length_is_stricter_at_high_latitude():
    """Hypatia's single length from the sphere: at 56 deg south the geocentric radius is 14 km short of
    R, so d(25 deg) is seen at about 25.9 deg and the rules differ beyond the 0.7 deg band."""
    out = _compare([GroundStation("Cape Horn", -55.98, -67.27)], margin_deg=0.7, spherical=True)
    assert out["mismatch_far"] > 0


def test_both_limits_give_the_intersection():
    d = slant_range_m(25.0, R0)
    stations = EQUATOR + ELSEWHERE
    both = Network(STARLINK, ground_stations=stations, min_elevation_deg=25.0, max_gsl_m=d)
    el = Network(STARLINK, ground_stations=stations, min_elevation_deg=25.0)
    rng = Network(STARLINK, ground_stations=stations, min_elevation_deg=None, max_gsl_m=d)
    only_el = only_rng = 0
    for t, sat in zip(TIMES, POSITIONS):
        a, b, c = both.snapshot(t, sat), el.snapshot(t, sat), rng.snapshot(t, sat)
        assert np.array_equal(a.gsl_up, b.gsl_up & c.gsl_up)
        assert np.array_equal(a.gsl_capacity_bps > 0, a.gsl_up)
        only_el += int((b.gsl_up & ~c.gsl_up).sum())
        only_rng += int((c.gsl_up & ~b.gsl_up).sum())
    assert only_el > 0 and only_rng > 0  # neither rule contains the other, so the intersection is smaller
