"""What both environments share: construction from a scenario name plus keyword overrides, and pickling
of the whole state (a pickled or deep-copied env continues its episode identically; the sgp4 objects
inside rebuild themselves from the constellation's parameters)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from gymnasium.utils import EzPickle

from ..config import as_integer

# exact types of integer scalars: one set lookup per action on the fast path of ``integer_actions``
_INT_TYPES = frozenset({int, *(np.dtype(code).type for code in np.typecodes["AllInteger"])})
NOT_ACTIONS = "bools, floats, complex numbers, strings and containers are not actions"


def integer_action(name: str, value, n: int) -> int:
    """``value`` as an action of ``Discrete(n)``: an integer (``as_integer``) in [0, n); anything else
    raises ``ValueError`` naming ``name``."""
    a = as_integer(value)
    if a is None:
        raise ValueError(f"{name}: {value!r} is not an integer; expected an integer in [0, {n - 1}] ({NOT_ACTIONS})")
    if not 0 <= a < n:
        raise ValueError(f"{name}: {value!r} is out of range; expected an integer in [0, {n - 1}]")
    return a


def integer_actions(actions: Mapping, n: int) -> np.ndarray:
    """The values of an agent -> action mapping as an int64 array, each checked by ``integer_action``."""
    values = list(actions.values())
    if set(map(type, values)) <= _INT_TYPES:
        try:
            out = np.fromiter(values, np.int64, len(values))
        except OverflowError:  # beyond int64: out of range, reported below
            out = None
        if out is not None and (not out.size or (out.min() >= 0 and out.max() < n)):
            return out
    return np.array([integer_action(f"actions[{k!r}]", v, n) for k, v in actions.items()], np.int64)


def integer_action_array(name: str, actions, shape: tuple[int, ...], n: int) -> np.ndarray:
    """``actions`` as an integer array of ``shape`` with values in [0, n) (bool, float, complex,
    string and object arrays are refused, as are ragged sequences)."""
    try:
        acts = np.asarray(actions)
    except ValueError:  # ragged nested sequences
        raise ValueError(f"{name}: not an array of shape {shape}: {actions!r}") from None
    if acts.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {acts.shape}")
    if acts.dtype.kind not in "iu":
        raise ValueError(f"{name}: dtype {acts.dtype} is not an integer dtype; expected integers in [0, {n - 1}] "
                         f"(bool, float, complex, string and object arrays are not actions)")
    if acts.size and (acts.min() < 0 or acts.max() >= n):
        raise ValueError(f"{name}: values must lie in [0, {n - 1}], got [{acts.min()}, {acts.max()}]")
    return acts


def reset_options(options, allowed: tuple[str, ...], *, warn_unknown: bool = False) -> dict:
    """``options`` of ``reset`` as a dict: None or a mapping whose keys are all in ``allowed``. Unknown
    keys raise ``ValueError``, or with ``warn_unknown`` are dropped with a warning (PettingZoo's API
    tests reset with ``options={"options": 1}`` and expect an env without options to accept it)."""
    what = f"allowed keys are {list(allowed)}" if allowed else "this environment takes no reset options"
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"options: {options!r} is not a dict; expected None or a dict ({what})")
    unknown = [key for key in options if key not in allowed]
    if unknown and not warn_unknown:
        raise ValueError(f"options: unknown key {unknown[0]!r}; {what}")
    if unknown:
        warnings.warn(f"options: unknown key {unknown[0]!r} ignored; {what}", UserWarning, stacklevel=3)
    return {key: value for key, value in options.items() if key in allowed}


class ScenarioEnv(EzPickle):
    _transient: tuple[str, ...] = ()  # attributes not pickled (viewers, windows)

    def _setup(self, make_config, scenario, render_mode, overrides: dict) -> None:
        EzPickle.__init__(self, scenario, render_mode, **overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: {render_mode!r} is not None or one of {self.metadata['render_modes']}")
        self.config = make_config(scenario, **overrides)
        self.scenario = scenario if isinstance(scenario, str) else "custom"
        self.render_mode = render_mode

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(dict.fromkeys(self._transient))
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
