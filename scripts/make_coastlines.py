"""Writes leo_envs/data/coastlines_110m.npz, the world outline the offload_routing viewer draws.

Source: Natural Earth 1:110m land (public domain), as the TopoJSON file ``land-110m.json`` of the npm
package world-atlas 2.0.2 (ISC licence, Mike Bostock). Get it with ``npm pack world-atlas@2.0.2`` and
``tar xzf world-atlas-2.0.2.tgz``, then run ``python scripts/make_coastlines.py package/land-110m.json``.

The arcs of the land polygons are decoded (TopoJSON delta-encoded, quantised coordinates) into one
lon/lat polyline each; the straight cuts of the polygons along the antimeridian and the bottom of the
map are not coastlines and are left out. Output: float32 ``lon_deg`` and ``lat_deg``, NaN between lines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "leo_envs" / "data" / "coastlines_110m.npz"


def decode_arcs(topology: dict) -> list[np.ndarray]:
    scale = np.asarray(topology["transform"]["scale"])
    translate = np.asarray(topology["transform"]["translate"])
    return [np.cumsum(np.asarray(arc, dtype=float), axis=0) * scale + translate for arc in topology["arcs"]]


def coast_pieces(arc: np.ndarray, bottom_deg: float) -> list[np.ndarray]:
    """``arc`` split where a segment runs along (or jumps across) the antimeridian or runs along the
    bottom edge of the map."""
    lon, lat = arc[:, 0], arc[:, 1]
    cut = ((np.abs(lon[:-1]) > 179.99) & (np.abs(lon[1:]) > 179.99)) | (
        (lat[:-1] < bottom_deg + 0.01) & (lat[1:] < bottom_deg + 0.01)) | (np.abs(np.diff(lon)) > 180)
    pieces, start = [], 0
    for k in np.flatnonzero(cut):
        pieces.append(arc[start:k + 1])
        start = k + 1
    pieces.append(arc[start:])
    return [p for p in pieces if len(p) >= 2]


def main(path: str) -> None:
    topology = json.loads(Path(path).read_text())
    bottom = topology["bbox"][1]
    lines = [p for arc in decode_arcs(topology) for p in coast_pieces(arc, bottom)]
    gap = np.array([[np.nan, np.nan]])
    xy = np.concatenate([np.concatenate([p, gap]) for p in lines])[:-1].astype(np.float32)
    np.savez_compressed(OUT, lon_deg=xy[:, 0], lat_deg=xy[:, 1])
    print(f"{OUT}: {len(lines)} lines, {int(np.isfinite(xy[:, 0]).sum())} points")


if __name__ == "__main__":
    main(sys.argv[1])
