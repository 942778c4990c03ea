"""Low-precision solar position and a cylindrical Earth shadow (sunlit flags).

Solar position from the Astronomical Almanac's low-precision formulae (about 0.01 deg, 1950-2050),
in the mean equator-of-date frame, which for a shadow test is indistinguishable from TEME.
"""

from __future__ import annotations

import numpy as np

from .constants import EARTH_RADIUS_M

AU_M = 149_597_870_700.0


def sun_position_eci(jd, fr=0.0) -> np.ndarray:
    """Sun position (..., 3) in metres, Earth-centred inertial (equator of date)."""
    n = (np.asarray(jd, float) - 2451545.0) + np.asarray(fr, float)
    mean_lon = np.deg2rad(280.460 + 0.9856474 * n)
    g = np.deg2rad(357.528 + 0.9856003 * n)
    ecl_lon = mean_lon + np.deg2rad(1.915) * np.sin(g) + np.deg2rad(0.020) * np.sin(2 * g)
    obliquity = np.deg2rad(23.439 - 0.0000004 * n)
    dist = AU_M * (1.00014 - 0.01671 * np.cos(g) - 0.00014 * np.cos(2 * g))
    return np.stack(
        [
            dist * np.cos(ecl_lon),
            dist * np.cos(obliquity) * np.sin(ecl_lon),
            dist * np.sin(obliquity) * np.sin(ecl_lon),
        ],
        axis=-1,
    )


def sunlit(r_eci: np.ndarray, sun_eci: np.ndarray, earth_radius_m: float = EARTH_RADIUS_M) -> np.ndarray:
    """True where a position (..., 3) is outside the Earth's cylindrical shadow.

    ``sun_eci`` broadcasts against ``r_eci`` (e.g. (T, 1, 3) against (T, N, 3)).
    """
    s_hat = sun_eci / np.linalg.norm(sun_eci, axis=-1, keepdims=True)
    along = np.sum(r_eci * s_hat, axis=-1)
    perp = np.linalg.norm(r_eci - along[..., None] * s_hat, axis=-1)
    return (along >= 0) | (perp >= earth_radius_m)
