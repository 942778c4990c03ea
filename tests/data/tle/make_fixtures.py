"""Writes the TLE fixtures of the tests from the presets with ``Constellation.to_tle()``:

    python tests/data/tle/make_fixtures.py

``tests/core/test_tle_layout.py`` checks that the committed files are what this writes.
"""

from __future__ import annotations

from pathlib import Path

from sgp4.io import compute_checksum

from leo_envs.core import Constellation

HERE = Path(__file__).parent
HOLES = (5, 17, 40)  # catalog numbers removed from Iridium: a C-Sat and two RS-Sats, in three planes
# a satellite whose last element set is a month old, low and with heavy drag: sgp4 reports it decayed
# (error 6) at the constellation's epoch
DECAYED = (
    "DECAYED-67",
    "1 00067U 97030A   25335.00000000  .05000000  00000-0  50000-2 0  999",
    "2 00067  86.3000  12.0000 0010000  90.0000 270.0000 16.3000000099999",
)


def _with_checksum(line: str) -> str:
    return line + str(compute_checksum(line + "0"))


def fixtures() -> dict[str, str]:
    iridium = Constellation.from_preset("iridium").to_tle()
    sets = iridium.splitlines()
    kept = [sets[k : k + 3] for k in range(0, len(sets), 3) if int(sets[k + 1][2:7]) not in HOLES]
    decayed = [DECAYED[0], _with_checksum(DECAYED[1]), _with_checksum(DECAYED[2])]
    return {
        "iridium.tle": iridium,
        "starlink_shell1.tle": Constellation.from_preset("starlink_shell1").to_tle(),
        "iridium_holes.tle": "\n".join(line for s in kept for line in s) + "\n",
        "iridium_decayed.tle": iridium + "\n".join(decayed) + "\n",
    }


if __name__ == "__main__":
    for name, text in fixtures().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name} ({text.count(chr(10)) // 3} satellites)")
