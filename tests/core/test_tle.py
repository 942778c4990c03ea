import numpy as np
import pytest

from leo_envs.core import Constellation
from leo_envs.core.tle import parse_tle
from leo_envs.validation import check_vallado

ISS = (
    "ISS (ZARYA)\n"
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
)


def test_three_line_set_parses_with_name_and_epoch():
    c = Constellation.from_tle(ISS)
    assert len(c) == 1 and c.names == ["ISS (ZARYA)"]
    assert c.epoch.year == 2008 and c.epoch.month == 9
    r = np.linalg.norm(c.positions_teme([0.0])[0, 0])
    assert 6.6e6 < r < 6.8e6


def test_tle_from_path(tmp_path):
    f = tmp_path / "iss.tle"
    f.write_text(ISS)
    assert len(Constellation.from_tle(f)) == 1
    assert len(Constellation.from_tle(str(f))) == 1


def test_wrong_checksum_names_the_line():
    bad = ISS.replace("0  2927", "0  2928")
    with pytest.raises(ValueError, match="line 2: checksum"):
        Constellation.from_tle(bad)


def test_short_line_names_the_line():
    bad = ISS.replace("15.72125391563537", "15.7212539156353")
    with pytest.raises(ValueError, match="line 3: 68 characters"):
        Constellation.from_tle(bad)


def test_mismatched_catalog_numbers():
    line2 = "2 25545  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
    from sgp4.io import compute_checksum

    line2 = line2[:68] + str(compute_checksum(line2))
    bad = ISS.splitlines()[1] + "\n" + line2 + "\n"
    with pytest.raises(ValueError, match="catalog number '25545' does not match '25544'"):
        Constellation.from_tle(bad)


def test_missing_line_two_and_empty_text():
    with pytest.raises(ValueError, match="no line 2"):
        parse_tle(ISS.splitlines()[1])
    with pytest.raises(ValueError, match="no two-line element set"):
        parse_tle("# nothing here\n")


def test_vallado_verification_set_through_our_tle_path():
    positions, errors = check_vallado()
    assert positions.passed, positions
    assert errors.passed, errors


def test_sgp4_error_cases_are_flagged_not_raised():
    # catalog 33333 of Vallado's set: sgp4 reports an eccentricity error (code 1) after some minutes
    text = (
        "1 33333U 05037B   05333.02012661  .25992681  00000-0  24476-3 0  1534\n"
        "2 33333  96.4736 157.9986 9950000 244.0492 110.6523  4.00004038 10708\n"
    )
    c = Constellation.from_tle(text, checksum=False)
    prop = c.propagate(np.arange(0.0, 1440.0 * 60, 600.0))
    assert prop.valid[0, 0] and not prop.valid[:, 0].all()
    bad = ~prop.valid[:, 0]
    assert set(np.unique(prop.error[bad, 0])) <= {1, 2, 3, 4, 6}
    assert np.isnan(prop.position_m[bad]).all()
    assert np.isnan(c.positions_ecef(prop.times_s)[bad]).all()
