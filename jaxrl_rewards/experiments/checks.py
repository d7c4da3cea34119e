"""Checks of a sweep outside its spec's syntax: before compiling, that the objective is a
metric the runs produce (:func:`check_objective`, read from ``jax.eval_shape``, nothing
compiles); after running, which runs diverged (:func:`diverged_runs`: a per-iteration metric
non-finite, or updates skipped for non-finite gradients) and a readable account of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
import pandas as pd

from jaxrl_rewards.core.validation import ConfigError, close_matches


def metric_names(agent: Any, config: Any) -> list[str]:
    """The metric columns a run of ``config`` produces (per-iteration names and ``eval/...``),
    read from ``jax.eval_shape`` of one segment (traced, not compiled)."""
    state = jax.eval_shape(agent.init, config, jax.random.key(0))
    metrics = jax.eval_shape(agent.train_segment, config, state)[1]
    return sorted(metrics.keys())


def table_metric_names(agent: Any, config: Any) -> list[str]:
    """The metric columns of a run's long table (``results.long_frame``): per-iteration
    metrics that are one number per iteration and evaluation metrics that are one number per
    evaluation (metrics with more axes are left out of tables), sorted."""
    state = jax.eval_shape(agent.init, config, jax.random.key(0))
    metrics = jax.eval_shape(agent.train_segment, config, state)[1]
    return sorted(k for k, v in metrics.items() if len(v.shape) == (0 if k.startswith("eval/") else 1))


def check_objective(spec: Any, agent: Any, checked: dict[str, tuple[Any, Any]]) -> None:
    """``ConfigError`` (with close matches) unless ``search.objective`` is a metric every
    variant produces, so a misspelled objective is refused before anything compiles instead of
    falling back to the default metric (or failing after optuna's first chunk)."""
    if spec.objective == "eval/return/task":
        return
    for label, (config, _) in checked.items():
        names = metric_names(agent, config)
        if spec.objective not in names:
            raise ConfigError(
                f"search.objective: {spec.objective!r} is not a metric of variant {label!r}"
                f"{close_matches(spec.objective, names)}; metrics: {names}"
            )


#: columns of a chunk that are not training metrics (labels and swept values)
_LABELS = ("variant", "chunk", "run", "point", "seed", "iteration")


def diverged_runs(frame: pd.DataFrame, param_columns: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The runs of a chunk's (or store's) rows that diverged: a per-iteration metric went
    non-finite (NaN / inf; evaluation columns ``eval/...`` are NaN between evaluations by
    layout and are not counted) or updates were skipped for non-finite gradients
    (``nonfinite_updates > 0``). One dict per run: ``variant``, ``run``, ``seed``, the swept
    values, ``iteration`` (the first bad one) and ``metrics`` (the bad columns, sorted)."""
    if frame.empty:
        return []
    skip = set(_LABELS) | set(param_columns)
    columns = [c for c in frame.columns
               if c not in skip and not c.startswith("eval/") and pd.api.types.is_float_dtype(frame[c])]  # fmt: skip
    values = frame[columns].to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if "nonfinite_updates" in columns:
        bad[:, columns.index("nonfinite_updates")] |= values[:, columns.index("nonfinite_updates")] > 0
    rows = np.flatnonzero(bad.any(axis=1))
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for i in rows:
        row = frame.iloc[i]
        key = (str(row.get("variant", "")), int(row.get("run", 0)))
        names = {columns[j] for j in np.flatnonzero(bad[i])}
        if key in out:
            out[key]["iteration"] = min(out[key]["iteration"], int(row["iteration"]))
            out[key]["metrics"] = sorted(set(out[key]["metrics"]) | names)
            continue
        out[key] = {"variant": key[0], "run": key[1], "seed": int(row.get("seed", 0)),
                    **{k: row[k] for k in param_columns if k in frame}, "iteration": int(row["iteration"]),
                    "metrics": sorted(names)}  # fmt: skip
    return list(out.values())


def describe_divergence(diverged: Sequence[Mapping[str, Any]], limit: int = 5) -> str:
    """One readable line per diverged run (at most ``limit``, then a count)."""
    lines = []
    for d in diverged[:limit]:
        fixed = ("variant", "run", "seed", "iteration", "metrics")
        params = ", ".join(f"{k}={v}" for k, v in d.items() if k not in fixed)
        metrics = ", ".join(d["metrics"][:3]) + (" ..." if len(d["metrics"]) > 3 else "")
        lines.append(f"  {d['variant']} run {d['run']} (seed {d['seed']}{', ' + params if params else ''}): "
                     f"non-finite from iteration {d['iteration']} ({metrics})")  # fmt: skip
    if len(diverged) > limit:
        lines.append(f"  ... and {len(diverged) - limit} more")
    return "\n".join(lines)


__all__ = ["check_objective", "describe_divergence", "diverged_runs", "metric_names", "table_metric_names"]
