"""Results on disk: long tables (one row per seed x iteration), atomic writes, plots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jaxrl_rewards.core.files import atomic_write_bytes, atomic_write_text, write_figure
from jaxrl_rewards.experiments.runner import RunResult


def long_frame(metrics: Mapping[str, np.ndarray], run_columns: Mapping[str, Any]) -> pd.DataFrame:
    """One row per run x iteration from metrics of R runs.

    Args:
        metrics: per-iteration metrics ``[R, num_iterations]`` and evaluation metrics
            (``eval/...``) ``[R, num_evals]``; metrics with more axes are left out. Evaluation
            values fill the rows of the iterations right after which they ran (NaN elsewhere).
            Integer metrics (the exact step counts) stay int64 (nullable ``Int64`` for
            evaluation columns, missing between evaluations); the rest become float64.
        run_columns: column name -> ``R`` values (e.g. seed, swept parameters), repeated over
            the iterations of each run.
    """
    per_iter = {k: np.asarray(v) for k, v in metrics.items() if not k.startswith("eval/")}
    evals = {k: np.asarray(v) for k, v in metrics.items() if k.startswith("eval/")}
    num_runs, num_iters = next(iter(per_iter.values())).shape[:2]
    num_evals = next(iter(evals.values())).shape[1] if evals else 0
    data: dict[str, Any] = {k: np.repeat(np.asarray(v), num_iters) for k, v in run_columns.items()}
    data["iteration"] = np.tile(np.arange(num_iters), num_runs)
    for name, value in per_iter.items():
        if value.ndim == 2:
            dtype = np.int64 if np.issubdtype(value.dtype, np.integer) else np.float64
            data[name] = np.asarray(value, dtype).reshape(num_runs * num_iters)
    if num_evals:
        per_eval = num_iters // num_evals
        eval_iters = (np.arange(num_evals) + 1) * per_eval - 1
        for name, value in evals.items():
            if value.ndim != 2:
                continue
            if np.issubdtype(value.dtype, np.integer):  # exact counts: nullable int64, missing between evaluations
                column = np.zeros((num_runs, num_iters), np.int64)
                column[:, eval_iters] = value
                mask = np.ones((num_runs, num_iters), bool)
                mask[:, eval_iters] = False
                data[name] = pd.arrays.IntegerArray(column.reshape(-1), mask.reshape(-1))
                continue
            column = np.full((num_runs, num_iters), np.nan)
            column[:, eval_iters] = value
            data[name] = column.reshape(-1)
    return pd.DataFrame(data)


def to_frame(result: RunResult, labels: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per seed x iteration with every per-iteration metric as a column; evaluation
    metrics (``eval/...``) fill the rows of the iterations right after which they ran (NaN
    elsewhere). ``labels`` become constant columns (e.g. env, agent, variant): scalars as they
    are, lists (``transform``, ``overrides``) as list columns, mappings as struct columns (in
    parquet; CSV writes their text), anything else as JSON text."""
    frame = long_frame(result.metrics, {"seed": result.seeds})
    for key, value in (labels or {}).items():
        if np.isscalar(value) or value is None:
            frame[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, bool)) for v in value):
            frame[key] = pd.Series([list(value)] * len(frame), dtype=object)  # a list column in parquet
        elif isinstance(value, Mapping):
            frame[key] = pd.Series([dict(value)] * len(frame), dtype=object)  # a struct column in parquet
        else:
            frame[key] = json.dumps(value, default=_json_default)
    return frame


def save_result(path: str | Path, result: RunResult, info: Mapping[str, Any] | None = None) -> Path:
    """Save a run. ``.parquet`` / ``.csv``: the long table of ``to_frame``; anything else:
    JSON with ``info``, timing and every metric as nested lists ``[S][...]``. Atomic."""
    path = Path(path)
    if path.suffix in (".parquet", ".csv"):
        frame = to_frame(result, info)
        if path.suffix == ".csv":
            atomic_write_text(path, frame.to_csv(index=False))
        else:
            atomic_write_bytes(path, frame.to_parquet(index=False))
        return path
    payload = {
        "info": dict(info or {}),
        "seeds": result.seeds,
        "timesteps": result.timesteps,
        "compile_s": result.compile_s,
        "run_s": result.run_s,
        "total_s": result.total_s,
        "steps_per_second": result.steps_per_second,
        "metrics": {k: np.asarray(v).tolist() for k, v in result.metrics.items()},
    }
    atomic_write_text(path, json.dumps(payload, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def plot_eval_curves(curves: Mapping[str, RunResult], path: str | Path, title: str = "", stream: str = "task") -> Path:
    """Plot mean evaluation return vs timesteps per variant, with a band of +-1 standard error
    over seeds, to a PNG (matplotlib, Agg backend). Written atomically."""

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for label, result in curves.items():
        returns = result.metrics[f"eval/return/{stream}"]
        steps = result.metrics["eval/timesteps"][0]
        mean = returns.mean(axis=0)
        sem = returns.std(axis=0, ddof=1) / np.sqrt(returns.shape[0]) if returns.shape[0] > 1 else np.zeros_like(mean)
        ax.plot(steps, mean, label=f"{label} (n={returns.shape[0]})")
        ax.fill_between(steps, mean - sem, mean + sem, alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"evaluation return ({stream})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path, dpi=120)
    return Path(path)
