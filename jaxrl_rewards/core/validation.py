"""Eager input checks that run before anything compiles.

Each check accepts Python numbers and concrete arrays of any shape (a batch of swept values
is checked element by element) and silently skips abstract values (tracers), so the same
constructor works both eagerly and inside ``vmap``/``jit``.

>>> check_positive([1e-3, 3e-4], "learning_rate")  # a batch of swept values, element by element
>>> check_positive(0.0, "learning_rate")
Traceback (most recent call last):
    ...
jaxrl_rewards.core.validation.ConfigError: learning_rate must be > 0, got 0.0
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jax
import numpy as np


class ConfigError(ValueError):
    """A configuration value is invalid. Raised before compilation."""


def close_matches(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``" (did you mean 'a' or 'b'?)"`` for the nearest of ``choices`` (up to three), or ``""``.

    >>> close_matches("learnig_rate", ["learning_rate", "gamma"])
    " (did you mean 'learning_rate'?)"
    """
    near = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=cutoff)
    if not near:
        return ""
    return " (did you mean " + " or ".join(repr(n) for n in near) + "?)"


def _concrete(value: Any, name: str = "") -> np.ndarray | None:
    """``value`` as a float numpy array, or ``None`` if it is abstract (a tracer).
    ``ConfigError`` naming ``name`` if it is not a number (or array of numbers)."""
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        where = f"{name}: " if name else ""
        raise ConfigError(f"{where}expected a number, got {value!r} ({type(value).__name__})") from err


def check_finite(value: Any, name: str) -> None:
    """Raise ``ConfigError`` if ``value`` contains NaN or infinity."""
    arr = _concrete(value, name)
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {value!r}")


def check_positive(value: Any, name: str) -> None:
    """Raise ``ConfigError`` unless every element of ``value`` is finite and > 0."""
    check_finite(value, name)
    arr = _concrete(value, name)
    if arr is not None and not np.all(arr > 0):
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def check_nonnegative(value: Any, name: str) -> None:
    """Raise ``ConfigError`` unless every element of ``value`` is finite and >= 0."""
    check_finite(value, name)
    arr = _concrete(value, name)
    if arr is not None and not np.all(arr >= 0):
        raise ConfigError(f"{name} must be >= 0, got {value!r}")


def check_in_range(value: Any, name: str, low: float, high: float) -> None:
    """Raise ``ConfigError`` unless every element of ``value`` lies in ``[low, high]``."""
    check_finite(value, name)
    arr = _concrete(value, name)
    if arr is not None and not np.all((arr >= low) & (arr <= high)):
        raise ConfigError(f"{name} must lie in [{low}, {high}], got {value!r}")


def check_ordered(low: Any, high: Any, message: str, strict: bool = False) -> None:
    """Raise ``ConfigError(message)`` unless ``low <= high`` (``low < high`` if ``strict``)
    element by element, after broadcasting (a swept bound is an array); skipped when either
    bound is abstract (a tracer). ``message`` names the bounds and the rule.

    >>> check_ordered([0.0, 2.0], 1.0, "clip: low must not exceed high")
    Traceback (most recent call last):
        ...
    jaxrl_rewards.core.validation.ConfigError: clip: low must not exceed high, got low [0.0, 2.0], high 1.0
    """
    lo, hi = _concrete(low, message), _concrete(high, message)
    if lo is None or hi is None:
        return
    try:
        ok = np.all(lo < hi) if strict else np.all(lo <= hi)
    except ValueError as err:  # shapes that do not broadcast
        raise ConfigError(f"{message}: shapes {lo.shape} and {hi.shape} do not match") from err
    if not ok:
        raise ConfigError(f"{message}, got low {low!r}, high {high!r}")


def check_positive_int(value: Any, name: str) -> None:
    """Raise ``ConfigError`` unless ``value`` is a Python int > 0 (static sizes)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def check_count(value: Any, name: str) -> None:
    """Raise ``ConfigError`` unless every element of ``value`` is a whole number >= 1 (a
    count that may be a swept leaf: an int, or an array of them); tracers are skipped."""
    check_finite(value, name)
    arr = _concrete(value, name)
    if arr is not None and not (np.all(arr >= 1) and np.all(arr == np.round(arr))):
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")


def check_env_params(params: Any, prefix: str = "env_params") -> None:
    """``ConfigError`` naming the field unless every numeric field of an env's params
    (a dataclass; concrete values, element by element; tracers skipped) is a finite number,
    and every step cap (a field named ``max_steps...``) is > 0."""
    fields = getattr(params, "__dataclass_fields__", None)
    if fields is None:
        return
    for field in fields:
        value = getattr(params, field)
        name = f"{prefix}.{field}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):  # nested params
            check_env_params(value, name)
            continue
        if isinstance(value, jax.core.Tracer) or value is None or callable(value):
            continue
        if isinstance(value, str) or isinstance(value, (jax.Array, np.ndarray, int, float, bool, np.generic)):
            check_finite(value, name)
            if field.startswith("max_steps"):
                check_positive(value, name)


def check_output_path(path: str | Path, option: str, kind: str = "file") -> Path:
    """Raise ``ConfigError`` unless ``path`` can be written as a ``kind`` (``"file"`` or
    ``"dir"``), checked before anything trains: it is not the other kind, and its nearest
    existing ancestor is a writable folder (``/dev/null/x.json`` is refused: ``/dev/null`` is
    not a folder). Returns the path. ``option`` names the culprit (``--out``).

    >>> check_output_path("/dev/null/x.json", "--out")
    Traceback (most recent call last):
        ...
    jaxrl_rewards.core.validation.ConfigError: --out /dev/null/x.json: /dev/null is not a folder
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    path = Path(path)
    if path.exists() or path.is_symlink():
        if kind == "file" and path.is_dir():
            raise ConfigError(f"{option} {path} is a folder; give a file name (e.g. {path / 'metrics.json'})")
        if kind == "dir" and not path.is_dir():
            raise ConfigError(f"{option} {path} is a file, not a folder; give a folder")
        target = path if kind == "dir" else path.parent
        if not os.access(path, os.W_OK) or not os.access(target, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {path}: not writable")
        return path
    ancestor = path.parent
    while not (ancestor.exists() or ancestor.is_symlink()) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{option} {path}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: cannot create it in {ancestor} (not writable)")
    return path
