"""Validation of scenario dataclasses and keyword overrides, shared by the environments."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """What a config field accepts: numbers in [low, high] (open ends with low_open/high_open),
    integers if ``integer``, ``None`` if ``optional``, or one of ``choices``."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    optional: bool = False
    choices: tuple = ()

    def describe(self) -> str:
        if self.choices:
            return f"one of {self.choices}"
        kind = "an integer" if self.integer else "a number"
        lo = "(" if self.low_open else "["
        text = f"{kind} in {lo}{self.low:g}, {self.high:g}]"
        return text + (" or None" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
            return value
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
        if self.integer and float(value) != int(value):
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
        x = float(value)
        bad_low = x <= self.low if self.low_open else x < self.low
        if not math.isfinite(x) or bad_low or x > self.high:
            raise ValueError(f"{name}: {value!r} is out of range; expected {self.describe()}")
        return int(value) if self.integer else x


def resolve_scenario(scenario, config_cls, scenarios: dict):
    """The config named ``scenario`` (or ``scenario`` itself if it already is a ``config_cls``)."""
    if isinstance(scenario, config_cls):
        return scenario
    if scenario in scenarios:
        return scenarios[scenario]
    raise ValueError(f"scenario: {scenario!r} is not one of {sorted(scenarios)}")


def validated(config, ranges: dict[str, Range], overrides: dict[str, Any]):
    """``config`` with ``overrides`` applied, every field checked against ``ranges``."""
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown scenario field; valid fields are {sorted(fields)}")
    merged = dataclasses.replace(config, **overrides)
    clean = {name: ranges[name].check(name, getattr(merged, name)) for name in sorted(fields)}
    return dataclasses.replace(merged, **clean)
