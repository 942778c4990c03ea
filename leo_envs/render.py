"""Matplotlib plumbing shared by the viewers: off-screen figures turned into RGB arrays, the world map."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import numpy as np


def new_figure(width_in: float = 8.0, height_in: float = 4.5, dpi: int = 80):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


@lru_cache(maxsize=1)
def coastlines() -> tuple[np.ndarray, np.ndarray]:
    """Natural Earth's 1:110m coastlines (public domain) as lon, lat in degrees, NaN between lines
    (``leo_envs/data/coastlines_110m.npz``, written by ``scripts/make_coastlines.py``)."""
    with np.load(files("leo_envs") / "data" / "coastlines_110m.npz", allow_pickle=False) as data:
        return data["lon_deg"], data["lat_deg"]


def world_map(ax) -> None:
    """A plate carree map on ``ax``: coastlines in grey, graticule every 30 deg, axes in degrees."""
    lon, lat = coastlines()
    ax.plot(lon, lat, color="0.72", lw=0.6, zorder=0)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(np.arange(-180, 181, 60))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.grid(color="0.9", lw=0.5, zorder=0)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")


def figure_to_rgb(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


class HumanWindow:
    """Shows frames in a pyplot window (does nothing visible on a non-interactive backend)."""

    def __init__(self) -> None:
        self._plt = None
        self._image = None

    def show(self, frame: np.ndarray) -> None:
        import matplotlib.pyplot as plt

        if self._plt is None:
            self._plt = plt
            plt.ion()
            fig, ax = plt.subplots()
            ax.axis("off")
            self._image = ax.imshow(frame)
        else:
            self._image.set_data(frame)
        self._plt.gcf().canvas.draw_idle()
        self._plt.gcf().canvas.flush_events()

    def close(self) -> None:
        if self._plt is not None:
            self._plt.close(self._plt.gcf())
            self._plt = None
