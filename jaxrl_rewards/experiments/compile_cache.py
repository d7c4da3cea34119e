"""JAX's persistent compilation cache for command-line runs, and a monitor of compile work.

Small runs spend most of their wall time compiling (``benchmarks/README.md``, "Profile"), so the
``jaxrl-rewards`` command line turns on JAX's own persistent compilation cache by default: a
second identical ``train`` / ``sweep`` / ``bench`` run in a new process loads the compiled
executables instead of compiling them again (the same binaries, so results are unchanged).

Where the cache lives (first match wins, :func:`resolve_cache_dir`):

1. ``--no-compile-cache`` (``jaxrl-rewards --no-compile-cache train ...``): off;
2. ``JAXRL_REWARDS_COMPILE_CACHE``: a folder, or ``off`` / ``0`` / ``false`` / ``none`` to turn it off;
3. a cache folder already given to JAX (``JAX_COMPILATION_CACHE_DIR`` / ``jax_compilation_cache_dir``):
   left as JAX has it;
4. default: ``$XDG_CACHE_HOME/jaxrl_rewards/xla`` (``~/.cache/jaxrl_rewards/xla``).

:class:`CompileMonitor` counts compile work through ``jax.monitoring`` events (seconds in
XLA backend compiles, which on a cache hit is only the time to load the executable; compile
requests and persistent-cache hits), which ``jaxrl-rewards bench`` reports and the tests use to
check that a second run hits the cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jax
from jax import monitoring

#: Environment variable naming the cache folder, or ``off`` to turn the cache off.
ENV_VAR = "JAXRL_REWARDS_COMPILE_CACHE"
_OFF = frozenset({"", "0", "off", "false", "no", "none"})

#: ``jax.monitoring`` events: one XLA backend compile (or cache load) with its seconds; a compile
#: request that consulted the persistent cache; a persistent-cache hit.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
CACHE_REQUEST_EVENT = "/jax/compilation_cache/compile_requests_use_cache"
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/jaxrl_rewards/xla``, or ``~/.cache/jaxrl_rewards/xla`` without it."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaxrl_rewards" / "xla"


def resolve_cache_dir(
    enabled: bool = True, environ: Mapping[str, str] | None = None, jax_dir: str | None = None
) -> Path | None:
    """The cache folder a command-line run uses, or ``None`` when the cache is off.

    Args:
        enabled: ``False`` for ``--no-compile-cache``.
        environ: the environment (default ``os.environ``); ``JAXRL_REWARDS_COMPILE_CACHE`` is read.
        jax_dir: a folder JAX is already configured with (default: ``jax_compilation_cache_dir``).

    >>> resolve_cache_dir(False) is None
    True
    >>> str(resolve_cache_dir(environ={"JAXRL_REWARDS_COMPILE_CACHE": "/tmp/c"}, jax_dir=None))
    '/tmp/c'
    >>> resolve_cache_dir(environ={"JAXRL_REWARDS_COMPILE_CACHE": "off"}) is None
    True
    """
    if not enabled:
        return None
    environ = os.environ if environ is None else environ
    if ENV_VAR in environ:
        value = environ[ENV_VAR].strip()
        return None if value.lower() in _OFF else Path(value).expanduser()
    configured = jax.config.jax_compilation_cache_dir if jax_dir is None else jax_dir
    if configured:
        return Path(configured)
    return default_cache_dir(environ)


def enable_compile_cache(enabled: bool = True, environ: Mapping[str, str] | None = None) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`resolve_cache_dir`'s folder (created),
    caching every program however fast it compiled; or turn the cache off. Call it before the
    first compile. Returns the folder, or ``None`` when off.

    A folder JAX was already given (``JAX_COMPILATION_CACHE_DIR``) is kept with JAX's own
    settings (e.g. its minimum compile time)."""
    environ = os.environ if environ is None else environ
    path = resolve_cache_dir(enabled, environ)
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    jax.config.update("jax_enable_compilation_cache", True)
    if ENV_VAR in environ or not jax.config.jax_compilation_cache_dir:
        path.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


@dataclass
class CompileMonitor:
    """Totals of the compile work done while it is active (``with CompileMonitor() as m: ...``).

    Attributes:
        compile_s: seconds in XLA backend compiles (a cache hit counts its load time only).
        compiles: backend compiles started (hits included).
        cache_requests: compiles that consulted the persistent cache.
        cache_hits: compiles answered from the persistent cache.
    """

    compile_s: float = 0.0
    compiles: int = 0
    cache_requests: int = 0
    cache_hits: int = 0
    _active: bool = field(default=False, repr=False)

    @property
    def cache_misses(self) -> int:
        """Compiles that consulted the cache and compiled anyway."""
        return self.cache_requests - self.cache_hits

    def _on_duration(self, event: str, duration: float, **_: object) -> None:
        if self._active and event == BACKEND_COMPILE_EVENT:
            self.compile_s += float(duration)
            self.compiles += 1

    def _on_event(self, event: str, **_: object) -> None:
        if self._active and event == CACHE_REQUEST_EVENT:
            self.cache_requests += 1
        elif self._active and event == CACHE_HIT_EVENT:
            self.cache_hits += 1

    def __enter__(self) -> CompileMonitor:
        if not getattr(self, "_registered", False):
            # jax.monitoring has no way to unregister a listener: an inactive monitor ignores events
            monitoring.register_event_duration_secs_listener(self._on_duration)
            monitoring.register_event_listener(self._on_event)
            self._registered = True
        self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False

    def as_dict(self) -> dict[str, float | int]:
        """The totals as a JSON-ready dict."""
        return {
            "compile_s": round(self.compile_s, 3),
            "compiles": self.compiles,
            "cache_requests": self.cache_requests,
            "cache_hits": self.cache_hits,
        }


__all__ = [
    "BACKEND_COMPILE_EVENT",
    "CACHE_HIT_EVENT",
    "CACHE_REQUEST_EVENT",
    "ENV_VAR",
    "CompileMonitor",
    "default_cache_dir",
    "enable_compile_cache",
    "resolve_cache_dir",
]
