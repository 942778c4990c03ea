"""Matplotlib plumbing shared by the viewers: off-screen figures turned into RGB arrays."""

from __future__ import annotations

import numpy as np


def new_figure(width_in: float = 8.0, height_in: float = 4.5, dpi: int = 80):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


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
