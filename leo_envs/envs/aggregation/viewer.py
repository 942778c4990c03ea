"""Picture of Aggregation-v2: the service cluster on a map by role (working, sleeping, control, the
business being placed), transfers drawn from origin to host (through the control satellite when relayed)
with width by the bits they carry, and every satellite's delay before and after the transfers."""

from __future__ import annotations

import numpy as np

from ...core import ecef_to_geodetic
from ...render import figure_to_rgb, new_figure, world_map

MARGIN_DEG = 6.0  # map margin around the cluster, deg


def render_frame(env) -> np.ndarray:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    inst, st = env.instance, env.state
    fig = new_figure(10.0, 4.6)
    ax = fig.add_axes((0.06, 0.24, 0.5, 0.62))
    bars = fig.add_axes((0.65, 0.24, 0.33, 0.62))
    lat, lon, _ = ecef_to_geodetic(inst.sat_position_m)
    clat, clon, _ = ecef_to_geodetic(inst.control_position_m)
    world_map(ax)
    x_all, y_all = np.append(lon, clon), np.append(lat, clat)
    ax.set_xticks(np.arange(-180, 181, 10))  # before the limits: set_xticks widens them to the ticks
    ax.set_yticks(np.arange(-90, 91, 10))
    ax.set_xlim(x_all.min() - MARGIN_DEG, x_all.max() + MARGIN_DEG)
    ax.set_ylim(y_all.min() - MARGIN_DEG, y_all.max() + MARGIN_DEG)

    # transfers made so far, one line per (origin, host) pair, width by the bits it carried
    done = np.flatnonzero(st.assigned >= 0)
    carried: dict[tuple[int, int, bool], float] = {}
    for k in done:
        i, j = int(inst.origin[inst.transfer[k]]), int(st.assigned[k])
        key = (i, j, bool(inst.relayed[k, j]))
        carried[key] = carried.get(key, 0.0) + float(inst.bits[inst.transfer[k]])
    segs, widths = [], []
    for (i, j, relayed), bits in carried.items():
        path = [(lon[i], lat[i]), (clon, clat), (lon[j], lat[j])] if relayed else [(lon[i], lat[i]), (lon[j], lat[j])]
        segs.append(path)
        widths.append(0.6 + 2.4 * min(bits / 5e6, 1.0))
    ax.add_collection(LineCollection(segs, colors="tab:orange", linewidths=widths, alpha=0.8, zorder=1))

    w = inst.working
    ax.scatter(lon[w], lat[w], s=70, c="tab:green", edgecolors="k", linewidths=0.5, zorder=3)
    ax.scatter(lon[~w], lat[~w], s=70, c="0.75", edgecolors="k", linewidths=0.5, zorder=3)
    ax.scatter([clon], [clat], s=140, marker="*", c="tab:red", edgecolors="k", linewidths=0.5, zorder=3)
    for s in range(env.m):
        ax.annotate(str(s), (lon[s], lat[s]), xytext=(4, 4), textcoords="offset points", fontsize=7)
    handles = [
        Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor="tab:green", markeredgecolor="k",
               label="working (stays awake)"),
        Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor="0.75", markeredgecolor="k",
               label="to sleep"),
        Line2D([], [], ls="", marker="*", markersize=11, markerfacecolor="tab:red", markeredgecolor="k",
               label="control satellite"),
        Line2D([], [], color="tab:orange", lw=2, label="transfers (width: bits, up to 5 Mbit)"),
    ]
    if not st.done:
        i = inst.origin[inst.transfer[st.k]]
        ax.scatter([lon[i]], [lat[i]], s=220, facecolors="none", edgecolors="k", lw=1.2, zorder=4)
        handles.append(Line2D([], [], ls="", marker="o", markersize=11, markerfacecolor="none",
                              markeredgecolor="k", label="origin of the business to place"))
    m = st.metrics()
    # mid-episode, the delay the reassignments so far added (the running metric counts the businesses
    # still to place as refused, served at the end of the accounting period)
    delay_s = m["delay_increment_s"] if st.done else max(st.t_after() - inst.t_before_s, 0.0)
    fig.suptitle(f"Aggregation-v2   {st.k}/{inst.num_transfers} businesses reassigned   "
                 f"net energy saved {m['net_energy_saved_j'] / 1e3:.1f} kJ   delay added "
                 f"{delay_s * 1e3:.1f} ms", fontsize=9, y=0.97)

    delays = st.delays() * 1e3
    sats = np.arange(env.m)
    own = inst.own_load_s * 1e3
    bars.bar(sats, np.where(w, own, 0.0), color="tab:green", label="own load (working)")
    bars.bar(sats, np.where(w, 0.0, own), color="0.75", label="own load (to sleep)")
    bars.bar(sats, np.maximum(delays - own, 0) * w, bottom=own, color="tab:orange", label="added by transfers")
    bars.axhline(inst.t_before_s * 1e3, color="k", ls="--", lw=0.8, label="max delay before")
    bars.set_xticks(sats)
    bars.tick_params(axis="x", labelsize=7)
    bars.set_xlabel("service satellite")
    bars.set_ylabel("finish time of its businesses (ms)")
    handles += bars.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))
    return figure_to_rgb(fig)
