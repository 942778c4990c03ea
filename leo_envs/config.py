"""Validation of scenario dataclasses and keyword overrides, shared by the environments."""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
import re
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
            # np.float32(0.99) is 0.9900000095...: say so, or the message reads as if 0.99 were refused
            exact = f" (exactly {x!r})" if isinstance(value, np.floating) and repr(x) not in repr(value) else ""
            raise ValueError(f"{name}: {value!r}{exact} is out of range; expected {self.describe()}")
        return (int(x) if n is None else n) if self.integer else x


@dataclass(frozen=True)
class Items:
    """A config field holding a sequence (list, tuple or 1-d array) of at least ``min_len`` values,
    each accepted by ``item``; checked to a tuple."""

    item: Range
    min_len: int = 1
    optional: bool = False  # None allowed
    distinct: bool = False  # no value twice

    def describe(self) -> str:
        text = f"a list or tuple of {self.min_len} or more values, each {self.item.describe()}"
        text += ", no value twice" if self.distinct else ""
        return text + (", or None" if self.optional else "")

    def check(self, name: str, value: Any) -> tuple | None:
        if value is None and self.optional:
            return None
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = list(value)
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len:
            raise ValueError(f"{name}: {value!r} is not allowed; expected {self.describe()}")
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


# units a field's comment may end with (", <unit>"): what the generated config tables show as the unit
UNITS = frozenset({"s", "Hz", "W", "J", "J/s", "K", "bit", "bit/s", "m", "km", "deg", "dBi", "cycles/s",
                   "cycles/bit", "tasks/s"})


@dataclass(frozen=True)
class FieldDoc:
    """One config field as the documentation shows it."""

    name: str
    default: Any
    unit: str  # "" for counts, ratios, choices and flags
    allowed: str  # what the field's checker accepts (``Range.describe``)
    meaning: str  # the field's comment in the dataclass, without the unit
    section: str  # the comment line heading its group in the dataclass ("" before the first)


def field_docs(config_cls: type, ranges: dict) -> list[FieldDoc]:
    """Every field of ``config_cls`` with its default, unit, allowed values and meaning, read from the
    dataclass's source: the comment after a field is its meaning (continued on the next lines when they
    are comments indented past the ``#``, as ``#     more``), its unit the ``, <unit>`` (``UNITS``) that
    ends it or precedes a ``;`` or `` (``; comment-only lines between fields head a section. Raises
    ``ValueError`` for a field without a comment."""
    import inspect
    import io
    import tokenize

    names = {f.name for f in dataclasses.fields(config_cls)}
    tokens = list(tokenize.generate_tokens(io.StringIO(inspect.getsource(config_cls)).readline))
    first_on_line: dict[int, tokenize.TokenInfo] = {}
    for tok in tokens:
        if tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.NEWLINE):
            first_on_line.setdefault(tok.start[0], tok)
    comments: dict[str, str] = {}
    sections: dict[str, str] = {}
    section, heading_row, field, field_row = "", -2, None, -2
    for tok in tokens:
        if tok.type == tokenize.NAME and first_on_line[tok.start[0]] is tok and tok.string in names:
            field, field_row = tok.string, tok.start[0]
            sections[field] = section
        if tok.type != tokenize.COMMENT:
            continue
        row, text = tok.start[0], tok.string[1:]
        if first_on_line[row] is not tok:  # after a field on its line
            if field_row == row:
                comments[field] = text.strip()
        elif row == field_row + 1 and text.startswith("  ") and field in comments:  # continues the field's
            comments[field] += " " + text.strip()
            field_row = row
        else:  # a section heading, possibly over several lines
            section = f"{section} {text.strip()}" if row == heading_row + 1 else text.strip()
            heading_row = row
    units = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
    unit_at = re.compile(rf", ({units})(?=$|;| \()")
    out = []
    for f in dataclasses.fields(config_cls):
        comment = comments.get(f.name)
        if not comment:
            raise ValueError(f"{config_cls.__name__}.{f.name}: no comment giving its meaning (and unit)")
        match = unit_at.search(comment)
        unit = match.group(1) if match else ""
        meaning = comment[: match.start()] + comment[match.end():] if match else comment
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(FieldDoc(f.name, default, unit, ranges[f.name].describe(), meaning, sections.get(f.name, "")))
    return out
