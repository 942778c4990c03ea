"""Named Walker constellations. Altitudes in km and angles in degrees, as the filings give them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WalkerPreset:
    planes: int
    sats_per_plane: int
    altitude_km: float
    inclination_deg: float
    phasing: int
    pattern: str  # "delta" (RAAN over 360 deg) or "star" (RAAN over 180 deg, polar)
    source: str


CONSTELLATION_PRESETS: dict[str, WalkerPreset] = {
    "iridium": WalkerPreset(6, 11, 780.0, 86.4, 2, "star", "Iridium: 66 satellites, 6 polar planes"),
    "starlink_shell1": WalkerPreset(
        72, 22, 550.0, 53.0, 1, "delta", "SpaceX FCC filing (2018), first shell; phasing not filed"
    ),
    "kuiper_shell1": WalkerPreset(
        34, 34, 630.0, 51.9, 1, "delta", "Amazon Kuiper FCC filing (2019), 630 km shell; phasing not filed"
    ),
    "telesat_polar": WalkerPreset(
        6, 12, 1015.0, 99.5, 1, "star", "del Portillo et al., Acta Astronautica 159 (2019), Telesat polar"
    ),
    "tiny": WalkerPreset(6, 6, 1200.0, 86.4, 1, "star", "36 satellites, a fast constellation for tests"),
}

_GEN1 = "SpaceX FCC modification (2021), Gen1 phase 1 shells; phasing not filed"
# constellations of several Walker shells, each with its own +Grid
SHELL_PRESETS: dict[str, tuple[WalkerPreset, ...]] = {
    "starlink_gen1": (  # 4408 satellites
        WalkerPreset(72, 22, 550.0, 53.0, 1, "delta", _GEN1),
        WalkerPreset(72, 22, 540.0, 53.2, 1, "delta", _GEN1),
        WalkerPreset(36, 20, 570.0, 70.0, 1, "delta", _GEN1),
        WalkerPreset(6, 58, 560.0, 97.6, 1, "star", _GEN1),
        WalkerPreset(4, 43, 560.0, 97.6, 1, "star", _GEN1),
    ),
}
