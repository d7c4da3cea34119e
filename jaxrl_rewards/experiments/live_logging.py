"""Live logging from inside compiled runs, through host callbacks.

A compiled chunk of vmapped runs calls ``emit(run_ids, segment, metrics)`` at the end of every
training segment (one evaluation interval); one ``jax.debug.callback`` hands the values of all
runs of the chunk to the host, where the active ``Monitor`` advances the progress bar and queues
them for a writer thread that writes every ``interval``-th iteration's per-iteration metrics and
the evaluation metrics of each run to its loggers (TensorBoard through tensorboardX, Weights &
Biases in offline mode). Without an active monitor the callback does nothing; logging never
changes the results.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jax
import numpy as np

DEFAULT_INTERVAL = 10


class Logger(Protocol):
    """Receives scalars of one run at one step (host side)."""

    def log(self, run: int, labels: Mapping[str, Any], step: int, scalars: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


def run_name(run: int, labels: Mapping[str, Any]) -> str:
    """A file-system friendly name of a run from its labels (variant, swept values, seed)."""
    parts = [f"run{run:04d}"] + [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in labels.items()]
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", "_".join(parts))


class TensorBoardLogger:
    """One TensorBoard event directory per run (``logdir/<run name>``), via tensorboardX."""

    def __init__(self, logdir: str | Path, flush_secs: int = 30):
        from tensorboardX import SummaryWriter

        self._writer_cls = SummaryWriter
        self.logdir = Path(logdir)
        self.flush_secs = flush_secs
        self.writers: dict[str, Any] = {}

    def log(self, run: int, labels: Mapping[str, Any], step: int, scalars: Mapping[str, float]) -> None:
        name = run_name(run, labels)  # run ids restart in each variant; names carry the variant
        writer = self.writers.get(name)
        if writer is None:
            writer = self._writer_cls(str(self.logdir / name), flush_secs=self.flush_secs)
            self.writers[name] = writer
        for name, value in scalars.items():
            writer.add_scalar(name, value, step)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()


class WandbLogger:
    """One Weights & Biases run per run of the sweep, in offline mode (sync later with
    ``wandb sync <dir>/wandb/offline-run-*``)."""

    def __init__(self, directory: str | Path, project: str = "jaxrl_rewards", mode: str = "offline"):
        import wandb

        self._wandb = wandb
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.project = project
        self.mode = mode
        self.runs: dict[str, Any] = {}

    def log(self, run: int, labels: Mapping[str, Any], step: int, scalars: Mapping[str, float]) -> None:
        handle = self.runs.get(run_name(run, labels))
        if handle is None:
            handle = self._wandb.init(
                project=self.project,
                dir=str(self.directory),
                mode=self.mode,
                name=run_name(run, labels),
                config=dict(labels),
                reinit="create_new",
                settings=self._wandb.Settings(silent=True, console="off", x_disable_stats=True),
            )
            self.runs[run_name(run, labels)] = handle
        handle.log(dict(scalars), step=step)

    def close(self) -> None:
        for handle in self.runs.values():
            handle.finish()
        self.runs.clear()


class Monitor:
    """Host-side receiver of the callbacks of one compiled chunk.

    Args:
        loggers: where scalars go.
        labels: run id -> labels (variant, seed, swept values) of the runs of the chunk.
        iterations_per_segment: iterations per training segment (the agent's
            ``iterations_per_eval``).
        interval: log the per-iteration metrics of every ``interval``-th iteration (global
            iteration ``i`` with ``(i + 1) % interval == 0``); evaluation metrics are always logged.
        on_segment: called with ``(run, segment)`` after each callback (progress bars).
    """

    def __init__(
        self,
        loggers: Sequence[Logger] = (),
        labels: Mapping[int, Mapping[str, Any]] | None = None,
        iterations_per_segment: int = 1,
        interval: int = DEFAULT_INTERVAL,
        on_segment: Callable[[int, int], None] | None = None,
    ):
        if interval < 1:
            raise ValueError(f"log interval must be >= 1, got {interval}")
        self.loggers = list(loggers)
        self.labels = dict(labels or {})
        self.iterations_per_segment = iterations_per_segment
        self.interval = interval
        self.on_segment = on_segment
        self.calls = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._writer: threading.Thread | None = None

    def __call__(self, run: int, segment: int, metrics: Mapping[str, np.ndarray]) -> None:
        """Receive one run's metrics of one segment: queue them for the loggers (written by a
        background thread, so the compiled computation is not held up by file I/O) and advance
        the progress bar."""
        with self._lock:
            self.calls += 1
            if self.loggers:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._drain, daemon=True)
                    self._writer.start()
                self._queue.put((run, segment, metrics))
            if self.on_segment is not None:
                self.on_segment(run, segment)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._log(*item)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until everything received so far is written."""
        if self._writer is not None:
            self._queue.join()

    def _log(self, run: int, segment: int, metrics: Mapping[str, np.ndarray]) -> None:
        labels = self.labels.get(run, {})
        first = segment * self.iterations_per_segment
        per_iter = {k: np.asarray(v) for k, v in metrics.items() if not k.startswith("eval/") and np.ndim(v) == 1}
        for j in range(self.iterations_per_segment):
            iteration = first + j
            if (iteration + 1) % self.interval:
                continue
            scalars = {k: float(v[j]) for k, v in per_iter.items()}
            for logger in self.loggers:
                logger.log(run, labels, iteration, scalars)
        evals = {k: float(v) for k, v in metrics.items() if k.startswith("eval/") and np.ndim(v) == 0}
        if evals:
            for logger in self.loggers:
                logger.log(run, labels, first + self.iterations_per_segment - 1, evals)

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the loggers."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        for logger in self.loggers:
            logger.close()


_ACTIVE: list[Monitor] = []


def _dispatch(runs: Any, segment: Any, metrics: Any) -> None:
    if not _ACTIVE:
        return
    monitor = _ACTIVE[-1]
    runs = np.asarray(runs)
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    if runs.ndim == 0:  # one run's metrics
        monitor(int(runs), int(segment), metrics)
        return
    for i, run in enumerate(runs.tolist()):
        if run < 0:  # padding of a chunk
            continue
        monitor(int(run), int(segment), {k: v[i] for k, v in metrics.items()})


def emit(runs: jax.Array, segment: jax.Array, metrics: Mapping[str, jax.Array]) -> None:
    """Inside compiled code: send the metrics of one segment to the active monitor, one host
    callback (``jax.debug.callback``) for all runs: ``runs`` ``[R]`` run ids and metrics with a
    leading run axis ``[R, ...]`` (or a scalar run id and one run's metrics; under ``vmap`` the
    callback then runs once per run)."""
    jax.debug.callback(_dispatch, runs, segment, dict(metrics))


@contextlib.contextmanager
def active(monitor: Monitor) -> Iterator[Monitor]:
    """Make ``monitor`` receive the callbacks of compiled runs executed inside the block."""
    _ACTIVE.append(monitor)
    try:
        yield monitor
    finally:
        _ACTIVE.remove(monitor)
        monitor.flush()


__all__ = ["DEFAULT_INTERVAL", "Logger", "Monitor", "TensorBoardLogger", "WandbLogger", "active", "emit", "run_name"]
