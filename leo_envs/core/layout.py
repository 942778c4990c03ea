"""Walker layouts inferred from orbits: which satellites share a shell and a plane, and their slots.

A TLE set says nothing about planes. ``infer_layout`` groups satellites the way a constellation's
filing would: shells by inclination and altitude, planes by right ascension of the ascending node
(RAAN), each with a tolerance (single linkage: two satellites whose values differ by less than the
tolerance, directly or through others, are in the same group). In each plane, satellites are ordered
by argument of latitude and put on the plane's evenly spaced slots; the slot count of a shell comes
from the median spacing, so a plane with a satellite missing keeps its slot numbers and gets a hole.

Slot numbers line up across planes so that "the same slot in the next plane" is the nearest
satellite there (as in a Walker constellation, whose phasing shifts each plane by less than half a
slot): the +Grid of ``topology.plus_grid`` then links the same pairs as for the Walker preset the set
was made from. A shell's planes form a ring (delta, RAAN over 360 deg) unless one gap between planes
is much wider than the others: a star pattern, whose seam gets no inter-plane links.

Satellites that fit no plane (alone in their shell or plane, or second in a slot another holds more
closely) and satellites sgp4 cannot propagate at the epoch are ``unplaced``, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .presets import WalkerPreset

STAR_GAP_RATIO = 1.5  # a star pattern's seam is at least this many times the median gap between planes


@dataclass(frozen=True)
class LayoutTolerances:
    """How far apart two satellites' elements may be and still share a shell or a plane."""

    inclination_deg: float = 0.1  # shells: inclination, deg (Starlink's 53.0 and 53.2 deg shells differ)
    altitude_km: float = 5.0  # shells: mean altitude from the mean motion, km
    raan_deg: float = 1.0  # planes: right ascension of the ascending node, deg
    min_plane_size: int = 2  # a plane has at least this many satellites; fewer are unplaced

    def __post_init__(self) -> None:
        for name in ("inclination_deg", "altitude_km", "raan_deg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0
            ):
                raise ValueError(f"tolerance {name}: {value!r} must be a finite number > 0")
        if isinstance(self.min_plane_size, bool) or not isinstance(self.min_plane_size, int) or self.min_plane_size < 1:
            raise ValueError(f"tolerance min_plane_size: {self.min_plane_size!r} must be an integer >= 1")


@dataclass(frozen=True)
class Layout:
    """Plane, slot and shell of each satellite (-1 for unplaced ones) and the shells found."""

    plane: np.ndarray  # (N,) plane, numbered across shells
    slot: np.ndarray  # (N,) slot within the plane
    shell: np.ndarray  # (N,) index into ``shells``
    local_plane: np.ndarray  # (N,) plane within the shell
    shells: tuple[WalkerPreset, ...]  # ``phasing`` is the slot offset across a delta ring's seam
    unplaced: dict[int, str] = field(default_factory=dict)  # satellite index -> why it has no slot

    @property
    def placed(self) -> np.ndarray:
        return self.slot >= 0


def _linkage_1d(values: np.ndarray, tol: float) -> np.ndarray:
    """Group labels 0, 1, ... of values (on a line) chained by gaps below ``tol``, in ascending order."""
    order = np.argsort(values, kind="stable")
    breaks = np.concatenate([[0], np.diff(values[order]) > tol]).astype(np.int64)
    labels = np.empty(values.size, np.int64)
    labels[order] = np.cumsum(breaks)
    return labels


def _linkage_circle(angles_deg: np.ndarray, tol: float) -> np.ndarray:
    """Like ``_linkage_1d`` for angles on a circle (a group may straddle 0/360 deg)."""
    a = np.mod(angles_deg, 360.0)
    order = np.argsort(a, kind="stable")
    s = a[order]
    gaps = np.diff(np.concatenate([s, [s[0] + 360.0]]))  # gap after each sorted angle
    cut = np.flatnonzero(gaps > tol)
    if cut.size == 0:  # one group all round the circle
        return np.zeros(a.size, np.int64)
    start = (cut[-1] + 1) % s.size  # begin right after a cut, so no group wraps
    rolled = np.roll(np.arange(s.size), -start)
    breaks = np.zeros(s.size, np.int64)
    breaks[1:] = gaps[rolled[:-1]] > tol
    labels = np.empty(a.size, np.int64)
    labels[order[rolled]] = np.cumsum(breaks)
    return labels


def _circular_mean_deg(angles_deg: np.ndarray, period_deg: float = 360.0) -> float:
    z = np.exp(1j * np.deg2rad(np.asarray(angles_deg) * 360.0 / period_deg)).mean()
    return float(np.mod(np.rad2deg(np.angle(z)) * period_deg / 360.0, period_deg))


def _wrap(x: np.ndarray | float, period: float) -> np.ndarray | float:
    """``x`` wrapped into [-period/2, period/2)."""
    return np.mod(np.asarray(x) + period / 2, period) - period / 2


def infer_layout(
    inclination_deg: np.ndarray,
    raan_deg: np.ndarray,
    arg_latitude_deg: np.ndarray,
    altitude_km: np.ndarray,
    valid: np.ndarray,
    tolerances: LayoutTolerances = LayoutTolerances(),
) -> Layout:
    """The Walker layout of N satellites from their elements at one instant (each array (N,));
    satellites with ``valid`` False are unplaced."""
    inc, raan, u, alt = (np.asarray(x, float) for x in (inclination_deg, raan_deg, arg_latitude_deg, altitude_km))
    valid = np.asarray(valid, bool) & np.isfinite(inc) & np.isfinite(raan) & np.isfinite(u) & np.isfinite(alt)
    n = inc.size
    tol = tolerances
    plane, slot, shell, local_plane = (np.full(n, -1, np.int64) for _ in range(4))
    unplaced = {int(k): "sgp4 cannot propagate it at the epoch (decayed or bad elements)"
                for k in np.flatnonzero(~valid)}
    shells: list[WalkerPreset] = []
    idx = np.flatnonzero(valid)
    groups: list[np.ndarray] = []
    for g_inc in np.unique(_linkage_1d(inc[idx], tol.inclination_deg)):
        members = idx[_linkage_1d(inc[idx], tol.inclination_deg) == g_inc]
        alt_labels = _linkage_1d(alt[members], tol.altitude_km)
        groups += [members[alt_labels == g] for g in np.unique(alt_labels)]
    groups.sort(key=lambda m: int(m.min()))  # shells in the order the set lists them
    plane_offset = 0
    for members in groups:
        found = _shell_planes(members, raan, u, tol, unplaced)
        if found is None:
            continue
        planes, sats_per_plane, slots, pattern, seam_offset = found
        k = len(shells)
        for p, (sats, sat_slots) in enumerate(zip(planes, slots)):
            plane[sats], slot[sats], shell[sats], local_plane[sats] = plane_offset + p, sat_slots, k, p
        placed = np.concatenate(planes)
        shells.append(WalkerPreset(
            len(planes), sats_per_plane, round(float(np.median(alt[placed])), 3),
            round(float(np.median(inc[placed])), 4), seam_offset, pattern, "inferred from orbital elements",
        ))
        plane_offset += len(planes)
    # a satellite unplaced in the slot step loses its plane too
    lost = slot < 0
    plane[lost] = shell[lost] = local_plane[lost] = -1
    return Layout(plane, slot, shell, local_plane, tuple(shells), dict(sorted(unplaced.items())))


def _shell_planes(members, raan, u, tol: LayoutTolerances, unplaced: dict[int, str]):
    """Planes of one shell in RAAN order, their slots, the pattern and the seam's slot offset;
    None if no plane has ``min_plane_size`` satellites."""
    if members.size < tol.min_plane_size:
        for k in members:
            unplaced[int(k)] = "alone in its shell (inclination and altitude)"
        return None
    labels = _linkage_circle(raan[members], tol.raan_deg)
    planes, centres = [], []
    for g in np.unique(labels):
        sats = members[labels == g]
        if sats.size < tol.min_plane_size:
            for k in sats:
                unplaced[int(k)] = f"fits no plane (fewer than {tol.min_plane_size} satellites share its RAAN)"
            continue
        planes.append(sats)
        centres.append(_circular_mean_deg(raan[sats]))
    if not planes:
        return None
    centres = np.array(centres)
    # order the planes by RAAN; a ring starts at the plane nearest 0 deg, a star right after its seam
    order = np.argsort(centres)
    centres, planes = centres[order], [planes[k] for k in order]
    gaps = np.diff(np.concatenate([centres, [centres[0] + 360.0]]))  # gap after each plane
    pattern, start = "delta", 0
    if len(planes) > 1:
        widest = int(np.argmax(gaps))
        others = np.delete(gaps, widest)
        if gaps[widest] > STAR_GAP_RATIO * float(np.median(others)):
            pattern, start = "star", (widest + 1) % len(planes)
        else:
            start = int(np.argmin(np.abs(_wrap(centres, 360.0))))
    planes = planes[start:] + planes[:start]
    # slot spacing from the median gap between neighbours in a plane (a hole is one wide gap)
    in_plane_gaps = []
    for sats in planes:
        s = np.sort(np.mod(u[sats], 360.0))
        in_plane_gaps.append(np.diff(np.concatenate([s, [s[0] + 360.0]])))
    spacing = float(np.median(np.concatenate(in_plane_gaps)))
    sats_per_plane = max(1, int(round(360.0 / spacing)))
    spacing = 360.0 / sats_per_plane
    phases: list[float] = []
    slots: list[np.ndarray] = []
    for p, sats in enumerate(planes):
        raw = _circular_mean_deg(np.mod(u[sats], spacing), spacing)
        # slot 0 of the first plane is nearest the ascending node; each next plane's slots line up
        # with the nearest slots of the plane before
        ref = 0.0 if p == 0 else phases[-1]
        phase = ref + float(_wrap(raw - ref, spacing))
        phases.append(phase)
        offset = (u[sats] - phase) / spacing
        nominal = np.mod(np.round(offset), sats_per_plane).astype(np.int64)
        error = np.abs(_wrap(offset, 1.0))
        keep = np.full(sats.size, True)
        for s in np.unique(nominal):
            same = np.flatnonzero(nominal == s)
            if same.size > 1:  # the satellite closest to the slot holds it
                for k in same[same != same[np.argmin(error[same])]]:
                    keep[k] = False
                    unplaced[int(sats[k])] = f"shares slot {int(s)} of its plane with a satellite nearer to it"
        slots.append(np.where(keep, nominal, -1))
    seam_offset = 0
    if pattern == "delta" and len(planes) > 1:
        # the last plane's slot s faces the first plane's slot s + offset, whichever is nearest
        seam_offset = int(np.mod(round((phases[-1] - phases[0]) / spacing), sats_per_plane))
    return planes, sats_per_plane, slots, pattern, seam_offset
