import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leo_envs.core import (
    EARTH_RADIUS_M,
    SPEED_OF_LIGHT_M_S,
    Constellation,
    GroundStation,
    Network,
    OpticalLink,
    grazing_limit_m,
    segment_clearance_m,
)

STARLINK = Constellation.from_preset("starlink_shell1")
IRIDIUM = Constellation.from_preset("iridium")
STARLINK_SNAP = Network(STARLINK).at(0.0)
STATIONS = [GroundStation("Manila", 14.6, 121.0), GroundStation("Quito", -0.2, -78.5)]
IRIDIUM_NET = Network(IRIDIUM, ground_stations=STATIONS, min_elevation_deg=8.2)  # Iridium design value


def test_starlink_intra_plane_isl_length():
    expect = 2 * (EARTH_RADIUS_M + 550e3) * math.sin(math.pi / 22)
    assert expect == pytest.approx(1972e3, rel=1e-3)
    intra = STARLINK_SNAP.isl_length_m[~Network(STARLINK).isl_inter]
    assert np.all(np.abs(intra / expect - 1) < 0.005)


def test_grazing_limit_at_550_km():
    assert grazing_limit_m(EARTH_RADIUS_M + 550e3, EARTH_RADIUS_M + 550e3) == pytest.approx(5016.6e3, abs=1e3)


def test_plus_grid_degrees_delta_and_star_seam():
    net = Network(STARLINK)
    deg = np.bincount(net.isl_pairs.ravel(), minlength=len(STARLINK))
    assert np.all(deg == 4) and len(net.isl_pairs) == 2 * len(STARLINK)
    inet = Network(IRIDIUM)
    ideg = np.bincount(inet.isl_pairs.ravel(), minlength=len(IRIDIUM))
    edge_planes = np.isin(IRIDIUM.plane, [0, 5])
    assert np.all(ideg[edge_planes] == 3) and np.all(ideg[~edge_planes] == 4)
    planes = IRIDIUM.plane[inet.isl_pairs]
    assert not np.any((planes[:, 0] == 0) & (planes[:, 1] == 5))  # no link across the seam


def test_polar_cutoff_switches_inter_plane_links_off():
    snaps = IRIDIUM_NET.over(np.arange(0, 6000, 600.0))
    pos = np.stack([s.sat_position_m for s in snaps])
    lat = np.degrees(np.arcsin(pos[..., 2] / np.linalg.norm(pos, axis=-1)))
    pairs = IRIDIUM_NET.isl_pairs
    inter = IRIDIUM_NET.isl_inter
    for s, la in zip(snaps, lat):
        polar = (np.abs(la) > 75.0)[pairs].any(axis=1)
        assert not np.any(s.isl_up & inter & polar)
        assert np.all(s.isl_up[~inter])  # intra-plane links never cut at Iridium's spacing
    assert any((inter & polar).any() for polar in [(np.abs(la) > 75.0)[pairs].any(axis=1) for la in lat])


def test_line_of_sight_and_max_range():
    far = Constellation.walker(planes=1, sats_per_plane=3, altitude_km=550, inclination_deg=53)
    snap = Network(far, isls=np.array([[0, 1], [1, 2]])).at(0.0)  # 120 deg apart: through the Earth
    assert not snap.isl_up.any() and np.all(snap.isl_capacity_bps == 0)
    capped = Network(STARLINK, max_isl_m=1900e3).at(0.0)
    assert not np.any(capped.isl_up & (capped.isl_length_m > 1900e3))
    a = STARLINK_SNAP.sat_position_m[STARLINK_SNAP.isl_pairs[:, 0]]
    b = STARLINK_SNAP.sat_position_m[STARLINK_SNAP.isl_pairs[:, 1]]
    assert np.all(segment_clearance_m(a, b)[STARLINK_SNAP.isl_up] > EARTH_RADIUS_M + 80e3)


def test_ground_links_respect_minimum_elevation():
    snap = IRIDIUM_NET.at(0.0)
    gs = np.array([[14.6, 121.0], [-0.2, -78.5]])
    from leo_envs.core.frames import geodetic_to_ecef

    g = geodetic_to_ecef(gs[:, 0], gs[:, 1], [0.0, 0.0])
    d = snap.sat_position_m[None] - g[:, None]
    la, lo = np.radians(gs[:, 0]), np.radians(gs[:, 1])
    up = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)  # ellipsoid normal
    el = np.degrees(np.arcsin(np.einsum("gnk,gk->gn", d, up) / np.linalg.norm(d, axis=-1)))
    assert np.array_equal(snap.gsl_up, el >= 8.2)
    assert snap.gsl_up.any(axis=1).all()  # Iridium always covers a station
    assert np.all(snap.gsl_capacity_bps[snap.gsl_up] > 0) and np.all(snap.gsl_capacity_bps[~snap.gsl_up] == 0)


def test_ground_stations_do_not_relay():
    snap = IRIDIUM_NET.at(0.0)
    n = len(IRIDIUM)
    dist, pred = snap.distances(np.arange(n))
    assert not np.isin(pred, [n, n + 1]).any()


def test_optical_links_have_fixed_rate():
    snap = Network(STARLINK, isl_link=OpticalLink(rate_bps=20e9)).at(0.0)
    assert np.all(snap.isl_capacity_bps[snap.isl_up] == 20e9)


def test_shortest_path_delay_at_least_length_over_c():
    for t in (0.0, 900.0, 2700.0):
        snap = IRIDIUM_NET.at(t)
        path, delay = snap.shortest_path(66, 67)
        if not path:
            continue
        a, b = snap.sat_position_m[path[1]], snap.sat_position_m[path[-2]]
        assert delay >= np.linalg.norm(a - b) / SPEED_OF_LIGHT_M_S
        assert delay == pytest.approx(snap.path_delay_s(path))
        hops, _ = snap.shortest_path(66, 67, weight="hops")
        assert len(hops) <= len(path)


def test_bad_queries_raise():
    with pytest.raises(ValueError, match="node: 2583"):
        STARLINK_SNAP.shortest_path(0, 999 + 1584)
    with pytest.raises(ValueError, match="weight"):
        STARLINK_SNAP.graph("cost")
    with pytest.raises(ValueError, match="isls"):
        Network(STARLINK, isls="ring")
    with pytest.raises(ValueError, match="min_elevation_deg"):
        Network(STARLINK, min_elevation_deg=95)
    with pytest.raises(ValueError, match="latitude_deg"):
        GroundStation("x", 91.0, 0.0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, len(IRIDIUM) - 1), st.integers(0, len(IRIDIUM) - 1), st.integers(0, len(IRIDIUM) - 1),
    st.floats(0, 6000),
)
def test_distances_symmetric_and_triangle_inequality(a, b, c, t):
    snap = Network(IRIDIUM).at(t)
    d, _ = snap.distances([a, b, c])
    assert d[0, b] == pytest.approx(d[1, a])
    assert d[0, c] <= d[0, b] + d[1, c] + 1e-12
    pa = snap.sat_position_m[a]
    pb = snap.sat_position_m[b]
    assert d[0, b] >= np.linalg.norm(pa - pb) / SPEED_OF_LIGHT_M_S - 1e-12
