"""Reports: JSON and markdown written atomically (``jaxrl_rewards.core.files``), markdown tables."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxrl_rewards.core.files import atomic_write_text
from jaxrl_rewards.core.validation import ConfigError

from .cli import log


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON has no NaN); numpy
    scalars become Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(path: str | Path, data: Any, *, strict: bool = False) -> Path:
    """Write ``data`` as indented JSON (numpy values and tuples converted) atomically; ``strict``
    writes non-finite floats as ``null``. Returns the path."""
    text = json.dumps(strict_json(data) if strict else data, indent=1, default=_jsonable, allow_nan=not strict)
    atomic_write_text(path, text + "\n")
    return Path(path)


def read_json(path: str | Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when the file is missing or unreadable (logged)."""
    path = Path(path)
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        log(f"{path} is unreadable; starting afresh")
        return default


def write_report(out: str | Path, name: str, data: Any, markdown: str, *, strict: bool = False) -> tuple[Path, Path]:
    """Write ``<out>/<name>.json`` (``data``) and ``<out>/<name>.md`` (``markdown``) atomically;
    returns both paths."""
    out = Path(out)
    json_path = write_json(out / f"{name}.json", data, strict=strict)
    md_path = out / f"{name}.md"
    atomic_write_text(md_path, markdown if markdown.endswith("\n") else markdown + "\n")
    return json_path, md_path


def publish(out: str | Path, name: str, data: Any, markdown: str) -> int:
    """:func:`write_report`, then the markdown on stdout; returns 0 (a script's exit status)."""
    write_report(out, name, data, markdown)
    print(markdown)
    return 0


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    """Lines of a markdown table. ``align`` has one letter per column: ``l`` (``---``) or ``r``
    (``---:``); default all ``l``.

    >>> markdown_table(["a", "b"], [[1, 2]], "lr")
    ['| a | b |', '| --- | ---: |', '| 1 | 2 |']
    """
    align = align or "l" * len(headers)
    if len(align) != len(headers) or set(align) - {"l", "r"}:
        raise ConfigError(f"align {align!r}: need one of 'l' / 'r' per column ({len(headers)} columns)")
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" if a == "l" else "---:" for a in align) + " |"]
    for row in rows:
        if len(row) != len(headers):
            raise ConfigError(f"row {list(row)!r} has {len(row)} cells, the table has {len(headers)} columns")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return lines
