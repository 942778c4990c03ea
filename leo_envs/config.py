"""Validation of scenario dataclasses and keyword overrides, shared by the environments."""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np


def as_integer(value: Any) -> int | None:
    """``value`` as an int if it is an integer (Python or numpy ints, 0-d integer arrays, anything with
    ``__index__``); None for everything else, bools included."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray):
        return int(value) if value.ndim == 0 and value.dtype.kind in "iu" else None
    try:
        return operator.index(value)
    except Exception:  # no __index__, or one that refuses (a float tensor)
        return None


def real_number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (also as a 0-d array); None for bools, complex
    numbers, strings, containers and anything else. A finite int too large for a float gives +-inf."""
    if isinstance(value, np.ndarray):
        if value.ndim or value.dtype.kind not in "iuf":
            return None
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__float__"):
        return None
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return None  # numpy's complex scalars have __float__ (dropping the imaginary part)
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except Exception:  # whatever float() refuses (multi-element tensors, ...) is not a number
        return None


@dataclass(frozen=True)
class Range:
    """What a config field accepts: real numbers in [low, high] (open ends with ``low_open``, ``high_open``),
    integers if ``integer`` (Python or numpy ints, or floats with an integer value; never bools),
    ``None`` if ``optional``, or one of ``choices``. NaN, complex numbers, strings and containers
    are not numbers."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    choices: tuple = ()

    def describe(self) -> str:
        if self.choices:
            return f"one of {self.choices}"
        kind = "an integer" if self.integer else "a number"
        lo = "(" if self.low_open or math.isinf(self.low) else "["
        hi = ")" if self.high_open or math.isinf(self.high) else "]"
        text = f"{kind} in {lo}{self.low:g}, {self.high:g}{hi}"
        return text + (" or None" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        if self.choices:
            if not isinstance(value, Hashable) or value not in self.choices:
                raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
            return self.choices[self.choices.index(value)]
        if value is None and self.optional:
            return None
        x = real_number(value)
        if x is None or math.isnan(x):
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
        n = as_integer(value)
        if self.integer and n is None and not (math.isfinite(x) and x.is_integer()):
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
        bad_low = x <= self.low if self.low_open else x < self.low
        bad_high = x >= self.high if self.high_open else x > self.high
        if not math.isfinite(x) or bad_low or bad_high:
            raise ValueError(f"{name}: {value!r} is out of range; expected {self.describe()}")
        return (int(x) if n is None else n) if self.integer else x


@dataclass(frozen=True)
class Items:
    """A config field holding a sequence (list, tuple or 1-d array) of at least ``min_len`` values,
    each accepted by ``item``; checked to a tuple."""

    item: Range
    min_len: int = 1
    optional: bool = False  # None allowed
    distinct: bool = False  # no value twice

    def check(self, name: str, value: Any) -> tuple | None:
        if value is None and self.optional:
            return None
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = list(value)
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len:
            raise ValueError(f"{name}: {value!r} is not allowed; expected a list or tuple of "
                             f"{self.min_len} or more values, each {self.item.describe()}"
                             + (", or None" if self.optional else ""))
        items = tuple(self.item.check(f"{name}[{k}]", v) for k, v in enumerate(value))
        if self.distinct:
            twice = sorted({v for v in items if items.count(v) > 1})
            if twice:
                raise ValueError(f"{name}: {twice[:10]} listed more than once; expected distinct values")
        return items


def resolve_scenario(scenario, config_cls, scenarios: dict):
    """The config named ``scenario`` (or ``scenario`` itself if it already is a ``config_cls``)."""
    if isinstance(scenario, config_cls):
        return scenario
    if isinstance(scenario, str) and scenario in scenarios:
        return scenarios[scenario]
    raise ValueError(f"scenario: {scenario!r} is not one of {sorted(scenarios)} or an {config_cls.__name__}")


def validated(config, ranges: dict[str, Range | Items], overrides: dict[str, Any]):
    """``config`` with ``overrides`` applied, every field checked against ``ranges``."""
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown scenario field; valid fields are {sorted(fields)}")
    merged = dataclasses.replace(config, **overrides)
    clean = {name: ranges[name].check(name, getattr(merged, name)) for name in sorted(fields)}
    return dataclasses.replace(merged, **clean)
