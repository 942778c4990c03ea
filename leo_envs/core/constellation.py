"""Constellations: satellites as sgp4 ``Satrec`` objects, from Walker parameters, presets or TLEs.

A ``Constellation`` pickles by rebuilding its satellites from the arguments that made it
(``Satrec``/``SatrecArray`` themselves cannot be pickled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sgp4.api import WGS72, Satrec, SatrecArray, jday
from sgp4.conveniences import sat_epoch_datetime

from .constants import EARTH_MU_M3_S2, EARTH_RADIUS_M, SECONDS_PER_DAY, SGP4_EPOCH_JD
from .frames import ecef_to_geodetic, gmst_rad, teme_to_ecef
from .presets import CONSTELLATION_PRESETS, SHELL_PRESETS, WalkerPreset
from .sun import sun_position_eci, sunlit
from .tle import parse_tle, read_tle_source

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
WALKER_PATTERNS = ("delta", "star")
MAX_ALTITUDE_KM = 100_000.0


@dataclass(frozen=True)
class Propagation:
    """Satellite states over a time grid: positions (T, N, 3) in metres (NaN where invalid),
    velocities (T, N, 3) in m/s, ``valid`` (T, N) and the sgp4 error codes (T, N)."""

    times_s: np.ndarray
    position_m: np.ndarray
    velocity_m_s: np.ndarray
    valid: np.ndarray
    error: np.ndarray


def _require_int(field: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field}: expected an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{field}: {value!r} is out of range, allowed {allowed}")
    return int(value)


def _require_float(field: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: expected a number, got {value!r}") from None
    if not math.isfinite(x) or x > high or (x <= low if low_open else x < low):
        bracket = "(" if low_open else "["
        raise ValueError(f"{field}: {value!r} is out of range, allowed {bracket}{low}, {high}]")
    return x


def _julian(epoch: datetime) -> tuple[float, float]:
    if epoch.tzinfo is None:
        raise ValueError(f"epoch: {epoch!r} has no time zone; pass a timezone-aware UTC datetime")
    e = epoch.astimezone(timezone.utc)
    return jday(e.year, e.month, e.day, e.hour, e.minute, e.second + e.microsecond * 1e-6)


class Constellation:
    """A set of satellites propagated by SGP4.

    ``plane`` and ``slot`` give each satellite's orbital plane and position in it (-1 for TLE
    constellations, whose layout is not known). ``epoch`` is the time origin of every ``times_s``.
    ``failed_at_epoch`` flags satellites that sgp4 cannot propagate at the epoch (error code or
    non-finite state); they stay in the constellation, marked invalid, instead of raising.
    """

    def __init__(
        self,
        satrecs: list[Satrec],
        *,
        epoch: datetime,
        plane: np.ndarray,
        slot: np.ndarray,
        names: list[str],
        pattern: str | None,
        num_planes: int,
        sats_per_plane: int,
        phasing: int,
        recipe: tuple,
        epoch_jd_fr: tuple[float, float] | None = None,
    ) -> None:
        self._satrecs = satrecs
        self._array = SatrecArray(satrecs)
        self.epoch = epoch
        # a TLE epoch keeps its full precision as (day, fraction); a datetime would round it to 1 us
        self.epoch_jd, self.epoch_fr = epoch_jd_fr if epoch_jd_fr is not None else _julian(epoch)
        self.plane = np.asarray(plane, dtype=np.int64)
        self.slot = np.asarray(slot, dtype=np.int64)
        self.names = names
        self.pattern = pattern
        self.num_planes = num_planes
        self.sats_per_plane = sats_per_plane
        self.phasing = phasing
        self.shells: tuple[WalkerPreset, ...] = ()  # Walker shells, each with its own +Grid
        self.shell = np.zeros(len(satrecs), dtype=np.int64)  # shell of each satellite
        self.local_plane = self.plane.copy()  # plane index within the shell
        self._recipe = recipe
        self.failed_at_epoch = ~self.propagate(np.zeros(1)).valid[0]

    # ------------------------------------------------------------------ construction
    @classmethod
    def walker(
        cls,
        planes: int,
        sats_per_plane: int,
        altitude_km: float,
        inclination_deg: float,
        phasing: int = 0,
        pattern: str = "delta",
        epoch: datetime = DEFAULT_EPOCH,
    ) -> Constellation:
        """Walker delta i:T/P/F (RAAN spread over 360 deg) or star (over 180 deg) on circular orbits."""
        planes = _require_int("planes", planes, 1)
        sats_per_plane = _require_int("sats_per_plane", sats_per_plane, 1)
        altitude_km = _require_float("altitude_km", altitude_km, 0.0, MAX_ALTITUDE_KM, low_open=True)
        inclination_deg = _require_float("inclination_deg", inclination_deg, 0.0, 180.0)
        phasing = _require_int("phasing", phasing, 0, planes - 1)
        if pattern not in WALKER_PATTERNS:
            raise ValueError(f"pattern: {pattern!r} is not one of {WALKER_PATTERNS}")
        total = planes * sats_per_plane
        raan_span = 360.0 if pattern == "delta" else 180.0
        plane_idx = np.repeat(np.arange(planes), sats_per_plane)
        slot_idx = np.tile(np.arange(sats_per_plane), planes)
        anomaly = (360.0 * slot_idx / sats_per_plane + 360.0 * phasing * plane_idx / total) % 360.0
        c = cls.from_elements(
            np.full(total, altitude_km), np.full(total, inclination_deg), raan_span * plane_idx / planes,
            anomaly, epoch=epoch,
        )
        c.plane, c.slot = plane_idx, slot_idx
        c.names = [f"P{p:02d}S{s:02d}" for p, s in zip(plane_idx, slot_idx)]
        c.pattern, c.num_planes, c.sats_per_plane, c.phasing = pattern, planes, sats_per_plane, phasing
        c.shells = (WalkerPreset(planes, sats_per_plane, altitude_km, inclination_deg, phasing, pattern, "walker"),)
        c.local_plane = plane_idx.copy()
        c._recipe = ("walker", (planes, sats_per_plane, altitude_km, inclination_deg, phasing, pattern, epoch))
        return c

    @classmethod
    def from_shells(cls, shells, epoch: datetime = DEFAULT_EPOCH) -> Constellation:
        """Several Walker shells in one constellation (planes are numbered across shells)."""
        shells = tuple(shells)
        if not shells:
            raise ValueError("shells: expected at least one WalkerPreset")
        parts = [cls.walker(s.planes, s.sats_per_plane, s.altitude_km, s.inclination_deg, s.phasing, s.pattern,
                            epoch) for s in shells]
        satrecs = [sat for p in parts for sat in p.satrecs]
        offsets = np.cumsum([0] + [s.planes for s in shells[:-1]])
        c = cls(
            satrecs, epoch=epoch,
            plane=np.concatenate([p.plane + off for p, off in zip(parts, offsets)]),
            slot=np.concatenate([p.slot for p in parts]),
            names=[f"L{k}{n}" for k, p in enumerate(parts) for n in p.names],
            pattern=None, num_planes=int(sum(s.planes for s in shells)), sats_per_plane=0, phasing=0,
            recipe=("shells", (shells, epoch)),
        )
        c.shells = shells
        c.shell = np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])
        c.local_plane = np.concatenate([p.plane for p in parts])
        return c

    @property
    def shell_planes(self) -> np.ndarray:
        """(N,) number of planes in each satellite's shell."""
        return np.array([s.planes for s in self.shells], dtype=np.int64)[self.shell]

    @property
    def shell_sats_per_plane(self) -> np.ndarray:
        """(N,) satellites per plane in each satellite's shell."""
        return np.array([s.sats_per_plane for s in self.shells], dtype=np.int64)[self.shell]

    @classmethod
    def from_elements(
        cls,
        altitude_km,
        inclination_deg,
        raan_deg,
        mean_anomaly_deg,
        epoch: datetime = DEFAULT_EPOCH,
    ) -> Constellation:
        """Circular orbits given per satellite: altitude (km), inclination, right ascension of the
        ascending node and mean anomaly at ``epoch`` (degrees), each an array of length N."""
        arrays = [np.atleast_1d(np.asarray(x, dtype=float))
                  for x in (altitude_km, inclination_deg, raan_deg, mean_anomaly_deg)]
        n = arrays[0].size
        names = ("altitude_km", "inclination_deg", "raan_deg", "mean_anomaly_deg")
        for name, arr in zip(names, arrays):
            if arr.shape != (n,):
                raise ValueError(f"{name}: expected {n} values, got shape {arr.shape}")
        alt, inc, raan, anomaly = arrays
        for k in range(n):
            _require_float("altitude_km", alt[k], 0.0, MAX_ALTITUDE_KM, low_open=True)
            _require_float("inclination_deg", inc[k], 0.0, 180.0)
            _require_float("raan_deg", raan[k], -360.0, 720.0)
            _require_float("mean_anomaly_deg", anomaly[k], -360.0, 720.0)
        jd, fr = _julian(epoch)
        satrecs = []
        for k in range(n):
            a = EARTH_RADIUS_M + alt[k] * 1e3
            sat = Satrec()
            sat.sgp4init(
                WGS72, "i", k + 1, (jd - SGP4_EPOCH_JD) + fr,
                0.0, 0.0, 0.0,  # no drag terms
                0.0, 0.0,  # circular: eccentricity, argument of perigee
                math.radians(inc[k]), math.radians(anomaly[k] % 360.0),
                math.sqrt(EARTH_MU_M3_S2 / a**3) * 60.0,  # mean motion, rad/min as sgp4init wants
                math.radians(raan[k] % 360.0),
            )
            satrecs.append(sat)
        return cls(
            satrecs, epoch=epoch, plane=np.full(n, -1), slot=np.full(n, -1), names=[f"S{k:03d}" for k in range(n)],
            pattern=None, num_planes=0, sats_per_plane=0, phasing=0,
            recipe=("elements", (alt, inc, raan, anomaly, epoch)),
        )

    @classmethod
    def from_preset(cls, name: str, epoch: datetime = DEFAULT_EPOCH) -> Constellation:
        if name in SHELL_PRESETS:
            return cls.from_shells(SHELL_PRESETS[name], epoch)
        if name not in CONSTELLATION_PRESETS:
            raise ValueError(f"preset: {name!r} is not one of {sorted(CONSTELLATION_PRESETS) + sorted(SHELL_PRESETS)}")
        p = CONSTELLATION_PRESETS[name]
        return cls.walker(
            p.planes, p.sats_per_plane, p.altitude_km, p.inclination_deg, p.phasing, p.pattern, epoch
        )

    @classmethod
    def from_tle(
        cls, source: str | Path, *, checksum: bool = True, epoch: datetime | None = None
    ) -> Constellation:
        """Satellites from two- or three-line sets, given as text or as a path to a file (a ``str`` is
        text if it has a line break or starts with a TLE line, else a path: ``tle.read_tle_source``).

        Every set is validated (see ``leo_envs.core.tle``); ``epoch`` defaults to the first set's epoch.
        """
        text = read_tle_source(source)
        sets = parse_tle(text, checksum=checksum)
        satrecs = []
        for tle in sets:
            try:
                satrecs.append(Satrec.twoline2rv(tle.line1, tle.line2, WGS72))
            except ValueError as exc:  # malformed numeric fields
                raise ValueError(f"TLE line {tle.line_number}: {exc}") from None
        epoch_jd_fr = None
        if epoch is None:
            epoch = sat_epoch_datetime(satrecs[0])
            epoch_jd_fr = (satrecs[0].jdsatepoch, satrecs[0].jdsatepochF)
        n = len(satrecs)
        return cls(
            satrecs,
            epoch=epoch,
            plane=np.full(n, -1),
            slot=np.full(n, -1),
            names=[t.name for t in sets],
            pattern=None,
            num_planes=0,
            sats_per_plane=0,
            phasing=0,
            recipe=("tle", (text, checksum, None if epoch_jd_fr else epoch)),
            epoch_jd_fr=epoch_jd_fr,
        )

    def __reduce__(self):
        return _rebuild, self._recipe

    def __len__(self) -> int:
        return len(self._satrecs)

    def __repr__(self) -> str:
        if self.pattern:
            layout = f"{self.num_planes}x{self.sats_per_plane} {self.pattern}"
        else:
            layout = f"{len(self.shells)} shells" if self.shells else "no Walker layout"
        return f"Constellation({len(self)} satellites, {layout}, epoch={self.epoch.isoformat()})"

    @property
    def satrecs(self) -> list[Satrec]:
        return self._satrecs

    # ------------------------------------------------------------------ propagation
    def propagate(self, times_s: np.ndarray) -> Propagation:
        """TEME states at ``times_s`` seconds after ``epoch``, all satellites and times in one sgp4 call."""
        times = np.atleast_1d(np.asarray(times_s, dtype=float))
        jd = np.full(times.shape, self.epoch_jd)
        fr = self.epoch_fr + times / SECONDS_PER_DAY
        err, r, v = self._array.sgp4(jd, fr)  # (N, T), (N, T, 3) km, km/s
        r = r.transpose(1, 0, 2) * 1e3
        v = v.transpose(1, 0, 2) * 1e3
        err = err.T
        valid = (err == 0) & np.isfinite(r).all(axis=2) & np.isfinite(v).all(axis=2)
        r[~valid] = np.nan
        v[~valid] = np.nan
        return Propagation(times, r, v, valid, err)

    def positions_teme(self, times_s: np.ndarray) -> np.ndarray:
        """(T, N, 3) TEME positions in metres; NaN for satellites sgp4 cannot propagate."""
        return self.propagate(times_s).position_m

    def gmst(self, times_s: np.ndarray) -> np.ndarray:
        times = np.atleast_1d(np.asarray(times_s, dtype=float))
        return gmst_rad(self.epoch_jd, self.epoch_fr + times / SECONDS_PER_DAY)

    def positions_ecef(self, times_s: np.ndarray) -> np.ndarray:
        """(T, N, 3) Earth-fixed positions in metres at ``times_s`` seconds after ``epoch``.

        One vectorised ``SatrecArray.sgp4`` call, then a rotation by GMST. NaN marks invalid satellites.
        """
        times = np.atleast_1d(np.asarray(times_s, dtype=float))
        jd = np.full(times.shape, self.epoch_jd)
        fr = self.epoch_fr + times / SECONDS_PER_DAY
        err, r, _ = self._array.sgp4(jd, fr)
        ecef = teme_to_ecef(r.transpose(1, 0, 2), gmst_rad(jd, fr))
        ecef *= 1e3
        ecef[err.T != 0] = np.nan
        return ecef

    def sunlit(self, times_s: np.ndarray) -> np.ndarray:
        """(T, N) True where a satellite is outside the Earth's cylindrical shadow (False if invalid)."""
        prop = self.propagate(times_s)
        sun = sun_position_eci(self.epoch_jd, self.epoch_fr + prop.times_s / SECONDS_PER_DAY)
        with np.errstate(invalid="ignore"):
            return sunlit(prop.position_m, sun[:, None, :]) & prop.valid

    def geodetic(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude and longitude (degrees) and altitude (m) on WGS84, each (T, N)."""
        return ecef_to_geodetic(self.positions_ecef(times_s))


def _rebuild(kind: str, args: tuple) -> Constellation:
    if kind == "walker":
        return Constellation.walker(*args)
    if kind == "elements":
        return Constellation.from_elements(*args)
    if kind == "shells":
        return Constellation.from_shells(*args)
    text, checksum, epoch = args
    return Constellation.from_tle(text, checksum=checksum, epoch=epoch)
