"""Picture of Aggregation-v1: working vs sleeping satellites on a map with transfers, and loads."""

from __future__ import annotations

import numpy as np

from ...core import ecef_to_geodetic
from ...render import figure_to_rgb, new_figure


def render_frame(env) -> np.ndarray:
    inst, st = env.instance, env.state
    fig = new_figure(9.0, 4.0)
    ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    lat, lon, _ = ecef_to_geodetic(inst.sat_position_m)
    clat, clon, _ = ecef_to_geodetic(inst.control_position_m)
    done = st.assigned >= 0
    for k in np.flatnonzero(done):
        i, j = inst.origin[inst.transfer[k]], st.assigned[k]
        ax.annotate("", xy=(lon[j], lat[j]), xytext=(lon[i], lat[i]),
                    arrowprops={"arrowstyle": "->", "color": "0.5", "lw": 0.6})
    ax.scatter(lon[inst.working], lat[inst.working], s=60, c="tab:green", label="working")
    ax.scatter(lon[~inst.working], lat[~inst.working], s=60, c="0.7", label="sleeping")
    ax.scatter([clon], [clat], s=90, marker="*", c="tab:red", label="control")
    if not st.done:
        i = inst.origin[inst.transfer[st.k]]
        ax.scatter([lon[i]], [lat[i]], s=160, facecolors="none", edgecolors="k", label="current")
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.legend(fontsize=7, loc="best")
    m = st.metrics()
    ax.set_title(f"{st.k}/{inst.num_transfers} reassigned, E_net {m['net_energy_saved_j'] / 1e3:.1f} kJ, "
                 f"dT {m['delay_increment_s'] * 1e3:.1f} ms", fontsize=8)
    delays = st.delays() * 1e3
    bars.bar(np.arange(env.m), inst.own_load_s * 1e3, color="tab:blue", label="own load")
    bars.bar(np.arange(env.m), np.maximum(delays - inst.own_load_s * 1e3, 0) * inst.working,
             bottom=inst.own_load_s * 1e3, color="tab:orange", label="after transfers")
    bars.axhline(inst.t_before_s * 1e3, color="k", ls="--", lw=0.8, label="max before")
    bars.set_xlabel("service satellite")
    bars.set_ylabel("delay (ms)")
    bars.legend(fontsize=7)
    return figure_to_rgb(fig)
