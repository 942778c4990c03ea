"""What both environments share: construction from a scenario name plus keyword overrides, and pickling
of the whole state (a pickled or deep-copied env continues its episode identically; the sgp4 objects
inside rebuild themselves from the constellation's parameters)."""

from __future__ import annotations

from gymnasium.utils import EzPickle


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
