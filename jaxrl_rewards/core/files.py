"""Files that are never half-written: atomic writes of bytes, text and figures.

A write goes to a temp file in the target's folder, is flushed to disk, then renamed over the
target, so a killed process leaves either the old file or the new one.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "runs" / "result.json"
>>> atomic_write_text(path, '{"return": 500.0}')  # creates the folder too
>>> path.read_text()
'{"return": 500.0}'
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write_bytes`` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Render a matplotlib ``Figure`` to PNG and write it atomically; returns the path.

    Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global backend), so
    plotting never changes the backend of the user's session."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


__all__ = ["atomic_write_bytes", "atomic_write_text", "write_figure"]
