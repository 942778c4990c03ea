"""TLE input is checked column by column (issue 16): random corruptions of valid lines, checksum fixed,
raise ValueError naming the line and the field; lines sgp4 exports for the presets and Vallado's
verification set parse; non-ASCII text and files, missing paths and Alpha-5 catalog numbers."""

import pkgutil
import re
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.exporter import export_tle
from sgp4.io import compute_checksum

from leo_envs.core import CONSTELLATION_PRESETS, SHELL_PRESETS, Constellation
from leo_envs.core.tle import TLE_FIELDS, parse_tle

SETTINGS = settings(max_examples=100, deadline=None)
ISS = (
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
)
NEVER_VALID = "abcxyz#$%&*?@!~^_;,=/"  # in no column of an element line
PRESETS = sorted(CONSTELLATION_PRESETS) + sorted(SHELL_PRESETS)


@cache
def exported(preset: str) -> tuple[tuple[str, str], ...]:
    return tuple(export_tle(s) for s in Constellation.from_preset(preset).satrecs)


@cache
def vallado_sets() -> tuple[tuple[str, str], ...]:
    lines = [ln[:69] for ln in pkgutil.get_data("sgp4", "SGP4-VER.TLE").decode("ascii").splitlines()
             if ln.startswith(("1 ", "2 "))]
    return tuple(zip(lines[::2], lines[1::2]))


def fixed(line: str) -> str:
    return line[:68] + str(compute_checksum(line))


def with_text(line: str, first: int, text: str) -> str:
    """``line`` with ``text`` from 1-based column ``first`` on, the checksum made right again."""
    return fixed(line[: first - 1] + text + line[first - 1 + len(text):])


def valid_pairs() -> st.SearchStrategy:
    from_presets = st.sampled_from(PRESETS).flatmap(lambda p: st.sampled_from(exported(p)))
    return st.one_of(st.just(ISS), from_presets, st.sampled_from(vallado_sets()).map(lambda p: tuple(map(fixed, p))))


def parse_pair(pair: tuple[str, str], name: str = "") -> list:
    return parse_tle((name + "\n" if name else "") + pair[0] + "\n" + pair[1] + "\n")


@SETTINGS
@given(valid_pairs())
def test_valid_lines_parse(pair):
    (tle,) = parse_pair(pair)
    assert (tle.line1, tle.line2) == pair


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_satellite_exports_to_lines_that_parse(preset):
    pairs = exported(preset)
    text = "".join(f"{a}\n{b}\n" for a, b in pairs)
    assert len(parse_tle(text)) == len(pairs)
    assert len(Constellation.from_tle(text)) == len(pairs)


def test_vallado_set_passes_the_field_checks():
    text = "".join(f"{a}\n{b}\n" for a, b in vallado_sets())
    assert len(parse_tle(text, checksum=False)) == 33


@SETTINGS
@given(valid_pairs(), st.sampled_from([0, 1]), st.data())
def test_a_never_valid_character_in_any_field_names_that_field(pair, which, data):
    field = data.draw(st.sampled_from(TLE_FIELDS[str(which + 1)]), label="field")
    column = data.draw(st.integers(field.first, field.last), label="column")
    lines = list(pair)
    lines[which] = with_text(lines[which], column, data.draw(st.sampled_from(NEVER_VALID)))
    with pytest.raises(ValueError, match=rf"TLE line {which + 2}: {re.escape(field.name)} \(column") as err:
        parse_pair(tuple(lines), name="SAT")
    assert type(err.value) is ValueError


DECIMAL_FIELDS = [(k, f) for k in "12" for f in TLE_FIELDS[k] if r"\." in f.pattern]


@SETTINGS
@given(valid_pairs(), st.sampled_from(DECIMAL_FIELDS), st.sampled_from("0123456789 "))
def test_a_lost_decimal_point_names_the_field(pair, field_of, ch):
    k, field = field_of
    lines = list(pair)
    line = lines[int(k) - 1]
    point = line.index(".", field.first - 1, field.last)
    lines[int(k) - 1] = with_text(line, point + 1, ch)
    with pytest.raises(ValueError, match=rf"TLE line {k}: {re.escape(field.name)} \(column"):
        parse_pair(tuple(lines))


ANGLES = {"inclination": (9, 180.0), "right ascension of the ascending node": (18, 360.0),
          "argument of perigee": (35, 360.0), "mean anomaly": (44, 360.0)}


@SETTINGS
@given(valid_pairs(), st.sampled_from(sorted(ANGLES)), st.data())
def test_angles_out_of_range_name_the_field(pair, name, data):
    first, high = ANGLES[name]
    value = data.draw(st.floats(high + 1e-4, 999.9999))
    line2 = with_text(pair[1], first, f"{value:8.4f}")
    if float(line2[first - 1 : first + 7]) <= high:  # rounded back into range
        return
    with pytest.raises(ValueError, match=rf"TLE line 2: {name} \(columns .*\): .* is out of range"):
        parse_pair((pair[0], line2))


@pytest.mark.parametrize("text, field", [
    (" 0.00000000", "mean motion"), ("00.00000000", "mean motion"),
])
def test_zero_mean_motion(text, field):
    with pytest.raises(ValueError, match=f"TLE line 2: {field} .* out of range; expected a number in \\(0"):
        parse_pair((ISS[0], with_text(ISS[1], 53, text)))


@pytest.mark.parametrize("day", ["000.51782528", "367.00000000", "999.99999999"])
def test_epoch_day_out_of_range(day):
    with pytest.raises(ValueError, match="TLE line 1: epoch day .* out of range"):
        parse_pair((with_text(ISS[0], 21, day), ISS[1]))


@SETTINGS
@given(st.integers(27, 33), st.sampled_from(" .-+e"))
def test_eccentricity_is_seven_digits(column, ch):
    with pytest.raises(ValueError, match="TLE line 2: eccentricity"):
        parse_pair((ISS[0], with_text(ISS[1], column, ch)))


def test_half_numbers_are_not_read():
    with pytest.raises(ValueError, match=r"TLE line 2: inclination \(columns 9-16\) is ' 5x.6416'"):
        parse_pair((ISS[0], with_text(ISS[1], 9, " 5x.6416")))


@pytest.mark.parametrize("catalog", ["     ", " 5544", "2554 ", "I0001", "O1234", "a0001", "AB001", "25-44"])
def test_bad_catalog_numbers(catalog):
    pair = (with_text(ISS[0], 3, catalog), with_text(ISS[1], 3, catalog))
    with pytest.raises(ValueError, match=r"TLE line 1: catalog number \(columns 3-7\)"):
        parse_pair(pair)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"), st.integers(0, 9999))
def test_alpha5_catalog_numbers(letter, rest):
    catalog = f"{letter}{rest:04d}"
    pair = (with_text(ISS[0], 3, catalog), with_text(ISS[1], 3, catalog))
    (tle,) = parse_pair(pair)
    assert tle.catalog_number == catalog
    alpha5 = "ABCDEFGHJKLMNPQRSTUVWXYZ".index(letter) + 10
    assert Constellation.from_tle(pair[0] + "\n" + pair[1] + "\n").satrecs[0].satnum == alpha5 * 10_000 + rest


NON_ASCII = st.characters(min_codepoint=0x80, max_codepoint=0x2FFF).filter(lambda c: c.isprintable())


@SETTINGS
@given(st.integers(0, 2), st.integers(0, 68), NON_ASCII)
def test_non_ascii_text_names_line_and_column(row, column, ch):
    lines = ["ISS (ZARYA)", *ISS]
    column %= len(lines[row])
    lines[row] = lines[row][:column] + ch + lines[row][column + 1:]
    with pytest.raises(ValueError, match=f"TLE line {row + 1}, column {column + 1}: .* is not ASCII"):
        Constellation.from_tle("\n".join(lines) + "\n")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2), st.integers(0, 68), NON_ASCII, st.booleans())
def test_non_ascii_file_names_the_file_and_position(row, column, ch, as_str):
    lines = ["ISS (ZARYA)", *ISS]
    column %= len(lines[row])
    lines[row] = lines[row][:column] + ch + lines[row][column + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.tle"
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        with pytest.raises(ValueError, match=f"tle file '{re.escape(str(path))}': line {row + 1}, "
                                             f"column {column + 1}: byte 0x[0-9a-f]{{2}} is not ASCII") as err:
            Constellation.from_tle(str(path) if as_str else path)
    assert type(err.value) is ValueError  # not UnicodeDecodeError


def test_missing_paths_say_no_such_file(tmp_path):
    missing = tmp_path / "nope.tle"
    for source in (missing, str(missing), "iss.tle", "ISS (ZARYA)"):
        with pytest.raises(ValueError, match=f"no such file: '{re.escape(str(source))}'"):
            Constellation.from_tle(source)
    with pytest.raises(ValueError, match="is a directory"):
        Constellation.from_tle(tmp_path)


def test_text_is_told_apart_from_paths(tmp_path):
    with pytest.raises(ValueError, match="no line 2"):  # one TLE line without a line break is text
        Constellation.from_tle(ISS[0])
    with pytest.raises(ValueError, match="no two-line element set"):
        Constellation.from_tle("ISS (ZARYA)\n")
    with pytest.raises(ValueError, match="no two-line element set"):
        Constellation.from_tle("")
    f = tmp_path / "iss.tle"
    f.write_text("\r\n".join(ISS) + "\r\n")
    assert len(Constellation.from_tle(str(f))) == len(Constellation.from_tle(f)) == 1
    assert len(Constellation.from_tle("\r".join(ISS))) == 1
