import math

import numpy as np
import pytest

from leo_envs.core import (
    SPEED_OF_LIGHT_M_S,
    Constellation,
    FaultEvent,
    FaultModel,
    FaultTimeline,
    Network,
    OpticalLink,
    PowerModel,
    PowerState,
    Processor,
    RadioLink,
    fifo_finish_times,
    free_space_path_loss,
    linear_to_db,
    propagation_delay_s,
    shannon_capacity_bps,
)
from leo_envs.validation import check_eclipse


def test_free_space_path_loss_550km_12ghz():
    assert float(linear_to_db(free_space_path_loss(550e3, 12e9))) == pytest.approx(168.84, abs=0.01)


def test_shannon_capacity_250mhz_10db():
    assert float(shannon_capacity_bps(250e6, 10.0)) / 1e6 == pytest.approx(864.86, abs=0.1)


def test_capacity_falls_with_distance_and_delay_is_d_over_c():
    link = RadioLink()
    c = link.capacity_bps(np.array([1000e3, 2000e3, 4000e3]))
    assert np.all(np.diff(c) < 0)
    assert float(propagation_delay_s(SPEED_OF_LIGHT_M_S)) == 1.0


def test_bad_link_parameters_raise():
    with pytest.raises(ValueError, match="bandwidth_hz"):
        RadioLink(bandwidth_hz=0.0)
    with pytest.raises(ValueError, match="rate_bps"):
        OpticalLink(rate_bps=float("nan"))
    with pytest.raises(ValueError, match="p_sleep_w"):
        PowerModel(p_idle_w=5.0, p_sleep_w=10.0)


def test_fifo_queueing_by_hand():
    finish = fifo_finish_times([0.0, 1.0, 1.5, 10.0], [2.0, 2.0, 1.0, 1.0], busy_until_s=0.5)
    np.testing.assert_allclose(finish, [2.5, 4.5, 5.5, 11.0])
    with pytest.raises(ValueError, match="sorted"):
        fifo_finish_times([1.0, 0.0], [1.0, 1.0])
    assert Processor(cpu_hz=2e9, cycles_per_bit=1000).delay_s(4e6) == pytest.approx(2.0)


def test_power_states_and_energy():
    pm = PowerModel(p_tx_w=10, p_rx_w=3, p_comp_w=30, p_idle_w=50, p_sleep_w=10)
    e = pm.state_energy_j([PowerState.SLEEP, PowerState.IDLE, PowerState.ACTIVE], 2.0)
    np.testing.assert_allclose(e, [20.0, 100.0, 160.0])
    assert pm.transmit_energy_j(1e9, 1e9) == pytest.approx(10.0)
    assert pm.sleep_saving_j(100.0) == pytest.approx(4000.0)


def test_eclipse_fraction_matches_cylindrical_formula():
    check = check_eclipse()
    assert check.passed, check


def test_fault_schedule_and_seeded_random_failures():
    c = Constellation.from_preset("tiny")
    sched = (FaultEvent("sat", 3, 100.0, 200.0), FaultEvent("isl", 5, 0.0, 50.0))
    net = Network(c, faults=FaultModel(schedule=sched))
    s = net.at(150.0)
    assert not s.sat_up[3]
    touching = (net.isl_pairs == 3).any(axis=1)
    assert not s.isl_up[touching].any()
    assert not net.at(10.0).isl_up[5] and net.at(10.0).sat_up[3]
    with pytest.raises(ValueError, match="index 999"):
        Network(c, faults=FaultModel(schedule=(FaultEvent("sat", 999, 0.0, 1.0),)))
    with pytest.raises(ValueError, match="end_s"):
        FaultEvent("isl", 0, 5.0, 5.0)

    model = FaultModel(sat_mtbf_s=5000.0, sat_mttr_s=1000.0, isl_mtbf_s=2000.0, isl_mttr_s=500.0)
    a = FaultTimeline(model, 36, 60, seed=7)
    b = FaultTimeline(model, 36, 60, seed=7)
    times = np.arange(0.0, 50_000.0, 250.0)
    forward = [a.down_at(t) for t in times]
    backward = [b.down_at(t) for t in times[::-1]][::-1]  # query order must not matter
    for (sa, ia), (sb, ib) in zip(forward, backward):
        assert np.array_equal(sa, sb) and np.array_equal(ia, ib)
    sat_frac = np.mean([s.mean() for s, _ in forward])
    isl_frac = np.mean([i.mean() for _, i in forward])
    assert sat_frac == pytest.approx(1000 / 6000, abs=0.05)
    assert isl_frac == pytest.approx(500 / 2500, abs=0.05)
    other = FaultTimeline(model, 36, 60, seed=8)
    assert any(not np.array_equal(other.down_at(t)[1], f[1]) for t, f in zip(times, forward))


def test_eclipse_formula_itself():
    r, h, beta = 6378.135e3, 550e3, 0.0
    frac = math.acos(math.sqrt(h * h + 2 * r * h) / ((r + h) * math.cos(beta))) / math.pi
    assert 0.35 < frac < 0.40  # about 36% of a 550 km orbit at beta = 0
