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
from sgp4.exporter import export_tle

from .constants import EARTH_MU_M3_S2, EARTH_RADIUS_M, SECONDS_PER_DAY, SGP4_EPOCH_JD
from .frames import ecef_to_geodetic, gmst_rad, teme_to_ecef
from .layout import Layout, LayoutTolerances, infer_layout
from .presets import CONSTELLATION_PRESETS, SHELL_PRESETS, WalkerPreset
from .sun import sun_position_eci, sunlit
from .tle import parse_tle, read_tle_source

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
WALKER_PATTERNS = ("delta", "star")
MAX_ALTITUDE_KM = 100_000.0
UNPLACED_CHOICES = ("relay", "drop")  # TLE satellites without a slot: kept without ISLs, or left out


@dataclass(frozen=True)
class OrbitElements:
    """Orbit facts of every satellite, each (N,). Inclination, RAAN and argument of latitude are
    osculating, from the TEME state at the constellation's epoch (so TLE sets with different epochs
    compare at one instant; NaN where sgp4 fails); mean motion, period and altitude are the mean
    ones of the element set (altitude from Kepler's third law on the WGS72 sphere)."""

    inclination_deg: np.ndarray
    raan_deg: np.ndarray  # right ascension of the ascending node, [0, 360)
    arg_latitude_deg: np.ndarray  # angle from the ascending node to the satellite, [0, 360)
    eccentricity: np.ndarray
    mean_motion_rad_s: np.ndarray
    period_s: np.ndarray
    altitude_km: np.ndarray


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

    ``plane`` and ``slot`` give each satellite's orbital plane and position in it (-1 where not known:
    ``from_elements``, and TLE satellites that fit no slot of the layout inferred from their elements).
    ``epoch`` is the time origin of every ``times_s``. ``to_tle()`` writes the satellites as TLE text.
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
        self.unplaced_reasons: dict[int, str] = {}  # TLE satellites kept without a slot: index -> why
        self.left_out: dict[int, str] = {}  # TLE satellites left out (unplaced="drop"): catalog number -> why
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
        first_catalog_number: int = 1,
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
            anomaly, epoch=epoch, first_catalog_number=first_catalog_number,
        )
        c.plane, c.slot = plane_idx, slot_idx
        c.names = [f"P{p:02d}S{s:02d}" for p, s in zip(plane_idx, slot_idx)]
        c.pattern, c.num_planes, c.sats_per_plane, c.phasing = pattern, planes, sats_per_plane, phasing
        c.shells = (WalkerPreset(planes, sats_per_plane, altitude_km, inclination_deg, phasing, pattern, "walker"),)
        c.local_plane = plane_idx.copy()
        c._recipe = ("walker", (planes, sats_per_plane, altitude_km, inclination_deg, phasing, pattern, epoch,
                                first_catalog_number))
        return c

    @classmethod
    def from_shells(cls, shells, epoch: datetime = DEFAULT_EPOCH) -> Constellation:
        """Several Walker shells in one constellation (planes are numbered across shells)."""
        shells = tuple(shells)
        if not shells:
            raise ValueError("shells: expected at least one WalkerPreset")
        first = np.cumsum([1] + [s.planes * s.sats_per_plane for s in shells[:-1]])  # unique catalog numbers
        parts = [cls.walker(s.planes, s.sats_per_plane, s.altitude_km, s.inclination_deg, s.phasing, s.pattern,
                            epoch, int(f)) for s, f in zip(shells, first)]
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
        """(N,) number of planes in each satellite's shell (0 for satellites in none)."""
        return np.array([0] + [s.planes for s in self.shells], dtype=np.int64)[self.shell + 1]

    @property
    def shell_sats_per_plane(self) -> np.ndarray:
        """(N,) satellites per plane in each satellite's shell (0 for satellites in none)."""
        return np.array([0] + [s.sats_per_plane for s in self.shells], dtype=np.int64)[self.shell + 1]

    @classmethod
    def from_elements(
        cls,
        altitude_km,
        inclination_deg,
        raan_deg,
        mean_anomaly_deg,
        epoch: datetime = DEFAULT_EPOCH,
        first_catalog_number: int = 1,
    ) -> Constellation:
        """Circular orbits given per satellite: altitude (km), inclination, right ascension of the
        ascending node and mean anomaly at ``epoch`` (degrees), each an array of length N. Catalog
        numbers run from ``first_catalog_number``."""
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
        first_catalog_number = _require_int("first_catalog_number", first_catalog_number, 1, 99_999 - max(n - 1, 0))
        jd, fr = _julian(epoch)
        satrecs = []
        for k in range(n):
            a = EARTH_RADIUS_M + alt[k] * 1e3
            sat = Satrec()
            sat.sgp4init(
                WGS72, "i", first_catalog_number + k, (jd - SGP4_EPOCH_JD) + fr,
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
            recipe=("elements", (alt, inc, raan, anomaly, epoch, first_catalog_number)),
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
        cls,
        source: str | Path,
        *,
        checksum: bool = True,
        epoch: datetime | None = None,
        catalog_numbers=None,
        layout: bool = True,
        unplaced: str = "relay",
        tolerances: LayoutTolerances | None = None,
    ) -> Constellation:
        """Satellites from two- or three-line sets, given as text or as a path to a file (a ``str`` is
        text if it has a line break or starts with a TLE line, else a path: ``tle.read_tle_source``).

        Every set is validated (see ``leo_envs.core.tle``); ``epoch`` defaults to the first set's epoch.
        ``catalog_numbers``: keep only these satellites (NORAD numbers; each must be in the set).
        ``layout``: infer shells, planes and slots from the elements at the epoch (``core.layout``), so
        ``plus_grid`` applies; satellites that fit no slot, and those sgp4 cannot propagate at the
        epoch, are ``unplaced``: "relay" keeps them (plane and slot -1, no +Grid links; see
        ``unplaced_reasons``), "drop" leaves them out (see ``left_out``, by catalog number).
        """
        if unplaced not in UNPLACED_CHOICES:
            raise ValueError(f"unplaced: {unplaced!r} is not one of {UNPLACED_CHOICES}")
        tolerances = LayoutTolerances() if tolerances is None else tolerances
        if not isinstance(tolerances, LayoutTolerances):
            raise ValueError(f"tolerances: expected a LayoutTolerances, got {tolerances!r}")
        text = read_tle_source(source)
        sets = parse_tle(text, checksum=checksum)
        satrecs = []
        for tle in sets:
            try:
                satrecs.append(Satrec.twoline2rv(tle.line1, tle.line2, WGS72))
            except ValueError as exc:  # malformed numeric fields
                raise ValueError(f"TLE line {tle.line_number}: {exc}") from None
        names = [t.name for t in sets]
        keep_numbers = None
        if catalog_numbers is not None:
            keep_numbers = _catalog_list("catalog_numbers", catalog_numbers)
            have = [sat.satnum for sat in satrecs]
            missing = sorted(set(keep_numbers) - set(have))
            if missing:
                raise ValueError(f"catalog_numbers: {missing[:10]} not in the TLE set "
                                 f"({len(missing)} missing; the set has {len(have)} satellites)")
            wanted = set(keep_numbers)
            chosen = [k for k, number in enumerate(have) if number in wanted]
            satrecs, names = [satrecs[k] for k in chosen], [names[k] for k in chosen]
        epoch_jd_fr = None
        user_epoch = epoch
        if epoch is None:
            epoch = sat_epoch_datetime(satrecs[0])
            epoch_jd_fr = (satrecs[0].jdsatepoch, satrecs[0].jdsatepochF)
        n = len(satrecs)
        recipe = ("tle", (text, checksum, user_epoch, keep_numbers, layout, unplaced, tolerances))
        c = cls(satrecs, epoch=epoch, plane=np.full(n, -1), slot=np.full(n, -1), names=names, pattern=None,
                num_planes=0, sats_per_plane=0, phasing=0, recipe=recipe, epoch_jd_fr=epoch_jd_fr)
        c.shell = np.full(n, -1, dtype=np.int64)
        c.local_plane = c.plane.copy()
        if layout:
            el = c.elements()
            found = infer_layout(el.inclination_deg, el.raan_deg, el.arg_latitude_deg, el.altitude_km,
                                 ~c.failed_at_epoch, tolerances)
            if unplaced == "drop" and found.unplaced:
                keep = np.flatnonzero(found.placed)
                if keep.size == 0:
                    raise ValueError("unplaced: 'drop' leaves no satellite (none fits a plane); use 'relay'")
                left_out = {int(satrecs[k].satnum): reason for k, reason in found.unplaced.items()}
                c = cls([satrecs[k] for k in keep], epoch=epoch, plane=found.plane[keep], slot=found.slot[keep],
                        names=[names[k] for k in keep], pattern=None, num_planes=0, sats_per_plane=0, phasing=0,
                        recipe=recipe, epoch_jd_fr=epoch_jd_fr)
                c.left_out = left_out
                found = Layout(found.plane[keep], found.slot[keep], found.shell[keep], found.local_plane[keep],
                               found.shells, {})
            c._apply_layout(found)
        return c

    def _apply_layout(self, layout: Layout) -> None:
        self.plane, self.slot = layout.plane, layout.slot
        self.shell, self.local_plane, self.shells = layout.shell, layout.local_plane, layout.shells
        self.unplaced_reasons = dict(layout.unplaced)
        self.num_planes = int(sum(sh.planes for sh in layout.shells))
        if len(layout.shells) == 1:
            sh = layout.shells[0]
            self.pattern, self.sats_per_plane, self.phasing = sh.pattern, sh.sats_per_plane, sh.phasing

    def to_tle(self) -> str:
        """The constellation as three-line element sets (name, line 1, line 2), written by sgp4's
        ``export_tle`` (valid checksums); ``from_tle`` reads it back. Angles keep 4 decimals and the
        mean motion 8, so positions come back within tens of metres."""
        out = []
        for name, sat in zip(self.names, self._satrecs):
            line1, line2 = export_tle(sat)
            out += [name[:24], line1, line2]
        return "\n".join(out) + "\n"

    @property
    def catalog_numbers(self) -> np.ndarray:
        """(N,) NORAD catalog number of each satellite (1, 2, ... for constellations we build)."""
        return np.array([sat.satnum for sat in self._satrecs], dtype=np.int64)

    def elements(self) -> OrbitElements:
        """Orbit facts of every satellite (see ``OrbitElements``)."""
        prop = self.propagate(np.zeros(1))
        r, v = prop.position_m[0], prop.velocity_m_s[0]
        h = np.cross(r, v)
        with np.errstate(invalid="ignore", divide="ignore"):
            inc = np.arccos(np.clip(h[:, 2] / np.linalg.norm(h, axis=1), -1.0, 1.0))
            raan = np.arctan2(h[:, 0], -h[:, 1])
            sin_i = np.sin(inc)
            equatorial = np.abs(sin_i) < 1e-9
            raan = np.where(equatorial, 0.0, raan)
            u = np.where(equatorial, np.arctan2(r[:, 1], r[:, 0]),
                         np.arctan2(r[:, 2] / np.where(equatorial, 1.0, sin_i),
                                    r[:, 0] * np.cos(raan) + r[:, 1] * np.sin(raan)))
        mean_motion = np.array([sat.no_kozai for sat in self._satrecs]) / 60.0  # rad/min -> rad/s
        with np.errstate(divide="ignore", invalid="ignore"):
            altitude_km = (np.cbrt(EARTH_MU_M3_S2 / mean_motion**2) - EARTH_RADIUS_M) / 1e3
            period = 2 * np.pi / mean_motion
        return OrbitElements(
            np.rad2deg(inc), np.mod(np.rad2deg(raan), 360.0), np.mod(np.rad2deg(u), 360.0),
            np.array([sat.ecco for sat in self._satrecs]), mean_motion, period, altitude_km,
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
    text, checksum, epoch, numbers, layout, unplaced, tolerances = args
    return Constellation.from_tle(text, checksum=checksum, epoch=epoch, catalog_numbers=numbers, layout=layout,
                                  unplaced=unplaced, tolerances=tolerances)


def _catalog_list(field: str, value) -> tuple[int, ...]:
    """A non-empty list of distinct catalog numbers (integers in [1, 339999], Alpha-5's range)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{field}: {value!r} is not a list of catalog numbers")
    numbers = tuple(_require_int(f"{field}[{k}]", v, 1, 339_999) for k, v in enumerate(value))
    if not numbers:
        raise ValueError(f"{field}: expected at least one catalog number, got an empty list")
    dup = sorted({x for x in numbers if numbers.count(x) > 1})
    if dup:
        raise ValueError(f"{field}: catalog numbers {dup[:10]} are listed twice")
    return numbers
