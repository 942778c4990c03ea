"""Radio and optical link budget: propagation delay, free-space path loss, SNR, Shannon capacity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import BOLTZMANN_J_K, SPEED_OF_LIGHT_M_S


def db_to_linear(db):
    return 10.0 ** (np.asarray(db, float) / 10.0)


def linear_to_db(x):
    return 10.0 * np.log10(np.asarray(x, float))


def propagation_delay_s(distance_m):
    return np.asarray(distance_m, float) / SPEED_OF_LIGHT_M_S


def free_space_path_loss(distance_m, frequency_hz):
    """(4 pi d f / c)^2, linear."""
    return (4.0 * np.pi * np.asarray(distance_m, float) * frequency_hz / SPEED_OF_LIGHT_M_S) ** 2


def snr_linear(tx_power_w, tx_gain_dbi, rx_gain_dbi, path_loss, system_noise_temp_k, bandwidth_hz):
    """P_t G_t G_r / (L_fs k T_sys B)."""
    gain = db_to_linear(tx_gain_dbi + rx_gain_dbi)
    return tx_power_w * gain / (path_loss * BOLTZMANN_J_K * system_noise_temp_k * bandwidth_hz)


def shannon_capacity_bps(bandwidth_hz, snr):
    return bandwidth_hz * np.log2(1.0 + np.asarray(snr, float))


def transmission_delay_s(bits, capacity_bps):
    return np.asarray(bits, float) / np.asarray(capacity_bps, float)


@dataclass(frozen=True)
class RadioLink:
    """An RF link. ``capacity_bps(d)`` is Shannon's limit at distance ``d`` metres."""

    frequency_hz: float = 26e9  # Ka band
    bandwidth_hz: float = 200e6
    tx_power_w: float = 10.0
    tx_gain_dbi: float = 38.5
    rx_gain_dbi: float = 38.5
    system_noise_temp_k: float = 500.0

    def __post_init__(self) -> None:
        for field in ("frequency_hz", "bandwidth_hz", "tx_power_w", "system_noise_temp_k"):
            value = getattr(self, field)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{field}: {value!r} must be a finite number > 0")

    def snr(self, distance_m):
        loss = free_space_path_loss(distance_m, self.frequency_hz)
        return snr_linear(
            self.tx_power_w, self.tx_gain_dbi, self.rx_gain_dbi, loss,
            self.system_noise_temp_k, self.bandwidth_hz,
        )

    def capacity_bps(self, distance_m):
        return shannon_capacity_bps(self.bandwidth_hz, self.snr(distance_m))


@dataclass(frozen=True)
class OpticalLink:
    """A laser link at a fixed data rate, independent of distance within its range."""

    rate_bps: float = 10e9

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rate_bps) and self.rate_bps > 0):
            raise ValueError(f"rate_bps: {self.rate_bps!r} must be a finite number > 0")

    def capacity_bps(self, distance_m):
        return np.full(np.shape(distance_m), self.rate_bps, dtype=float)


# Ka-band RF ISL defaults (the dataclass defaults)
ISL_LINK = RadioLink()

# Ku-band user/ground link defaults (12 GHz, 250 MHz)
GROUND_LINK = RadioLink(
    frequency_hz=12e9, bandwidth_hz=250e6, tx_power_w=20.0, tx_gain_dbi=35.0, rx_gain_dbi=35.0,
    system_noise_temp_k=300.0,
)
