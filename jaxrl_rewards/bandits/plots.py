"""Regret plots: mean cumulative regret (or any per-round curve) over seeds with a band."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from jaxrl_rewards.bandits.metrics import cumulative_regret
from jaxrl_rewards.core.files import write_figure


def plot_curves(
    curves: Mapping[str, np.ndarray],
    path: str | Path,
    title: str = "",
    ylabel: str = "cumulative regret",
    log_x: bool = False,
) -> Path:
    """Plot one line per label: the mean over runs of a ``[S, T]`` curve with a band of
    +-1 standard error, against rounds ``1..T``. Written atomically as a PNG (Agg backend)."""

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for label, curve in curves.items():
        curve = np.asarray(curve, np.float64).reshape(-1, np.shape(curve)[-1])
        rounds = np.arange(1, curve.shape[1] + 1)
        mean = curve.mean(axis=0)
        sem = curve.std(axis=0, ddof=1) / np.sqrt(curve.shape[0]) if curve.shape[0] > 1 else np.zeros_like(mean)
        ax.plot(rounds, mean, label=f"{label} (n={curve.shape[0]})")
        ax.fill_between(rounds, mean - sem, mean + sem, alpha=0.2)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    write_figure(fig, path, dpi=120)
    return Path(path)


def plot_regret(traces: Mapping[str, object], path: str | Path, title: str = "") -> Path:
    """Cumulative-regret curves of ``BanditTrace``s (``[S, T]``), one line per label."""

    return plot_curves({k: np.asarray(cumulative_regret(v)) for k, v in traces.items()}, path, title)


__all__ = ["plot_curves", "plot_regret"]
