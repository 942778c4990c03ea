"""Picture of offload_routing_v3: satellites on a world map by role (marker size: data held), live ISLs
coloured and thickened by their backlog, bundles where they are (on a link: at the share already sent)."""

from __future__ import annotations

import numpy as np

from ...core import ecef_to_geodetic
from ...render import HumanWindow, figure_to_rgb, new_figure, world_map
from .types import AT_NODE, ON_LINK

BACKLOG_SCALE_S = 1.0  # link colours saturate at this backlog, s


class OffloadRoutingViewer:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.fig = new_figure(10.0, 5.6)
        self.window = HumanWindow()

    def frame(self) -> np.ndarray:
        import matplotlib
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        sim, st = self.sim, self.sim.state
        lat, lon, _ = ecef_to_geodetic(sim.positions_ecef())
        fig = self.fig
        fig.clear()
        ax = fig.add_axes((0.07, 0.17, 0.8, 0.71))
        world_map(ax)

        src, port = np.nonzero(st.link_up)
        dst = st.port_nbr[src, port]
        keep = (src < dst) & (np.abs(lon[src] - lon[dst]) < 180)  # each link once, none across the seam
        a, b_ = src[keep], dst[keep]
        directed = st.backlog_s(st.link_free_s)
        back = np.argmax(st.port_nbr[dst] == src[:, None], axis=1)  # dst's port towards src
        backlog = np.maximum(directed[src, port], directed[dst, back])[keep]  # the busier direction
        segs = np.stack([np.stack([lon[a], lat[a]], -1), np.stack([lon[b_], lat[b_]], -1)], 1)
        load = np.minimum(backlog / BACKLOG_SCALE_S, 1.0)
        cmap = matplotlib.colormaps["plasma_r"].with_extremes(bad="0.55")  # idle links grey
        links = LineCollection(segs, cmap=cmap, linewidths=0.7 + 2.3 * load, zorder=1)
        links.set_array(np.where(backlog > 0, load, np.nan))
        links.set_clim(0.0, 1.0)
        ax.add_collection(links)

        held = sim.queued_bits(st.t_s) / sim.cfg.task_bits
        size = 14 + 30 * np.minimum(held, 4.0)
        placed = (st.port_nbr >= 0).any(axis=1)
        roles = (
            (~st.is_csat & placed & st.sat_up, dict(c="tab:blue", marker="o"), "RS-Sat (small model)"),
            (st.is_csat & st.sat_up, dict(c="tab:red", marker="s"), "C-Sat (large model)"),
            (~st.is_csat & ~placed & st.sat_up, dict(c="tab:gray", marker="^"), "relay (no ISL)"),
        )
        handles = []
        for who, style, label in roles:
            if who.any():
                ax.scatter(lon[who], lat[who], s=size[who], edgecolors="k", linewidths=0.4, zorder=3, **style)
                handles.append(Line2D([], [], ls="", markersize=7, markeredgecolor="k", markeredgewidth=0.4,
                                      markerfacecolor=style["c"], marker=style["marker"], label=label))
        down = ~st.sat_up
        if down.any():
            ax.scatter(lon[down], lat[down], s=40, c="k", marker="x", zorder=3)
            handles.append(Line2D([], [], ls="", marker="x", color="k", label="failed satellite"))

        bx, by = self._bundle_positions(lon, lat)
        if bx.size:
            ax.scatter(bx, by, s=22, c="orange", edgecolors="k", linewidths=0.4, marker="D", zorder=4)
        handles.append(Line2D([], [], ls="", marker="D", markersize=5, markerfacecolor="orange",
                              markeredgecolor="k", markeredgewidth=0.3, label=f"bundle ({bx.size} live)"))
        handles.append(Line2D([], [], color="0.55", lw=0.7, label="idle ISL"))
        handles.append(Line2D([], [], ls="", label="(marker size: data held, up to 4 tasks)"))
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False,
                   bbox_to_anchor=(0.47, 0.0), handletextpad=0.3, columnspacing=1.2)
        cax = fig.add_axes((0.89, 0.25, 0.018, 0.58))
        fig.colorbar(links, cax=cax, label=f"ISL backlog (s, {BACKLOG_SCALE_S:g} and more)")

        m = sim.metrics()
        cost = f"{m['mean_task_cost_s']:.2f} s" if m["scored_tasks"] else "n/a (no task older than a TTL)"
        dropped = round(m["drop_rate"] * max(m["arrived_tasks"], 1))
        in_system = m["arrived_tasks"] - m["finished_tasks"] - dropped
        fig.suptitle(f"offload_routing_v3   t = {st.t_s:.2f} s   load: {in_system} tasks in the system, "
                     f"{held.sum() * sim.cfg.task_bits / 1e6:.0f} Mbit held\n"
                     f"finished {m['finished_tasks']} / arrived {m['arrived_tasks']}, dropped "
                     f"{dropped}   mean task cost {cost}", fontsize=9, y=0.97)
        return figure_to_rgb(fig)

    def _bundle_positions(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bundles waiting at a satellite sit on it; one on a link sits where its sent share puts it."""
        st = self.sim.state
        b = st.bundles
        rows = np.flatnonzero(np.isin(b.state[: b.size], (AT_NODE, ON_LINK)))
        node = b.node[rows]
        x, y = lon[node].copy(), lat[node].copy()
        moving = b.state[rows] == ON_LINK
        if moving.any():
            r = rows[moving]
            nxt = st.port_nbr[b.node[r], b.port[r]]
            span = np.maximum(b.arrive[r] - b.tx_start[r], 1e-12)
            f = np.clip((st.t_s - b.tx_start[r]) / span, 0.0, 1.0)
            ok = (nxt >= 0) & (np.abs(lon[b.node[r]] - lon[np.maximum(nxt, 0)]) < 180)
            nxt = np.maximum(nxt, 0)
            x[moving] = np.where(ok, lon[b.node[r]] + f * (lon[nxt] - lon[b.node[r]]), x[moving])
            y[moving] = np.where(ok, lat[b.node[r]] + f * (lat[nxt] - lat[b.node[r]]), y[moving])
        return x, y

    def show(self, frame: np.ndarray) -> None:
        self.window.show(frame)

    def close(self) -> None:
        self.window.close()
