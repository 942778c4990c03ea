"""Reference frames: TEME -> ECEF by Greenwich mean sidereal time, ECEF <-> WGS84 geodetic."""

from __future__ import annotations

import numpy as np

from .constants import WGS84_A_M, WGS84_E2

_TWO_PI = 2.0 * np.pi


def gmst_rad(jd_ut1: np.ndarray, fr: np.ndarray | float = 0.0) -> np.ndarray:
    """Greenwich mean sidereal angle (IAU-82), the same formula as ``sgp4.propagation.gstime``,
    vectorised; the day fraction is kept apart from the Julian day to keep precision."""
    tut1 = ((np.asarray(jd_ut1, float) - 2451545.0) + np.asarray(fr, float)) / 36525.0
    seconds = (
        -6.2e-6 * tut1**3
        + 0.093104 * tut1**2
        + (876600.0 * 3600.0 + 8640184.812866) * tut1
        + 67310.54841
    )
    return np.mod(np.deg2rad(seconds / 240.0), _TWO_PI)


def teme_to_ecef(r_teme: np.ndarray, gmst: np.ndarray) -> np.ndarray:
    """Rotate positions (..., T, N, 3) about z by the GMST angle of each time (T,) (polar motion ignored)."""
    c = np.cos(gmst)[:, None]
    s = np.sin(gmst)[:, None]
    out = np.empty(r_teme.shape, dtype=float)
    x = r_teme[..., 0]
    y = r_teme[..., 1]
    out[..., 0] = c * x + s * y
    out[..., 1] = c * y - s * x
    out[..., 2] = r_teme[..., 2]
    return out


def geodetic_to_ecef(lat_deg, lon_deg, alt_m) -> np.ndarray:
    """WGS84 geodetic latitude/longitude (degrees) and height (m) to ECEF metres, shape (..., 3)."""
    lat = np.deg2rad(np.asarray(lat_deg, float))
    lon = np.deg2rad(np.asarray(lon_deg, float))
    alt = np.asarray(alt_m, float)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
    return np.stack(
        [
            (n + alt) * np.cos(lat) * np.cos(lon),
            (n + alt) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - WGS84_E2) + alt) * np.sin(lat),
        ],
        axis=-1,
    )


def ecef_to_geodetic(r_ecef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF metres (..., 3) to WGS84 latitude, longitude (degrees) and height (m).

    Fixed-point iteration on latitude; five rounds reach sub-millimetre height at LEO altitudes.
    """
    x, y, z = r_ecef[..., 0], r_ecef[..., 1], r_ecef[..., 2]
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(5):
        n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
        alt = p / np.maximum(np.cos(lat), 1e-12) - n
        lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + alt)))
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
    # near the poles p/cos(lat) is ill-conditioned: use the z form there
    polar = np.abs(np.sin(lat)) > 0.9
    alt = np.where(
        polar,
        z / np.where(polar, np.sin(lat), 1.0) - n * (1.0 - WGS84_E2),
        p / np.maximum(np.cos(lat), 1e-12) - n,
    )
    return np.rad2deg(lat), np.rad2deg(lon), alt
