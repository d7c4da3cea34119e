"""The results store of a sweep: one parquet file per finished chunk, written atomically.

Layout of a store directory::

    manifest.json                 spec (canonical form), its fingerprint, chunk sizes, param columns
    chunks/<variant>-<chunk>.parquet   one row per run x iteration of one chunk

A chunk file appears only when its chunk is complete (temp file + rename), so a killed sweep
leaves finished chunks intact and nothing half-written; restarting with the same spec skips
them. A different spec is refused unless ``force=True`` (which clears the old chunks).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.results import atomic_write_bytes, atomic_write_text, long_frame

FORMAT_VERSION = 1


class SpecChangedError(ConfigError):
    """The store holds results of a different sweep spec."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "v"


class ResultStore:
    """A sweep's results directory (see the module docstring)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.chunk_dir = self.directory / "chunks"
        self.manifest_path = self.directory / "manifest.json"

    # ------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or ``None`` for a new store."""
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text())

    def open(self, spec: dict[str, Any], fingerprint: str, *, force: bool = False, **extra: Any) -> dict[str, Any]:
        """Create the store for ``spec`` or reopen it to resume.

        Raises:
            SpecChangedError: the store belongs to a different spec and ``force`` is false.
        """
        old = self.manifest()
        if old is not None and old.get("fingerprint") != fingerprint:
            if not force:
                changed = sorted(k for k in set(spec) | set(old.get("spec", {})) if spec.get(k) != old["spec"].get(k))
                raise SpecChangedError(
                    f"{self.directory} holds results of a different sweep spec (changed: {changed}); "
                    "use a new output directory, or force=True / --force to discard the old results"
                )
            shutil.rmtree(self.chunk_dir, ignore_errors=True)
            old = None
        manifest = old or {"version": FORMAT_VERSION, "fingerprint": fingerprint, "spec": spec, **extra}
        if old is None:
            atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, default=str))
        self.chunk_dir.mkdir(parents=True, exist_ok=True)
        return manifest

    def update_manifest(self, **fields: Any) -> None:
        """Add or replace manifest fields (atomically)."""
        manifest = {**(self.manifest() or {}), **fields}
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, default=str))

    # ------------------------------------------------------------------ chunks
    def chunk_path(self, variant: str, chunk: int) -> Path:
        return self.chunk_dir / f"{_slug(variant)}-{chunk:05d}.parquet"

    def has_chunk(self, variant: str, chunk: int) -> bool:
        """Whether the chunk is finished (its file exists; temp files never count)."""
        return self.chunk_path(variant, chunk).exists()

    def write_chunk(self, variant: str, chunk: int, frame: pd.DataFrame) -> Path:
        """Write one finished chunk atomically."""
        path = self.chunk_path(variant, chunk)
        atomic_write_bytes(path, frame.to_parquet(index=False))
        return path

    def read_chunk(self, variant: str, chunk: int) -> pd.DataFrame:
        return pd.read_parquet(self.chunk_path(variant, chunk))

    def load(self) -> pd.DataFrame:
        """All finished chunks as one frame, sorted by variant, run and iteration."""
        files = sorted(self.chunk_dir.glob("*.parquet")) if self.chunk_dir.exists() else []
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return frame.sort_values(["variant", "run", "iteration"], kind="stable").reset_index(drop=True)


def chunk_frame(
    metrics: Mapping[str, np.ndarray],
    *,
    variant: str,
    chunk: int,
    runs: Sequence[int],
    seeds: Sequence[int],
    points: Sequence[Mapping[str, Any]],
    point_ids: Sequence[int],
) -> pd.DataFrame:
    """The long table of one chunk: metrics ``[R, ...]`` of R runs -> one row per run x
    iteration, with columns ``variant, chunk, run, point, seed`` and one per swept parameter."""
    columns: dict[str, Any] = {
        "variant": [variant] * len(runs),
        "chunk": [chunk] * len(runs),
        "run": list(runs),
        "point": list(point_ids),
        "seed": list(seeds),
    }
    for key in points[0] if points else ():
        columns[key] = [float(p[key]) for p in points]
    return long_frame(metrics, columns)


__all__ = ["FORMAT_VERSION", "ResultStore", "SpecChangedError", "chunk_frame"]
