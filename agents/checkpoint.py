"""Snapshots: directories of a run written whole or not at all, and read back as data only.

A run directory (``train.py --out DIR``) holds two snapshots and the logs:

    DIR/model/        the evaluable model (``evaluate.py --checkpoint DIR``): model.pt, meta.json
    DIR/checkpoint/   what ``--resume`` continues from: the learner's state files, meta.json
    DIR/progress.csv, DIR/tb/ (or SB3's events)   logs, rewound to the checkpoint on resume

Each snapshot has a ``manifest.json`` (format, step, and every file's size and sha256) written last. A new
snapshot is written into a temporary directory beside the old one, each file fsynced, then swapped in by
two renames; an interruption leaves either the old snapshot or the new one (``recover`` finishes a swap cut
between its renames). Reading checks the manifest before anything is parsed, and parses with data-only
loaders: ``torch.load(weights_only=True)``, ``np.load(allow_pickle=False)``, ``json``. Whatever is wrong with
a snapshot becomes one ``CheckpointError`` (a ``ValueError``) naming the file, what is wrong and what was
expected.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
MANIFEST_FILE = "manifest.json"
META_FILE = "meta.json"
WEIGHTS_FILE = "model.pt"
FORMAT = 1
META_KEYS = ("agent", "env", "version", "config", "step")


class CheckpointError(ValueError):
    """A snapshot that cannot be used: the message names the file, what is wrong and what was expected."""


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode()


def torch_bytes(state: dict) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    for name, a in arrays.items():
        if np.asarray(a).dtype == object:
            raise TypeError(f"npz_bytes: {name} is an object array (it would need a pickle)")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sidecars(path: Path) -> tuple[Path, Path]:
    """Where a new snapshot of ``path`` is built and where the old one waits during the swap."""
    return path.parent / f".{path.name}.new", path.parent / f".{path.name}.old"


def write_snapshot(path: Path, meta: dict, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> bytes, see ``torch_bytes`` / ``npz_bytes`` / ``json_bytes``) and ``meta``
    (meta.json: at least ``agent``, ``env``, ``version``, ``config``, ``step``) as the snapshot ``path``,
    replacing the one there only once the new one is complete on disk."""
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"write_snapshot: meta lacks {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)  # an earlier swap cut between its renames is finished first
    new, old = _sidecars(path)
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    contents = {**files, META_FILE: json_bytes(meta)}
    for name, data in contents.items():
        _write_file(new / name, data)
    manifest = {"format": FORMAT, "step": int(meta["step"]), "files": {
        name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in contents.items()}}
    _write_file(new / MANIFEST_FILE, json_bytes(manifest))
    _fsync_dir(new)
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(path, old)
    os.rename(new, path)
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)


def locate(path: Path) -> Path:
    """Where the snapshot ``path`` is: ``path`` itself, or, if a swap was cut between its two renames (the
    snapshot moved aside, the new one not yet in place), the complete new one, else the old one."""
    path = Path(path)
    if path.exists():
        return path
    for candidate in _sidecars(path):
        if candidate.is_dir():
            try:
                read_snapshot(candidate)
            except CheckpointError:
                continue
            return candidate
    return path


def recover(path: Path) -> None:
    """Finish a swap cut between its renames: the snapshot ``locate`` finds is moved back to ``path``."""
    found = locate(path)
    if found != Path(path):
        os.rename(found, path)
        _fsync_dir(Path(path).parent)


@dataclass(frozen=True)
class Snapshot:
    """A verified snapshot: its directory, manifest and meta.json; files are parsed on demand."""

    path: Path
    manifest: dict
    meta: dict

    @property
    def step(self) -> int:
        return int(self.manifest["step"])

    def file(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise CheckpointError(f"{self.path / MANIFEST_FILE}: lists no {name!r}; expected one of "
                                  f"{sorted(self.manifest['files'])}")
        return self.path / name

    def torch(self, name: str = WEIGHTS_FILE) -> dict:
        """A torch file of tensors and plain containers (``weights_only=True``: never runs code)."""
        import pickle

        import torch

        path = self.file(name)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{path}: refused, it holds objects other than tensors and plain containers "
                                  f"({first[:160]}); expected a state_dict saved by train.py") from None
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: not a readable torch file ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:160] if str(exc) else ''}); expected a state_dict "
                                  "saved by train.py") from None
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: holds a {type(state).__name__}; expected a dict of state_dicts")
        return state

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of an ``.npz`` file (``allow_pickle=False``: object arrays are refused)."""
        path = self.file(name)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (ValueError, OSError, EOFError, KeyError) as exc:
            raise CheckpointError(f"{path}: not a readable .npz of plain arrays ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:160] if str(exc) else ''})") from None

    def json(self, name: str) -> Any:
        return _read_json(self.file(name))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: not UTF-8 text (byte {exc.start}); expected JSON") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def _sha256(path: Path) -> str:
    """The file's digest, read as raw bytes (never parsed)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _expect(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise CheckpointError(f"{path}: {what}")


def read_snapshot(path: Path) -> Snapshot:
    """The snapshot in ``path``, every file checked against its manifest, meta.json parsed and checked."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such directory; expected a snapshot written by train.py")
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise CheckpointError(f"{manifest_path}: missing; expected a snapshot written by train.py (a directory "
                              "with model.pt, meta.json and manifest.json; run directories written before "
                              "snapshots were introduced have none: retrain them)")
    manifest = _read_json(manifest_path)
    _expect(isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)
            and isinstance(manifest.get("step"), int), manifest_path,
            "expected an object with 'format', 'step' (an integer) and 'files'")
    _expect(manifest.get("format") == FORMAT, manifest_path,
            f"format {manifest.get('format')!r}; this version reads format {FORMAT}")
    _expect(META_FILE in manifest["files"], manifest_path, f"lists no {META_FILE}")
    for name, record in manifest["files"].items():
        _expect(isinstance(name, str) and "/" not in name and name not in ("", ".", "..", MANIFEST_FILE),
                manifest_path, f"file name {name!r}; expected a plain file name")
        _expect(isinstance(record, dict) and isinstance(record.get("bytes"), int)
                and isinstance(record.get("sha256"), str), manifest_path,
                f"entry for {name!r}; expected {{'bytes': int, 'sha256': str}}")
        file = path / name
        _expect(file.is_file(), file, f"missing; {MANIFEST_FILE} lists it ({record['bytes']} bytes)")
        size = file.stat().st_size
        _expect(size == record["bytes"], file,
                f"{size} bytes; {MANIFEST_FILE} says {record['bytes']} (truncated or replaced)")
        digest = _sha256(file)
        _expect(digest == record["sha256"], file, f"sha256 {digest[:12]}... differs from {MANIFEST_FILE}'s "
                f"{record['sha256'][:12]}... (modified after it was written)")
    meta_path = path / META_FILE
    meta = _read_json(meta_path)
    _expect(isinstance(meta, dict), meta_path, f"holds a {type(meta).__name__}; expected an object")
    missing = [k for k in META_KEYS if k not in meta]
    _expect(not missing, meta_path, f"lacks {missing}; expected {list(META_KEYS)}")
    _expect(isinstance(meta["config"], dict), meta_path, "'config' is not an object")
    _expect(isinstance(meta["agent"], str) and isinstance(meta["env"], str), meta_path,
            "'agent' and 'env' must be strings")
    _expect(meta["step"] == manifest["step"], meta_path,
            f"step {meta['step']!r}; {MANIFEST_FILE} says {manifest['step']}")
    return Snapshot(path, manifest, meta)


def model_dir(checkpoint: Path) -> Path:
    """The evaluable model's snapshot for what a user passes as ``--checkpoint``: a run directory or the
    ``model/`` snapshot itself."""
    checkpoint = Path(checkpoint)
    looks_like_snapshot = any((checkpoint / f).exists() for f in (MANIFEST_FILE, META_FILE, WEIGHTS_FILE))
    return checkpoint if looks_like_snapshot and not (checkpoint / MODEL_DIR).exists() else checkpoint / MODEL_DIR


def read_model(checkpoint: Path) -> Snapshot:
    """The evaluable model of a run directory (or of a ``model/`` snapshot)."""
    if not Path(checkpoint).is_dir():
        raise CheckpointError(f"{checkpoint}: no such directory; expected a run directory written by train.py")
    path = locate(model_dir(checkpoint))
    if not path.exists():
        raise CheckpointError(f"{checkpoint}: no model/ snapshot (model.pt, meta.json, manifest.json); expected a "
                              "run directory written by train.py")
    return read_snapshot(path)


def read_checkpoint(run_dir: Path) -> Snapshot:
    """The resume checkpoint of a run directory (``--resume``); CheckpointError if there is none."""
    path = Path(run_dir) / CHECKPOINT_DIR
    recover(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint to resume from (train.py writes one at each episode end; "
                              "run without --resume to start a new run)")
    return read_snapshot(path)


def check_resume(snapshot: Snapshot, *, agent: str, env: str, config: dict,
                 may_change: tuple[str, ...] = ("steps",)) -> None:
    """Refuse to resume ``snapshot`` as another agent, env or config (every field but ``may_change``),
    naming the first field that differs."""
    run = snapshot.path.parent
    for field, mine in (("agent", agent), ("env", env)):
        if snapshot.meta[field] != mine:
            raise CheckpointError(f"resume: {run} holds a {snapshot.meta[field]!r} run, not {mine!r}; {field} "
                                  "must match the run's")
    saved, mine = snapshot.meta["config"], json.loads(json_bytes(config))
    for key in sorted((set(saved) | set(mine)) - set(may_change)):
        if saved.get(key) != mine.get(key):
            raise CheckpointError(f"resume: {key} is {mine.get(key)!r} but the run in {run} was trained with "
                                  f"{saved.get(key)!r}; resume with the same {key} (only {list(may_change)} may "
                                  "change)")


def rewind_csv(path: Path, step_column: str, step: int) -> None:
    """Drop the rows of ``path`` logged after ``step`` (by an invocation killed after its last checkpoint)."""
    import csv

    path = Path(path)
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or step_column not in rows[0]:
        return
    col = rows[0].index(step_column)

    def logged_at(row: list[str]) -> float:
        try:
            return float(row[col])
        except (IndexError, ValueError):
            return float("inf")  # a row cut by the kill

    kept = [rows[0], *(r for r in rows[1:] if logged_at(r) <= step)]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(kept)
    os.replace(tmp, path)
