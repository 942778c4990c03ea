"""On-board compute (FIFO processors) and power states with their energy accounting."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


def compute_delay_s(bits, cycles_per_bit, cpu_hz):
    """Service time of ``bits`` on a processor at ``cpu_hz`` needing ``cycles_per_bit``."""
    return np.asarray(bits, float) * cycles_per_bit / cpu_hz


def fifo_finish_times(arrivals_s, service_s, busy_until_s: float = 0.0) -> np.ndarray:
    """Finish times of jobs served first-in first-out by one processor, in arrival order.

    ``busy_until_s`` is when the processor frees from earlier work. Queueing delay is
    finish - arrival - service.
    """
    arrivals = np.asarray(arrivals_s, float)
    service = np.asarray(service_s, float)
    if arrivals.size and np.any(np.diff(arrivals) < 0):
        raise ValueError("arrivals_s: must be sorted in arrival order")
    finish = np.empty_like(arrivals)
    free = busy_until_s
    for k in range(arrivals.size):  # a recurrence: finish_k = max(arrival_k, finish_{k-1}) + s_k
        free = max(free, arrivals[k]) + service[k]
        finish[k] = free
    return finish


@dataclass(frozen=True)
class Processor:
    cpu_hz: float  # clock, cycles/s
    cycles_per_bit: float  # work of the model run on it

    def delay_s(self, bits):
        return compute_delay_s(bits, self.cycles_per_bit, self.cpu_hz)


class PowerState(IntEnum):
    SLEEP = 0  # compute off, communications on
    IDLE = 1
    ACTIVE = 2


@dataclass(frozen=True)
class PowerModel:
    """Power draw in W per state and per activity; energy = power x time.

    Each field is a number or an array with one value per satellite (then ``at(index)`` selects the
    satellites of an operation, e.g. the senders of a set of transfers)."""

    p_tx_w: float = 10.0  # transmitting
    p_rx_w: float = 3.0  # receiving
    p_comp_w: float = 30.0  # computing, on top of idle
    p_idle_w: float = 50.0  # platform on, processors idle
    p_sleep_w: float = 10.0  # processors off, communications kept on

    def __post_init__(self) -> None:
        for field in ("p_tx_w", "p_rx_w", "p_comp_w", "p_idle_w", "p_sleep_w"):
            value = getattr(self, field)
            try:
                arr = np.asarray(value, float)
            except (TypeError, ValueError):
                raise ValueError(f"{field}: {value!r} must be a finite number >= 0 (or an array of them)") from None
            if not np.all(np.isfinite(arr) & (arr >= 0)):
                raise ValueError(f"{field}: {value!r} must be a finite number >= 0 (or an array of them)")
        if np.any(np.asarray(self.p_sleep_w) > np.asarray(self.p_idle_w)):
            raise ValueError(f"p_sleep_w: {self.p_sleep_w} exceeds p_idle_w={self.p_idle_w}")

    def at(self, index) -> PowerModel:
        """The power model of the satellites ``index`` (fields that are single numbers stay as they are)."""
        pick = {f: (np.asarray(getattr(self, f))[index] if np.ndim(getattr(self, f)) else getattr(self, f))
                for f in ("p_tx_w", "p_rx_w", "p_comp_w", "p_idle_w", "p_sleep_w")}
        return PowerModel(**pick)

    def compute_energy_j(self, duration_s):
        """Energy of computing for ``duration_s`` on top of idle."""
        return self.p_comp_w * np.asarray(duration_s, float)

    def base_power_w(self, state):
        """Power of the platform in a state (ACTIVE adds compute power to idle)."""
        state = np.asarray(state)
        return np.where(
            state == PowerState.SLEEP,
            self.p_sleep_w,
            self.p_idle_w + np.where(state == PowerState.ACTIVE, self.p_comp_w, 0.0),
        )

    def state_energy_j(self, state, duration_s):
        return self.base_power_w(state) * np.asarray(duration_s, float)

    def transmit_energy_j(self, bits, capacity_bps):
        return self.p_tx_w * np.asarray(bits, float) / np.asarray(capacity_bps, float)

    def receive_energy_j(self, bits, capacity_bps):
        return self.p_rx_w * np.asarray(bits, float) / np.asarray(capacity_bps, float)

    def sleep_saving_j(self, duration_s):
        return (self.p_idle_w - self.p_sleep_w) * np.asarray(duration_s, float)


def fifo_remove(queue: np.ndarray, finish_s: np.ndarray, service_s: np.ndarray, remove: np.ndarray,
                t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Take jobs out of many FIFO processors at time ``t_s``; the jobs behind them move up.

    One entry per job still in a queue at ``t_s`` (any order): its ``queue`` id, ``finish_s`` and
    ``service_s``; ``remove`` marks the jobs taken out. Every job was enqueued at or before ``t_s``, so
    after ``t_s`` each queue serves its jobs back to back. Returns ``(new_finish_s, freed_s)``: the finish
    time of every entry (kept jobs earlier by the unserved time of the removed jobs ahead of them), and
    per entry the unserved time its removal freed (0 for kept jobs).
    """
    queue = np.asarray(queue)
    finish = np.asarray(finish_s, float)
    freed = np.where(remove, np.clip(np.minimum(service_s, finish - t_s), 0.0, None), 0.0)
    order = np.lexsort((finish, queue))
    q, f = queue[order], freed[order]
    cum = np.cumsum(f)
    first = np.searchsorted(q, q, side="left")
    ahead = cum - f - np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)  # freed earlier in the same queue
    shift = np.empty_like(ahead)
    shift[order] = ahead
    return np.where(remove, finish, finish - shift), freed
