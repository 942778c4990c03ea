"""Two-line element sets: reading and validating them before sgp4 sees them.

``Satrec.twoline2rv`` accepts wrong checksums, shifted columns and half-numbers (it reads an inclination
``5x.6416`` as 5.0), so every check here is our own: line numbers, lengths, every field column by column
against the standard format (``TLE_FIELDS``), ranges of the angles and the mean motion, checksums
(``sgp4.io.compute_checksum``) and matching catalog numbers. Errors name the line (1-based, in the text
given), the field and its columns, and what the field allows.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sgp4.io import compute_checksum

from ..config import Range

TLE_LINE_LENGTH = 69


@dataclass(frozen=True)
class TleField:
    """Columns ``first``..``last`` (1-based, inclusive) of a TLE line: their text matches ``pattern``
    in full (``expected`` says what that is) and, with a ``range``, its number lies in it."""

    name: str
    first: int
    last: int
    pattern: str
    expected: str
    range: Range | None = None

    def check(self, line: str, number: int) -> None:
        text = line[self.first - 1 : self.last]
        cols = f"column {self.first}" if self.first == self.last else f"columns {self.first}-{self.last}"
        where = f"TLE line {number}: {self.name} ({cols})"
        if not re.fullmatch(self.pattern, text):
            raise ValueError(f"{where} is {text!r}; expected {self.expected}: {line!r}")
        if self.range is not None:
            self.range.check(where, float(text))


def _blank(column: int) -> TleField:
    return TleField(f"blank column {column}", column, column, " ", "a blank (are the fields shifted?)")


CATALOG = TleField("catalog number", 3, 7, r"[0-9]{5}|[A-HJ-NP-Z][0-9]{4}",
                   "5 digits, or Alpha-5: a capital letter other than I and O, then 4 digits")
ANGLE = r" *[0-9]{1,3}\.[0-9]{4}"
ANGLE_TEXT = "degrees as up to 3 digits, '.', 4 digits"
EXPONENTIAL = r"[ +-][0-9]{5}[+-][0-9]"
EXPONENTIAL_TEXT = "a sign or blank, 5 digits (decimal point assumed), the exponent's sign and digit, e.g. ' 12345-4'"
# columns 3-68 of line "1" and of line "2" (columns 1-2, "1 " or "2 ", tell the lines apart)
TLE_FIELDS: dict[str, tuple[TleField, ...]] = {
    "1": (
        CATALOG,
        TleField("classification", 8, 8, "[UCS]", "U, C or S"),
        _blank(9),
        TleField("international designator", 10, 17, r"[0-9]{5}[A-Z]{1,3} *| {8}",
                 "launch year (2 digits), launch number (3 digits), piece (1-3 capital letters), or all blank"),
        _blank(18),
        TleField("epoch year", 19, 20, "[0-9]{2}", "2 digits"),
        TleField("epoch day", 21, 32, r"[0-9]{3}\.[0-9]{8}", "day of the year as 3 digits, '.', 8 digits",
                 Range(1.0, 367.0, high_open=True)),
        _blank(33),
        TleField("first derivative of mean motion", 34, 43, r"[ +-]\.[0-9]{8}", "a sign or blank, '.', 8 digits"),
        _blank(44),
        TleField("second derivative of mean motion", 45, 52, EXPONENTIAL, EXPONENTIAL_TEXT),
        _blank(53),
        TleField("BSTAR drag term", 54, 61, EXPONENTIAL, EXPONENTIAL_TEXT),
        _blank(62),
        TleField("ephemeris type", 63, 63, "[0-9 ]", "a digit or blank"),
        _blank(64),
        TleField("element set number", 65, 68, " {0,3}[0-9]{1,4}", "up to 4 digits, right-aligned"),
    ),
    "2": (
        CATALOG,
        _blank(8),
        TleField("inclination", 9, 16, ANGLE, ANGLE_TEXT, Range(0.0, 180.0)),
        _blank(17),
        TleField("right ascension of the ascending node", 18, 25, ANGLE, ANGLE_TEXT, Range(0.0, 360.0)),
        _blank(26),
        TleField("eccentricity", 27, 33, "[0-9]{7}", "7 digits (decimal point assumed)"),
        _blank(34),
        TleField("argument of perigee", 35, 42, ANGLE, ANGLE_TEXT, Range(0.0, 360.0)),
        _blank(43),
        TleField("mean anomaly", 44, 51, ANGLE, ANGLE_TEXT, Range(0.0, 360.0)),
        _blank(52),
        TleField("mean motion", 53, 63, r" *[0-9]{1,2}\.[0-9]{8}", "revolutions per day as up to 2 digits, "
                 "'.', 8 digits", Range(0.0, math.inf, low_open=True)),
        TleField("revolution number", 64, 68, " {0,4}[0-9]{1,5}", "up to 5 digits, right-aligned"),
    ),
}


@dataclass(frozen=True)
class TwoLineElement:
    name: str
    line1: str
    line2: str
    line_number: int  # where line 1 stands in the source text (1-based)

    @property
    def catalog_number(self) -> str:
        return self.line1[2:7]


def _first_non_ascii(text: str) -> tuple[int, int, str] | None:
    """(line, column, character) of the first non-ASCII character, lines counted as ``parse_tle`` does
    (a non-ASCII line break such as U+2028 is the last column of its line)."""
    if text.isascii():
        return None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        for column, ch in enumerate(line, 1):
            if not ch.isascii():
                return number, column, ch
    return None


def _read_file(path: Path, how: str = "") -> str:
    if not path.exists():
        raise ValueError(f"tle source: no such file: {str(path)!r}{how}")
    if path.is_dir():
        raise ValueError(f"tle source: {str(path)!r} is a directory, not a TLE file")
    text = path.read_bytes().decode("latin-1")  # one character a byte, so positions are exact
    bad = _first_non_ascii(text)
    if bad is not None:
        line, column, ch = bad
        raise ValueError(f"tle file {str(path)!r}: line {line}, column {column}: byte 0x{ord(ch):02x} is not "
                         f"ASCII; a TLE file is ASCII text")
    return text


def read_tle_source(source: str | os.PathLike) -> str:
    """TLE text from a path or from the text itself. A ``str`` is text if it has a line break, is blank
    or starts with a TLE line ("1 " or "2 "); otherwise it is a path."""
    if isinstance(source, os.PathLike):
        return _read_file(Path(source))
    if not isinstance(source, str):
        raise ValueError(f"tle source: expected text or a path, got {type(source).__name__}")
    if "\n" in source or "\r" in source or not source.strip() or source.lstrip().startswith(("1 ", "2 ")):
        return source
    return _read_file(Path(source), " (a str without a line break that is not a TLE line is read as a path)")


def _check_line(line: str, number: int, expected_first: str, checksum: bool) -> None:
    if len(line) < TLE_LINE_LENGTH:
        raise ValueError(
            f"TLE line {number}: {len(line)} characters, a TLE line has {TLE_LINE_LENGTH}: {line!r}"
        )
    if not line.startswith(expected_first + " "):
        raise ValueError(f"TLE line {number}: expected line '{expected_first}' of a set, got {line!r}")
    for field in TLE_FIELDS[expected_first]:
        field.check(line, number)
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
    The text must be ASCII.
    """
    bad = _first_non_ascii(text)
    if bad is not None:
        line, column, ch = bad
        raise ValueError(f"TLE line {line}, column {column}: {ch!r} is not ASCII; TLE text is ASCII")
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
