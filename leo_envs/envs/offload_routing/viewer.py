"""Picture of offload_routing_v1: satellites on a map (role, queue), live ISLs coloured by backlog."""

from __future__ import annotations

import numpy as np

from ...core import ecef_to_geodetic
from ...render import HumanWindow, figure_to_rgb, new_figure
from .types import AT_NODE, NUM_PORTS, ON_LINK


class OffloadRoutingViewer:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.fig = new_figure()
        self.window = HumanWindow()

    def frame(self) -> np.ndarray:
        sim = self.sim
        st = sim.state
        lat, lon, _ = ecef_to_geodetic(sim.positions_ecef())
        fig = self.fig
        fig.clear()
        ax = fig.add_subplot(1, 1, 1)
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_xlabel("longitude (deg)")
        ax.set_ylabel("latitude (deg)")
        src, port = np.nonzero(st.link_up)
        dst = st.port_nbr[src, port]
        keep = (src < dst) & (np.abs(lon[src] - lon[dst]) < 180)
        backlog = st.backlog_s(st.link_free_s)[src, port][keep]
        from matplotlib.collections import LineCollection

        a, b_ = src[keep], dst[keep]
        segs = np.stack([np.stack([lon[a], lat[a]], -1), np.stack([lon[b_], lat[b_]], -1)], 1)
        lc = LineCollection(segs, cmap="viridis", linewidths=0.8)
        lc.set_array(np.minimum(backlog, 2.0))
        lc.set_clim(0.0, 2.0)
        ax.add_collection(lc)
        queued = sim.queued_bits(st.t_s) / sim.cfg.task_bits
        size = 10 + 25 * np.minimum(queued, 4.0)
        rs, cs = ~st.is_csat, st.is_csat
        ax.scatter(lon[rs], lat[rs], s=size[rs], c="tab:blue", label="RS-Sat")
        ax.scatter(lon[cs], lat[cs], s=size[cs], c="tab:red", marker="s", label="C-Sat")
        b = st.bundles
        live = np.flatnonzero(np.isin(b.state[: b.size], (AT_NODE, ON_LINK)))
        if live.size:
            ax.scatter(lon[b.node[live]], lat[b.node[live]], s=6, c="orange", label="bundle")
        down = ~st.sat_up
        if down.any():
            ax.scatter(lon[down], lat[down], s=30, c="k", marker="x", label="failed")
        fig.colorbar(lc, ax=ax, label=f"link backlog (s), {NUM_PORTS} ports per satellite")
        ax.legend(loc="lower left", fontsize=7)
        m = sim.metrics()
        ax.set_title(f"t = {st.t_s:.2f} s   finished {m['finished_tasks']}/{m['arrived_tasks']}   "
                     f"mean task cost {m['mean_task_cost_s']:.2f} s", fontsize=9)
        return figure_to_rgb(fig)

    def show(self, frame: np.ndarray) -> None:
        self.window.show(frame)

    def close(self) -> None:
        self.window.close()
