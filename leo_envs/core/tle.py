"""Two-line element sets: reading and validating them before sgp4 sees them.

``Satrec.twoline2rv`` accepts wrong checksums and shifted columns, so every check here is our own:
line numbers, lengths, checksums (``sgp4.io.compute_checksum``) and matching catalog numbers.
Errors name the line (1-based, in the text given) and what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sgp4.io import compute_checksum

TLE_LINE_LENGTH = 69


@dataclass(frozen=True)
class TwoLineElement:
    name: str
    line1: str
    line2: str
    line_number: int  # where line 1 stands in the source text (1-based)

    @property
    def catalog_number(self) -> str:
        return self.line1[2:7]


def read_tle_source(source: str | Path) -> str:
    """Return TLE text from a path or from the text itself (anything with a line break is text)."""
    if isinstance(source, Path):
        return source.read_text(encoding="ascii")
    if not isinstance(source, str):
        raise ValueError(f"tle source: expected text or a path, got {type(source).__name__}")
    if "\n" not in source and Path(source).is_file():
        return Path(source).read_text(encoding="ascii")
    return source


def _check_line(line: str, number: int, expected_first: str, checksum: bool) -> None:
    if len(line) < TLE_LINE_LENGTH:
        raise ValueError(
            f"TLE line {number}: {len(line)} characters, a TLE line has {TLE_LINE_LENGTH}: {line!r}"
        )
    if not line.startswith(expected_first + " "):
        raise ValueError(f"TLE line {number}: expected line '{expected_first}' of a set, got {line!r}")
    if checksum:
        given = line[68]
        if not given.isdigit():
            raise ValueError(f"TLE line {number}: checksum column 69 is {given!r}, not a digit: {line!r}")
        computed = compute_checksum(line)
        if int(given) != computed:
            raise ValueError(
                f"TLE line {number}: checksum is {given} but the line tallies to {computed}: {line!r}"
            )


def parse_tle(text: str, *, checksum: bool = True) -> list[TwoLineElement]:
    """Parse two-line or three-line (name + two lines) sets; ``#`` lines and blank lines are skipped.

    Characters after column 69 are ignored (Vallado's verification file keeps its time grid there).
    ``checksum=False`` skips the checksum test only, for files whose lines were edited by hand.
    """
    lines = [(i + 1, raw.rstrip("\r\n")) for i, raw in enumerate(text.splitlines())]
    lines = [(n, ln) for n, ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    sets: list[TwoLineElement] = []
    name = ""
    k = 0
    while k < len(lines):
        number, line = lines[k]
        if not line.startswith(("1 ", "2 ")):
            name = line[2:].strip() if line.startswith("0 ") else line.strip()
            k += 1
            continue
        if k + 1 >= len(lines):
            raise ValueError(f"TLE line {number}: line 1 of a set has no line 2 after it: {line!r}")
        number2, line2 = lines[k + 1]
        _check_line(line, number, "1", checksum)
        _check_line(line2, number2, "2", checksum)
        if line[2:7] != line2[2:7]:
            raise ValueError(
                f"TLE line {number2}: catalog number {line2[2:7]!r} does not match "
                f"{line[2:7]!r} of line {number}"
            )
        sets.append(TwoLineElement(name or line[2:7].strip(), line[:69], line2[:69], number))
        name = ""
        k += 2
    if not sets:
        raise ValueError("tle: no two-line element set found in the text")
    return sets
