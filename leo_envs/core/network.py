"""The network: satellites, their ISLs and ground stations, as snapshots in time with shortest paths.

Nodes are numbered satellites 0..N-1, then ground stations N..N+G-1. Ground stations are endpoints
only: a path may start or end at one but never relays through one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .constants import EARTH_RADIUS_M, GRAZING_ALTITUDE_M
from .constellation import Constellation
from .faults import FaultModel, FaultTimeline
from .frames import geodetic_to_ecef
from .link_budget import GROUND_LINK, ISL_LINK, OpticalLink, RadioLink, propagation_delay_s
from .topology import elevation_deg, plus_grid, segment_clearance_m

WEIGHTS = ("delay", "hops")


def slant_range_m(elevation_deg, satellite_radius_m, ground_radius_m=EARTH_RADIUS_M) -> np.ndarray:
    """Distance from a ground point at geocentric radius R to a satellite at radius r seen at
    ``elevation_deg`` above the plane normal to the radius: sqrt(r^2 - R^2 cos^2 e) - R sin e (a sphere)."""
    e = np.deg2rad(np.asarray(elevation_deg, float))
    r = np.asarray(satellite_radius_m, float)
    big_r = np.asarray(ground_radius_m, float)
    return np.sqrt(r**2 - (big_r * np.cos(e)) ** 2) - big_r * np.sin(e)


def elevation_at_range_deg(range_m, satellite_radius_m, ground_radius_m=EARTH_RADIUS_M) -> np.ndarray:
    """Inverse of ``slant_range_m``: the elevation at which a satellite at radius r is ``range_m`` away,
    by the law of cosines r^2 = R^2 + d^2 + 2 R d sin e. NaN where no elevation in [-90, 90] gives d."""
    d = np.asarray(range_m, float)
    r = np.asarray(satellite_radius_m, float)
    big_r = np.asarray(ground_radius_m, float)
    sin_e = (r**2 - big_r**2 - d**2) / (2.0 * big_r * d)
    with np.errstate(invalid="ignore"):
        return np.rad2deg(np.arcsin(np.where(np.abs(sin_e) <= 1.0, sin_e, np.nan)))


def _is_number(value) -> bool:
    """A real number, finite or not; bools are not numbers here."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class GroundStation:
    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude_deg) and -90.0 <= self.latitude_deg <= 90.0):
            raise ValueError(f"latitude_deg: {self.latitude_deg!r} of {self.name!r} is outside [-90, 90]")
        if not (math.isfinite(self.longitude_deg) and -180.0 <= self.longitude_deg <= 360.0):
            raise ValueError(f"longitude_deg: {self.longitude_deg!r} of {self.name!r} is outside [-180, 360]")
        if not (math.isfinite(self.altitude_m) and -500.0 <= self.altitude_m <= 10_000.0):
            raise ValueError(f"altitude_m: {self.altitude_m!r} of {self.name!r} is outside [-500, 10000]")


@dataclass(frozen=True)
class Snapshot:
    """The network at one instant. Arrays are indexed by satellite (N), ISL (E) or ground station (G)."""

    t_s: float
    sat_position_m: np.ndarray  # (N, 3) ECEF
    sat_up: np.ndarray  # (N,) propagated and not failed
    isl_pairs: np.ndarray  # (E, 2)
    isl_up: np.ndarray  # (E,) both ends up, line of sight, within range, not failed, not polar-cut
    isl_length_m: np.ndarray  # (E,)
    isl_capacity_bps: np.ndarray  # (E,), 0 where down
    gsl_up: np.ndarray  # (G, N) satellite up, above the horizon, elevation >= minimum, slant range <= maximum
    gsl_length_m: np.ndarray  # (G, N)
    gsl_capacity_bps: np.ndarray  # (G, N), 0 where down
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_sats(self) -> int:
        return self.sat_position_m.shape[0]

    @property
    def num_nodes(self) -> int:
        return self.num_sats + self.gsl_up.shape[0]

    @property
    def isl_delay_s(self) -> np.ndarray:
        return propagation_delay_s(self.isl_length_m)

    def graph(self, weight: str | np.ndarray = "delay", sources=()) -> csr_matrix:
        """Directed (num_nodes x num_nodes) graph of live links. ``weight``: "delay" (propagation, s),
        "hops", or an (E,) array of ISL weights. Ground stations have outgoing links only if in ``sources``."""
        n, g = self.num_sats, self.gsl_up.shape[0]
        if isinstance(weight, str):
            if weight not in WEIGHTS:
                raise ValueError(f"weight: {weight!r} is not one of {WEIGHTS} or an (E,) array")
            isl_w = self.isl_delay_s if weight == "delay" else np.ones(len(self.isl_pairs))
        else:
            isl_w = np.asarray(weight, float)
            if isl_w.shape != (len(self.isl_pairs),) or not np.all(isl_w > 0):
                raise ValueError(f"weight: expected {len(self.isl_pairs)} positive ISL weights")
        up = self.isl_up
        a, b = self.isl_pairs[up, 0], self.isl_pairs[up, 1]
        rows = [a, b]
        cols = [b, a]
        data = [isl_w[up], isl_w[up]]
        if g:
            gi, si = np.nonzero(self.gsl_up)
            hops = isinstance(weight, str) and weight == "hops"
            gw = np.ones(gi.size) if hops else propagation_delay_s(self.gsl_length_m[gi, si])
            rows.append(si)
            cols.append(gi + n)
            data.append(gw)
            src = np.isin(gi + n, np.asarray(sources, dtype=np.int64))
            rows.append(gi[src] + n)
            cols.append(si[src])
            data.append(gw[src])
        return csr_matrix(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n + g, n + g),
        )

    def distances(self, sources, weight: str | np.ndarray = "delay", *, min_only: bool = False):
        """Dijkstra from ``sources`` (scipy.sparse.csgraph): (distances, predecessors); inf if unreachable."""
        sources = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        self._check_nodes(sources)
        return dijkstra(
            self.graph(weight, sources), directed=True, indices=sources, return_predecessors=True, min_only=min_only
        )

    def shortest_path(self, src: int, dst: int, weight: str | np.ndarray = "delay") -> tuple[list[int], float]:
        """Nodes of the least-``weight`` path and its one-way propagation delay in seconds.
        ``([], inf)`` when ``dst`` cannot be reached."""
        self._check_nodes(np.array([src, dst]))
        dist, pred = self.distances([src], weight)
        if not np.isfinite(dist[0, dst]):
            return [], math.inf
        path = [int(dst)]
        while path[-1] != src:
            path.append(int(pred[0, path[-1]]))
        path.reverse()
        return path, self.path_delay_s(path)

    def path_delay_s(self, path: list[int]) -> float:
        """One-way propagation delay along consecutive nodes of ``path``."""
        n = self.num_sats
        if "isl_key" not in self._cache:
            key = self.isl_pairs[:, 0] * n + self.isl_pairs[:, 1]
            order = np.argsort(key)
            self._cache["isl_key"] = (key[order], order)
        keys, order = self._cache["isl_key"]
        total = 0.0
        for u, v in zip(path[:-1], path[1:]):
            if u >= n or v >= n:
                gs, sat = (u - n, v) if u >= n else (v - n, u)
                total += float(self.gsl_length_m[gs, sat])
            else:
                k = min(u, v) * n + max(u, v)
                pos = int(np.searchsorted(keys, k))
                if pos == len(keys) or keys[pos] != k:
                    raise ValueError(f"path: no ISL between satellites {u} and {v}")
                total += float(self.isl_length_m[order[pos]])
        return float(propagation_delay_s(total))

    def _check_nodes(self, nodes: np.ndarray) -> None:
        bad = nodes[(nodes < 0) | (nodes >= self.num_nodes)]
        if bad.size:
            raise ValueError(f"node: {int(bad[0])} is outside [0, {self.num_nodes - 1}]")


class Network:
    """Satellites of a ``Constellation`` linked by ISLs, plus ground stations.

    Arguments:
        isls: "plus_grid" or an (E, 2) integer array of satellite pairs.
        ground_stations: ``GroundStation`` list; they become nodes N..N+G-1.
        max_isl_m: longest usable ISL in metres; ``None`` means the grazing limit (line of sight clearing
            the Earth plus ``grazing_altitude_m``), which applies always.
        min_elevation_deg: ground-satellite links (GSL) need at least this elevation; ``None``: no minimum.
        max_gsl_m: GSLs may be at most this long (slant range, metres); ``None``: no maximum.
        polar_cutoff_deg: inter-plane ISLs are off while either end is above this |latitude|.
        isl_link: ``RadioLink`` (Shannon capacity from distance) or ``OpticalLink`` (fixed rate) of the ISLs.
        ground_link: the same for the ground-satellite links.
        faults: a ``FaultModel``; failures are drawn from ``seed``.

    A GSL is up when the satellite is up, above the station's horizon (elevation >= 0, line of sight; always), its
    elevation >= ``min_elevation_deg`` (unless None) and its slant range <= ``max_gsl_m`` (unless None). Give both
    for their intersection, neither for line of sight only. Elevation is measured from the station's WGS84 ellipsoid
    normal. The two simulators this suite is compared with use one rule each: StarPerf (Lai et al.) a minimum
    elevation angle, Hypatia (Kassing et al., IMC 2020) a maximum GSL length (``max_gsl_length_m``; its scripts take
    a flat-Earth cone, sqrt(cone_radius^2 + h^2), with the cone radius h / tan(e), or for Starlink 550 km the FCC
    filing's 940.7 km: 1089.7 km, where ``slant_range_m`` gives 1123.4 km for 25 deg on the sphere). A length equals
    an elevation only for the radii it was derived with: at 25 deg and 550 km a satellite 1 km lower reaches it
    about 0.06 deg lower, a station 1 km nearer the centre (higher latitude: smaller geocentric radius) about 0.06
    deg higher, and the ellipsoid normal tilts up to 0.19 deg from the radius (none on the equator).
    """

    def __init__(
        self,
        constellation: Constellation,
        isls: str | np.ndarray = "plus_grid",
        ground_stations: Sequence[GroundStation] = (),
        *,
        max_isl_m: float | None = None,
        min_elevation_deg: float | None = 25.0,
        max_gsl_m: float | None = None,
        polar_cutoff_deg: float = 75.0,
        grazing_altitude_m: float = GRAZING_ALTITUDE_M,
        isl_link: RadioLink | OpticalLink = ISL_LINK,
        ground_link: RadioLink | OpticalLink = GROUND_LINK,
        faults: FaultModel | None = None,
        seed: int | None = 0,
    ) -> None:
        self.constellation = constellation
        n = len(constellation)
        if isinstance(isls, str):
            if isls != "plus_grid":
                raise ValueError(f"isls: {isls!r} is not 'plus_grid' or an (E, 2) array of satellite pairs")
            self.isl_pairs, self.isl_inter = plus_grid(constellation)
        else:
            pairs = np.asarray(isls)
            if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
                raise ValueError(f"isls: expected an (E, 2) integer array, got shape {pairs.shape} {pairs.dtype}")
            if pairs.size and (pairs.min() < 0 or pairs.max() >= n or np.any(pairs[:, 0] == pairs[:, 1])):
                raise ValueError(f"isls: pairs must be distinct satellites in [0, {n - 1}]")
            self.isl_pairs = pairs.astype(np.int64)
            self.isl_inter = constellation.plane[pairs[:, 0]] != constellation.plane[pairs[:, 1]]
        if max_isl_m is not None and not (math.isfinite(max_isl_m) and max_isl_m > 0):
            raise ValueError(f"max_isl_m: {max_isl_m!r} must be a finite number > 0 or None")
        if min_elevation_deg is not None and not (
            _is_number(min_elevation_deg) and math.isfinite(min_elevation_deg) and 0.0 <= min_elevation_deg < 90.0
        ):
            raise ValueError(f"min_elevation_deg: {min_elevation_deg!r} is outside [0, 90); allowed a number or None")
        if max_gsl_m is not None and not (_is_number(max_gsl_m) and math.isfinite(max_gsl_m) and max_gsl_m > 0):
            raise ValueError(f"max_gsl_m: {max_gsl_m!r} must be a finite number > 0 or None")
        if not (math.isfinite(polar_cutoff_deg) and 0.0 < polar_cutoff_deg <= 90.0):
            raise ValueError(f"polar_cutoff_deg: {polar_cutoff_deg!r} is outside (0, 90]")
        self.ground_stations = list(ground_stations)
        for gs in self.ground_stations:
            if not isinstance(gs, GroundStation):
                raise ValueError(f"ground_stations: expected GroundStation objects, got {gs!r}")
        self.max_isl_m = max_isl_m
        self.min_elevation_deg = None if min_elevation_deg is None else float(min_elevation_deg)
        self.max_gsl_m = None if max_gsl_m is None else float(max_gsl_m)
        self.polar_cutoff_deg = polar_cutoff_deg
        self.grazing_radius_m = EARTH_RADIUS_M + grazing_altitude_m
        self.isl_link = isl_link
        self.ground_link = ground_link
        lat = np.array([g.latitude_deg for g in self.ground_stations], float)
        lon = np.array([g.longitude_deg for g in self.ground_stations], float)
        alt = np.array([g.altitude_m for g in self.ground_stations], float)
        self._gs_ecef = geodetic_to_ecef(lat, lon, alt).reshape(-1, 3)
        la, lo = np.deg2rad(lat), np.deg2rad(lon)
        self._gs_up = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1).reshape(-1, 3)
        self.fault_model = faults
        self._faults = None
        self.reset_faults(seed)

    def reset_faults(self, seed: int | None) -> None:
        """Draw a new failure timeline from ``seed`` (its time origin is the one ``snapshot`` is given)."""
        if self.fault_model is not None:
            self._faults = FaultTimeline(self.fault_model, self.num_sats, len(self.isl_pairs), seed)

    @property
    def num_sats(self) -> int:
        return len(self.constellation)

    @property
    def num_nodes(self) -> int:
        return self.num_sats + len(self.ground_stations)

    def at(self, t_s: float) -> Snapshot:
        """The network ``t_s`` seconds after the constellation's epoch."""
        return self.snapshot(float(t_s), self.constellation.positions_ecef(np.array([t_s]))[0])

    def over(self, times_s) -> list[Snapshot]:
        """Snapshots at every time of a grid, propagated in one sgp4 call."""
        times = np.atleast_1d(np.asarray(times_s, float))
        pos = self.constellation.positions_ecef(times)
        return [self.snapshot(float(t), p) for t, p in zip(times, pos)]

    def isl_state(self, sat_ecef: np.ndarray, sat_up: np.ndarray, isl_down: np.ndarray | None = None):
        """Whether each ISL is up, its length and capacity, for satellite positions (..., N, 3) with any
        leading axes (one set of positions per snapshot): three (..., E) arrays."""
        first, second = self.isl_pairs[:, 0], self.isl_pairs[:, 1]
        a = sat_ecef[..., first, :]
        b = sat_ecef[..., second, :]
        length = np.linalg.norm(b - a, axis=-1)
        with np.errstate(invalid="ignore"):
            isl_up = (
                sat_up[..., first]
                & sat_up[..., second]
                & (segment_clearance_m(a, b) > self.grazing_radius_m)
            )
            if isl_down is not None:
                isl_up &= ~isl_down
            if self.max_isl_m is not None:
                isl_up &= length <= self.max_isl_m
            if self.polar_cutoff_deg < 90.0 and self.isl_inter.any():
                lat = np.rad2deg(np.arcsin(sat_ecef[..., 2] / np.linalg.norm(sat_ecef, axis=-1)))
                polar = np.abs(lat) > self.polar_cutoff_deg
                isl_up &= ~(self.isl_inter & (polar[..., first] | polar[..., second]))
        length = np.where(np.isfinite(length), length, np.inf)
        capacity = np.where(isl_up, self.isl_link.capacity_bps(np.where(isl_up, length, 1.0)), 0.0)
        return isl_up, length, capacity

    def snapshot(self, t_s: float, sat_ecef: np.ndarray, fault_t_s: float | None = None) -> Snapshot:
        """Links at time ``t_s`` given satellite positions (N, 3), e.g. from a precomputed grid.
        Failures are looked up at ``fault_t_s`` (default ``t_s``), e.g. time since an episode began."""
        sat_up = np.isfinite(sat_ecef).all(axis=1)
        if self._faults is not None:
            sat_down, isl_down = self._faults.down_at(t_s if fault_t_s is None else fault_t_s)
            sat_up &= ~sat_down
        else:
            isl_down = np.zeros(len(self.isl_pairs), bool)
        isl_up, length, capacity = self.isl_state(sat_ecef, sat_up, isl_down)
        g = len(self.ground_stations)
        if g:
            safe = np.where(sat_up[:, None], sat_ecef, 0.0)
            with np.errstate(invalid="ignore"):
                elev = elevation_deg(self._gs_ecef, self._gs_up, safe)
            # min_elevation_deg >= 0 implies the horizon; the range test costs nothing when unset
            gsl_up = (elev >= (0.0 if self.min_elevation_deg is None else self.min_elevation_deg)) & sat_up[None, :]
            gsl_len = np.linalg.norm(safe[None, :, :] - self._gs_ecef[:, None, :], axis=-1)
            if self.max_gsl_m is not None:
                gsl_up &= gsl_len <= self.max_gsl_m
            gsl_cap = np.where(gsl_up, self.ground_link.capacity_bps(gsl_len), 0.0)
        else:
            gsl_up = np.zeros((0, self.num_sats), bool)
            gsl_len = gsl_cap = np.zeros((0, self.num_sats))
        return Snapshot(t_s, sat_ecef, sat_up, self.isl_pairs, isl_up, length, capacity, gsl_up, gsl_len, gsl_cap)
