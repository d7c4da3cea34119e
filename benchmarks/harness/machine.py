"""The machine record every benchmark stores with its results (was ``benchmarks/bench_machine.py``)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import jax


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info(**extra: Any) -> dict[str, Any]:
    """CPU count and affinity, platform, library versions, JAX backend and devices, XLA flags and
    the load average now; ``extra`` entries (e.g. a ``note``) are added as given."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "flax": _version("flax"),
        "optax": _version("optax"),
        "gymnax": _version("gymnax"),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "loadavg_start": list(os.getloadavg()),
        **extra,
    }


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages now."""
    return list(os.getloadavg())
