"""The one style of every figure of a report: a title, axes labelled in words (with units:
environment steps, training iterations), a light grid, a readable legend, log axes where a grid
is log-spaced, and a caveat where confidence intervals rest on fewer than 3 seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jaxrl_rewards.core.files import write_figure
from jaxrl_rewards.experiments.stats import MIN_SEEDS_FOR_CI


def metric_label(metric: str) -> str:
    """A readable axis label of a metric key.

    >>> metric_label("eval/return/task"), metric_label("eval/success"), metric_label("loss/value")
    ('evaluation return (task stream)', 'evaluation success', 'loss: value')
    """
    parts = metric.split("/")
    head = {"eval": "evaluation", "train": "training", "loss": "loss:", "transform": "transform:"}.get(parts[0])
    if head is None:
        return metric
    if len(parts) == 3 and parts[1] == "return":
        return f"{head} return ({parts[2]} stream)"
    return " ".join([head, *(p.replace("_", " ") for p in parts[1:])])


def is_log_spaced(values: Any) -> bool:
    """Whether a grid of values wants a log axis: all positive, spanning at least a factor 10.

    >>> is_log_spaced([1e-4, 3e-4, 1e-3]), is_log_spaced([0.1, 0.2, 0.3]), is_log_spaced([0.0, 1.0])
    (True, False, False)
    """
    values = np.unique(np.asarray(values, np.float64))
    return bool(values.size > 1 and np.all(values > 0) and values.max() / values.min() >= 10)


def style_axes(ax: Any, title: str, xlabel: str, ylabel: str, min_seeds: int | None = None) -> None:
    """The one style of every figure: title, labelled axes, light grid, a legend outside
    the data when there are labels, and a caveat when CIs rest on fewer than 3 seeds."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, framealpha=0.85, loc="best")
    if min_seeds is not None and min_seeds < MIN_SEEDS_FOR_CI:
        ax.text(0.01, 0.01, f"caveat: CIs from {min_seeds} seed(s) are not meaningful", transform=ax.transAxes,
                fontsize=7, color="C3", va="bottom")  # fmt: skip


def save_figure(fig: Any, path: Path) -> Path:
    """Lay ``fig`` out and write it atomically as a PNG (110 dpi)."""
    fig.tight_layout()
    return write_figure(fig, path, dpi=110)


__all__ = ["is_log_spaced", "metric_label", "save_figure", "style_axes"]
