"""The results store of a sweep: one parquet file per finished chunk, written atomically and
recorded in the manifest with its checksum, so damage is found instead of trusted.

Layout of a store directory::

    manifest.json                 format version, spec (canonical form), its fingerprint, chunk
                                  sizes, param columns, the metric columns of all variants, and
                                  per chunk file: sha256, run ids, rows
    chunks/<variant>-<chunk>.parquet   one row per run x iteration of one chunk

A chunk's manifest entry is written first, then its file (both atomically: temp file + rename);
a chunk counts as finished only when its file's sha256 and run ids match that entry. So a
killed sweep leaves finished chunks intact and nothing half-written; a resumed sweep skips the
finished chunks and recomputes every damaged one (truncated, a flipped byte, a chunk copied
over another) or missing one. Files in ``chunks/`` with no manifest entry do not belong to the
store and are refused (``StoreDamagedError`` naming them), as is loading a store with damaged
chunks. An unreadable manifest is moved aside (``manifest.json.damaged``, with the old chunks
in ``chunks.damaged``) and the sweep starts afresh. A different spec is refused unless
``force=True`` (which clears the old chunks); so is a store of another format version.

Every chunk file has one schema (:func:`conform`: the union of all variants' metric columns,
NaN where a variant does not produce one; step counts int64), so standard readers load a whole
store in one line: ``pd.read_parquet("<store>/chunks")`` or
``pl.read_parquet("<store>/chunks/*.parquet")``.
"""

from __future__ import annotations

import hashlib
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

#: 2: per-chunk sha256 and run ids in the manifest
FORMAT_VERSION = 2


class SpecChangedError(ConfigError):
    """The store holds results of a different sweep spec (or of another format version)."""


class StoreDamagedError(ConfigError):
    """The store holds files that do not belong to it, or chunks whose checksum does not match."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "v"


def sha256_of(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class ResultStore:
    """A sweep's results directory (see the module docstring)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.chunk_dir = self.directory / "chunks"
        self.manifest_path = self.directory / "manifest.json"

    # ------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or ``None`` for a new store.

        Raises:
            StoreDamagedError: the manifest exists but is not a readable JSON object.
        """
        if not self.manifest_path.exists():
            return None
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise StoreDamagedError(f"{self.manifest_path} is damaged ({err})") from None
        if not isinstance(manifest, dict):
            raise StoreDamagedError(f"{self.manifest_path} is damaged (not a JSON object)")
        return manifest

    def open(self, spec: dict[str, Any], fingerprint: str, *, force: bool = False, **extra: Any) -> dict[str, Any]:
        """Create the store for ``spec`` or reopen it to resume.

        Raises:
            SpecChangedError: the store belongs to a different spec (or format version) and
                ``force`` is false.
            StoreDamagedError: ``chunks/`` holds files the manifest does not list.
        """
        try:
            old = self.manifest()
        except StoreDamagedError:
            self._set_aside()
            old = None
        if old is not None and old.get("version") != FORMAT_VERSION and not force:
            raise SpecChangedError(
                f"{self.directory} is a results store of format version {old.get('version')}; this version "
                f"writes format {FORMAT_VERSION} (checksummed chunks, one schema). Use a new output directory, "
                "or force=True / --force to discard the old results"
            )
        if old is not None and (old.get("fingerprint") != fingerprint or old.get("version") != FORMAT_VERSION):
            if not force:
                changed = sorted(k for k in set(spec) | set(old.get("spec", {})) if spec.get(k) != old["spec"].get(k))
                raise SpecChangedError(
                    f"{self.directory} holds results of a different sweep spec (changed: {changed}); "
                    "use a new output directory, or force=True / --force to discard the old results"
                )
            shutil.rmtree(self.chunk_dir, ignore_errors=True)
            old = None
        manifest = old or {"version": FORMAT_VERSION, "fingerprint": fingerprint, "spec": spec, **extra, "chunks": {}}
        if old is None:
            atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, default=str))
        self.chunk_dir.mkdir(parents=True, exist_ok=True)
        foreign = self.foreign_files()
        if foreign:
            raise StoreDamagedError(
                f"{self.chunk_dir} holds files that do not belong to this store (not in its manifest): "
                f"{[f.name for f in foreign]}; move them away and rerun"
            )
        return manifest

    def _set_aside(self) -> None:
        """Move an unreadable manifest and the chunks it described out of the way."""
        for path in (self.manifest_path, self.chunk_dir):
            if path.exists():
                target = path.with_name(path.name + ".damaged")
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                path.rename(target)

    def update_manifest(self, **fields: Any) -> None:
        """Add or replace manifest fields (atomically)."""
        manifest = {**(self.manifest() or {}), **fields}
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, default=str))

    # ------------------------------------------------------------------ chunks
    def chunk_path(self, variant: str, chunk: int) -> Path:
        return self.chunk_dir / f"{_slug(variant)}-{chunk:05d}.parquet"

    def _entry(self, path: Path) -> dict[str, Any] | None:
        return ((self.manifest() or {}).get("chunks") or {}).get(path.name)

    def chunk_status(self, variant: str, chunk: int, runs: Sequence[int] | None = None) -> str:
        """``"ok"`` (file and manifest entry agree: sha256 and, when given, run ids),
        ``"missing"`` (no file or no entry: never finished) or ``"damaged"``."""
        path = self.chunk_path(variant, chunk)
        entry = self._entry(path)
        if not path.exists() or entry is None:
            return "missing"
        if sha256_of(path) != entry.get("sha256"):
            return "damaged"
        if runs is not None and sorted(int(r) for r in runs) != entry.get("runs"):
            return "damaged"
        return "ok"

    def has_chunk(self, variant: str, chunk: int, runs: Sequence[int] | None = None) -> bool:
        """Whether the chunk is finished and intact (``chunk_status == "ok"``; temp files and
        damaged files never count)."""
        return self.chunk_status(variant, chunk, runs) == "ok"

    def write_chunk(self, variant: str, chunk: int, frame: pd.DataFrame) -> Path:
        """Write one finished chunk: first its manifest entry (sha256, run ids, row count), then
        the file, both atomically. A kill between the two leaves an entry whose file is missing
        or stale, which a resumed sweep recomputes; the store never holds a file it did not list."""
        path = self.chunk_path(variant, chunk)
        frame = conform(frame, (self.manifest() or {}).get("metric_columns"))
        data = frame.to_parquet(index=False)
        runs = sorted({int(r) for r in frame["run"]}) if "run" in frame else []
        chunks = dict((self.manifest() or {}).get("chunks") or {})
        chunks[path.name] = {"sha256": hashlib.sha256(data).hexdigest(), "runs": runs, "rows": len(frame)}
        self.update_manifest(chunks=chunks)
        atomic_write_bytes(path, data)
        return path

    def read_chunk(self, variant: str, chunk: int) -> pd.DataFrame:
        """One chunk's rows, after checking its checksum (``StoreDamagedError`` if it does not match)."""
        if self.chunk_status(variant, chunk) != "ok":
            raise StoreDamagedError(f"chunk {self.chunk_path(variant, chunk)} is missing or damaged; rerun the sweep")
        return pd.read_parquet(self.chunk_path(variant, chunk))

    def foreign_files(self) -> list[Path]:
        """Parquet files in ``chunks/`` the manifest does not list (not written by this store)."""
        if not self.chunk_dir.exists():
            return []
        listed = set((self.manifest() or {}).get("chunks") or {})
        return sorted(f for f in self.chunk_dir.glob("*.parquet") if f.name not in listed)

    def damaged_files(self) -> list[Path]:
        """Chunk files listed in the manifest whose sha256 does not match their entry."""
        entries = (self.manifest() or {}).get("chunks") or {}
        return sorted(
            self.chunk_dir / name
            for name, entry in entries.items()
            if (self.chunk_dir / name).exists() and sha256_of(self.chunk_dir / name) != entry.get("sha256")
        )

    def load(self) -> pd.DataFrame:
        """All finished chunks as one frame, sorted by variant, run and iteration.

        Raises:
            StoreDamagedError: a chunk's checksum does not match the manifest, or ``chunks/``
                holds files the manifest does not list.
        """
        if not self.chunk_dir.exists():
            return pd.DataFrame()
        foreign, damaged = self.foreign_files(), self.damaged_files()
        if foreign or damaged:
            raise StoreDamagedError(
                f"{self.directory}: "
                + "; ".join(
                    text
                    for text in (
                        f"files that do not belong to this store: {[f.name for f in foreign]}" if foreign else "",
                        f"damaged chunks (checksum mismatch): {[f.name for f in damaged]}, rerun the sweep "
                        "to recompute them" if damaged else "",
                    )
                    if text
                )
            )
        entries = (self.manifest() or {}).get("chunks") or {}
        files = sorted(self.chunk_dir / name for name in entries if (self.chunk_dir / name).exists())
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return frame.sort_values(["variant", "run", "iteration"], kind="stable").reset_index(drop=True)


def conform(frame: pd.DataFrame, metric_columns: Sequence[str] | None) -> pd.DataFrame:
    """``frame`` with the store's one schema: its label columns (variant, chunk, run, point,
    seed, swept parameters, iteration) in their order, then every metric of ``metric_columns``
    (the union over the sweep's variants) in sorted order, float64 NaN where this chunk's
    variant does not produce it. ``None``: the frame as it is (a one-variant store, whose
    chunks all have the same columns)."""
    if metric_columns is None:
        return frame
    metrics = set(metric_columns)
    labels = [c for c in frame.columns if c not in metrics]
    out = frame.reindex(columns=[*labels, *sorted(metrics)])
    for name in metrics - set(frame.columns):
        out[name] = out[name].astype(np.float64)
    return out


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


__all__ = ["FORMAT_VERSION", "ResultStore", "SpecChangedError", "StoreDamagedError", "chunk_frame", "conform",
           "sha256_of"]
