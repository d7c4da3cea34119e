"""Plots and tables of a sweep's results store (``jaxrl-rewards plot``).

Statistics (``experiments.stats``) follow Agarwal et al., "Deep RL at the Edge of the
Statistical Precipice" (2021): the interquartile mean (IQM) over seeds with percentile-bootstrap
confidence intervals, the probability of improvement and performance profiles. Every figure has
the style of ``experiments.plot_style`` (title, axes in words, log x for log-spaced grids, a
caveat for CIs from fewer than 3 seeds). Outputs, all written atomically:

- ``learning_curves.png``: IQM of the evaluation metric vs environment steps per group, with
  95% bootstrap CIs;
- ``sensitivity.png``: final IQM (and CI) against each swept hyperparameter, per variant;
- ``return_vs_cost.png``: final return vs final cost per run (when there is a cost stream);
- ``pareto.png``: group means of the first two ``reward_<name>`` objectives with the Pareto front
  (when the env has several objectives);
- ``performance_profile.png``: fraction of runs above each score threshold per group (when
  there are several groups);
- ``summary.md``: the final-score table (IQM, 95% CI, mean, std, n), P(best > other) with CIs,
  and links to the figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jaxrl_rewards.core.files import atomic_write_text
from jaxrl_rewards.experiments.plot_style import is_log_spaced, metric_label, save_figure, style_axes
from jaxrl_rewards.experiments.stats import (
    MIN_SEEDS_FOR_CI,
    iqm,
    iqm_ci,
    performance_profile,
    probability_of_improvement,
)
from jaxrl_rewards.experiments.store import ResultStore

_ID_COLUMNS = ("variant", "chunk", "run", "point", "seed", "iteration")
_INFO_COLUMNS = ("timesteps", "env", "agent", "transform", "overrides", "steps")  # labels of a `train` file


def load_results(directory: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A results store's rows and manifest (``store.ResultStore``), or a single parquet/csv
    file of ``results.save_result`` (manifest empty)."""

    path = Path(directory)
    if path.is_file():
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        return train_frame_as_runs(frame), {}
    store = ResultStore(path)
    frame = store.load()
    if frame.empty:
        raise FileNotFoundError(f"no results in {path} (expected {store.chunk_dir}/*.parquet)")
    return frame, store.manifest() or {}


def train_frame_as_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """A ``train`` metrics table (one row per seed x iteration, no ``run`` / ``variant``
    columns) in the shape of a sweep store's rows: ``run`` numbers the seeds in order of
    appearance and ``variant`` names the run (``agent on env`` plus its transforms, when
    the file records them). A frame that already has both columns comes back unchanged.

    >>> import pandas as pd
    >>> rows = train_frame_as_runs(pd.DataFrame({"seed": [3, 3, 7], "iteration": [0, 1, 0]}))
    >>> rows["run"].tolist(), rows["variant"].tolist()
    ([0, 0, 1], ['train', 'train', 'train'])
    """
    if "run" in frame and "variant" in frame:
        return frame
    if "seed" not in frame:
        raise ValueError(f"not a results table: no 'run' or 'seed' column (columns: {sorted(frame.columns)})")
    frame = frame.copy()
    if "run" not in frame:
        frame["run"] = pd.factorize(frame["seed"])[0]
    if "variant" not in frame:
        frame["variant"] = _train_label(frame)
    return frame


def _train_label(frame: pd.DataFrame) -> str:
    first = frame.iloc[0] if len(frame) else {}
    label = " on ".join(str(first[c]) for c in ("agent", "env") if c in frame) or "train"
    transform = first.get("transform") if hasattr(first, "get") else None
    if isinstance(transform, str):  # a JSON list (or one transform string)
        try:
            transform = json.loads(transform)
        except ValueError:
            pass
    names = [transform] if isinstance(transform, str) else list(transform) if transform is not None else []
    names = [str(n) for n in names if str(n)]  # a structured (list) column works alike
    return label + "".join(f" + {n}" for n in names)


def param_columns(frame: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """The swept-parameter columns (from the manifest, else non-metric, non-id columns)."""
    if "param_columns" in manifest:
        return [c for c in manifest["param_columns"] if c in frame]
    return [c for c in frame.columns if c not in _ID_COLUMNS and "/" not in c and c not in _INFO_COLUMNS]


def group_columns(frame: pd.DataFrame, params: Sequence[str]) -> list[str]:
    """Columns that identify a configuration (everything but the seed): the variant always
    (so every table and legend names it), then the swept parameters that vary."""
    varying = [c for c in params if c in frame and c != "variant" and frame[c].nunique(dropna=False) > 1]
    return (["variant"] if "variant" in frame else []) + varying


def _label(keys: Sequence[str], values: Any) -> str:
    values = values if isinstance(values, tuple) else (values,)
    parts = []
    for key, value in zip(keys, values, strict=True):
        parts.append(str(value) if key == "variant" else f"{key.split('.')[-1]}={value:.3g}")
    return ", ".join(parts) or "all runs"


def final_values(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The last non-NaN value of ``metric`` of every run (one row per run)."""
    run_key = [c for c in ("variant", "run") if c in frame] or ["seed"]
    rows = frame.dropna(subset=[metric]).sort_values("iteration", kind="stable")
    return rows.groupby(run_key, sort=False).tail(1).reset_index(drop=True)


def final_score_table(frame: pd.DataFrame, params: Sequence[str], metric: str = "eval/return/task") -> pd.DataFrame:
    """Per configuration: IQM of the final ``metric`` over seeds, its 95% bootstrap CI, mean,
    std and the number of seeds; sorted best first."""
    finals = final_values(frame, metric)
    keys = group_columns(frame, params)
    rows = []
    for group, part in finals.groupby(keys, sort=False) if keys else [((), finals)]:
        values = part[metric].to_numpy()
        low, high = iqm_ci(values)
        rows.append(
            {
                "config": _label(keys, group),
                **dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True)),
                "iqm": float(iqm(values)),
                "ci_low": low,
                "ci_high": high,
                "mean": float(values.mean()),
                "std": float(values.std()),
                "n": len(values),
            }
        )
    return pd.DataFrame(rows).sort_values("iqm", ascending=False, kind="stable").reset_index(drop=True)


def plot_learning_curves(
    frame: pd.DataFrame,
    params: Sequence[str],
    path: str | Path,
    metric: str = "eval/return/task",
    max_groups: int = 12,
    title: str | None = None,
) -> Path:
    """IQM of ``metric`` over seeds vs environment steps, one line per configuration (the
    ``max_groups`` best by final IQM), with 95% bootstrap CIs."""
    keys = group_columns(frame, params)
    rows = frame.dropna(subset=[metric])
    x_col = "eval/timesteps" if "eval/timesteps" in rows else "iteration"
    best = final_score_table(frame, params, metric)["config"].head(max_groups).tolist()
    fig = Figure(figsize=(8.0, 4.8))
    ax = fig.subplots()
    min_seeds = 1 << 30
    for group, part in rows.groupby(keys, sort=False) if keys else [((), rows)]:
        label = _label(keys, group)
        if label not in best:
            continue
        curves = part.pivot_table(index="run", columns=x_col, values=metric, aggfunc="first")
        x = curves.columns.to_numpy(dtype=float)
        values = curves.to_numpy()
        center = iqm(values, axis=0)
        cis = np.array([iqm_ci(values[:, j][~np.isnan(values[:, j])], reps=500) for j in range(values.shape[1])])
        (line,) = ax.plot(x, center, marker="o", markersize=3, linewidth=1.6, label=f"{label} (n={values.shape[0]})")
        ax.fill_between(x, cis[:, 0], cis[:, 1], alpha=0.12, color=line.get_color(), linewidth=0)
        min_seeds = min(min_seeds, values.shape[0])
    style_axes(ax, title or f"Learning curves: IQM of {metric_label(metric)} over seeds, 95% bootstrap CIs",
           "environment steps" if x_col == "eval/timesteps" else "training iteration",
           f"{metric_label(metric)} (IQM)", min_seeds)  # fmt: skip
    return save_figure(fig, Path(path))


def plot_sensitivity(
    frame: pd.DataFrame, params: Sequence[str], path: str | Path, metric: str = "eval/return/task"
) -> Path | None:
    """Final IQM (with 95% CI) against each swept hyperparameter, one panel per parameter and
    one line per variant (other swept parameters pooled). ``None`` when nothing was swept."""
    params = [p for p in params if p in frame and frame[p].nunique() > 1]
    if not params:
        return None
    finals = final_values(frame, metric)
    fig = Figure(figsize=(4.2 * len(params), 3.6))
    axes = fig.subplots(1, len(params), squeeze=False)
    for ax, param in zip(axes[0], params, strict=True):
        for variant, part in finals.groupby("variant", sort=False) if "variant" in finals else [("", finals)]:
            stats = []
            for value, sub in part.groupby(param):
                low, high = iqm_ci(sub[metric].to_numpy(), reps=500)
                stats.append((value, float(iqm(sub[metric].to_numpy())), low, high))
            stats = np.asarray(stats)
            ax.errorbar(stats[:, 0], stats[:, 1], yerr=[stats[:, 1] - stats[:, 2], stats[:, 3] - stats[:, 1]],
                        marker="o", capsize=3, label=str(variant))  # fmt: skip
        if is_log_spaced(finals[param].to_numpy()):
            ax.set_xscale("log")
        seeds = int(finals.groupby([c for c in ("variant", param) if c in finals]).size().min())
        style_axes(ax, f"Sensitivity to {param}", f"{param}{' (log scale)' if ax.get_xscale() == 'log' else ''}",
               f"final {metric_label(metric)} (IQM, 95% CI)", seeds)  # fmt: skip
    return save_figure(fig, Path(path))


def _cost_metric(frame: pd.DataFrame) -> str | None:
    for name in ("eval/return/cost", "eval/cost", "train/stream_return/cost"):
        if name in frame and frame[name].notna().any():
            return name
    names = sorted(c for c in frame.columns if c.startswith("eval/return/cost"))
    return names[0] if names else None


def plot_return_vs_cost(
    frame: pd.DataFrame, params: Sequence[str], path: str | Path, metric: str = "eval/return/task"
) -> Path | None:
    """Final return against final cost, one point per run, coloured by configuration
    (``None`` when the runs have no cost stream)."""
    cost = _cost_metric(frame)
    if cost is None:
        return None
    keys = group_columns(frame, params)
    index = [c for c in ("variant", "run") if c in frame]
    returns = final_values(frame, metric).set_index(index)
    costs = final_values(frame, cost).set_index(index)[cost].rename("__cost__")
    both = returns.drop(columns=[cost], errors="ignore").join(costs, how="inner").reset_index()
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.subplots()
    for group, part in both.groupby(keys, sort=False) if keys else [((), both)]:
        ax.scatter(part["__cost__"], part[metric], label=_label(keys, group), s=18)
    style_axes(ax, "Final return vs final cost, one point per run", f"final {metric_label(cost)}",
           f"final {metric_label(metric)}")  # fmt: skip
    return save_figure(fig, Path(path))


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` ``[n, d]`` (all objectives
    maximised): no other row is >= in every objective and > in one."""
    points = np.asarray(points, np.float64)
    keep = np.ones(len(points), bool)
    for i, p in enumerate(points):
        dominated = np.all(points >= p, axis=1) & np.any(points > p, axis=1)
        keep[i] = not dominated.any()
    return keep


def plot_pareto(frame: pd.DataFrame, params: Sequence[str], path: str | Path) -> Path | None:
    """Mean final values of the first two ``eval/return/reward_<name>`` objectives per
    configuration with the Pareto front highlighted (``None`` with fewer than two objectives)."""
    objectives = sorted(c for c in frame.columns if c.startswith("eval/return/reward_"))[:2]
    if len(objectives) < 2:
        return None
    keys = group_columns(frame, params)
    finals = final_values(frame, objectives[0])
    means = finals.groupby(keys, sort=False)[objectives].mean() if keys else finals[objectives].mean().to_frame().T
    mask = pareto_front(means.to_numpy())
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.subplots()
    ax.scatter(means[objectives[0]], means[objectives[1]], c="lightgray", label="configurations")
    front = means[mask].sort_values(objectives[0])
    ax.plot(front[objectives[0]], front[objectives[1]], "o-", color="C3", label="Pareto front")
    style_axes(ax, "Objectives per configuration (means over seeds) and the Pareto front",
           metric_label(objectives[0]), metric_label(objectives[1]))  # fmt: skip
    return save_figure(fig, Path(path))


def plot_performance_profile(
    frame: pd.DataFrame, params: Sequence[str], path: str | Path, metric: str = "eval/return/task", max_groups: int = 8
) -> Path | None:
    """Performance profiles of the final ``metric``: per configuration (the ``max_groups``
    best), the fraction of runs scoring above each threshold, with 95% bootstrap bands
    (``stats.performance_profile``). ``None`` with a single configuration."""
    finals = final_values(frame, metric)
    keys = group_columns(frame, params)
    groups = list(finals.groupby(keys, sort=False)) if keys else []
    if len(groups) < 2:
        return None
    best = final_score_table(frame, params, metric)["config"].head(max_groups).tolist()
    taus = np.linspace(finals[metric].min(), finals[metric].max(), 60)
    fig = Figure(figsize=(7.0, 4.4))
    ax = fig.subplots()
    min_seeds = 1 << 30
    for group, part in groups:
        label = _label(keys, group)
        if label not in best:
            continue
        values = part[metric].to_numpy()
        point, low, high = performance_profile(values, taus)
        (line,) = ax.step(taus, point, where="post", label=f"{label} (n={values.size})")
        ax.fill_between(taus, low, high, step="post", alpha=0.12, color=line.get_color(), linewidth=0)
        min_seeds = min(min_seeds, values.size)
    style_axes(ax, "Performance profiles of the final score (95% bootstrap bands)",
               f"threshold τ on {metric_label(metric)}", "fraction of runs with score > τ", min_seeds)  # fmt: skip
    return save_figure(fig, Path(path))


def improvement_table(frame: pd.DataFrame, params: Sequence[str], metric: str = "eval/return/task") -> pd.DataFrame:
    """``P(best > other)`` of the final ``metric`` for the best configuration (by IQM) against
    each other one, with 95% bootstrap CIs (``stats.probability_of_improvement``)."""
    finals = final_values(frame, metric)
    keys = group_columns(frame, params)
    if not keys:
        return pd.DataFrame(columns=["best", "other", "p", "ci_low", "ci_high"])
    scores = {_label(keys, g): part[metric].to_numpy() for g, part in finals.groupby(keys, sort=False)}
    order = final_score_table(frame, params, metric)["config"].tolist()
    rows = []
    for other in order[1:]:
        p, low, high = probability_of_improvement(scores[order[0]], scores[other])
        rows.append({"best": order[0], "other": other, "p": p, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["best", "other", "p", "ci_low", "ci_high"])


def markdown_table(table: pd.DataFrame, metric: str) -> str:
    """The final-score table as markdown."""
    lines = [
        f"| configuration | IQM final {metric} | 95% CI | mean ± std | seeds |",
        "|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.config} | {row.iqm:.2f} | [{row.ci_low:.2f}, {row.ci_high:.2f}] | "
            f"{row.mean:.2f} ± {row.std:.2f} | {row.n} |"
        )
    return "\n".join(lines)


def make_report(
    results: str | Path | pd.DataFrame,
    out_dir: str | Path,
    metric: str = "eval/return/task",
    manifest: dict[str, Any] | None = None,
    title: str | None = None,
) -> dict[str, Path]:
    """Write every applicable figure and ``summary.md`` for a results store (or frame).
    Returns name -> path of what was written."""
    if isinstance(results, pd.DataFrame):
        frame, manifest = results, manifest or {}
    else:
        frame, manifest = load_results(results)
    if metric not in frame:
        metrics = sorted(c for c in frame.columns if c.startswith("eval/"))
        raise ValueError(f"metric {metric!r} not in the results; available: {metrics}")
    out_dir = Path(out_dir)
    params = param_columns(frame, manifest)
    written = {"learning_curves": plot_learning_curves(frame, params, out_dir / "learning_curves.png", metric)}
    for name, fn in (
        ("sensitivity", lambda p: plot_sensitivity(frame, params, p, metric)),
        ("return_vs_cost", lambda p: plot_return_vs_cost(frame, params, p, metric)),
        ("pareto", lambda p: plot_pareto(frame, params, p)),
        ("performance_profile", lambda p: plot_performance_profile(frame, params, p, metric)),
    ):
        path = fn(out_dir / f"{name}.png")
        if path is not None:
            written[name] = path
    table = final_score_table(frame, params, metric)
    run_key = [c for c in ("variant", "run") if c in frame] or ["seed"]
    num_runs = len(frame.drop_duplicates(run_key))  # run ids restart in every variant
    caveat = []
    if len(table) and table["n"].min() < MIN_SEEDS_FOR_CI:
        caveat = ["", f"**Caveat:** some configurations have fewer than {MIN_SEEDS_FOR_CI} seeds "
                  f"(min {table['n'].min()}); their CIs are not meaningful."]  # fmt: skip
    improvement = improvement_table(frame, params, metric)
    improvement_lines = []
    if len(improvement):
        improvement_lines = ["| P(best > other) | 95% CI |", "|---|---|"] + [
            f"| P({r.best} > {r.other}) = {r.p:.2f} | [{r.ci_low:.2f}, {r.ci_high:.2f}] |"
            for r in improvement.itertuples()
        ] + [""]  # fmt: skip
    spec = manifest.get("spec", {})
    heading = title or f"Sweep {spec.get('name', '')}".strip()
    lines = [
        f"# {heading}",
        "",
        f"{num_runs} runs ({', '.join(params) or 'no swept parameters'}); statistics: IQM over seeds with "
        "95% percentile bootstrap CIs, probability of improvement and performance profiles (Agarwal et al., 2021).",
        *caveat,
        "",
        markdown_table(table, metric),
        "",
        *improvement_lines,
        *[f"![{name}]({path.name})" for name, path in written.items()],
    ]
    if spec:
        lines += ["", "<details><summary>spec</summary>", "", "```json", json.dumps(spec), "```"]
        lines.append("</details>")
    written["summary"] = out_dir / "summary.md"
    atomic_write_text(written["summary"], "\n".join(lines) + "\n")
    return written


__all__ = [
    "final_score_table",
    "final_values",
    "improvement_table",
    "iqm",
    "iqm_ci",
    "is_log_spaced",
    "load_results",
    "make_report",
    "markdown_table",
    "metric_label",
    "pareto_front",
    "plot_learning_curves",
    "plot_pareto",
    "plot_performance_profile",
    "plot_return_vs_cost",
    "plot_sensitivity",
    "train_frame_as_runs",
]
