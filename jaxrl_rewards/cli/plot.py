"""``jaxrl-rewards plot``: a report (learning curves, final scores, sensitivity, Pareto plots)
from a sweep's store or a ``train`` metrics file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jaxrl_rewards.cli.common import console, fail, score_table
from jaxrl_rewards.experiments.plots import final_score_table, load_results, make_report, param_columns


def plot_command(
    results: Annotated[Path, typer.Argument(help="a sweep's results store (or a .parquet/.csv of `train`)")],
    out: Annotated[Path | None, typer.Option(help="output folder; default <results>/report")] = None,
    metric: Annotated[str, typer.Option(help="metric to compare")] = "eval/return/task",
) -> None:
    """Learning curves (IQM + bootstrap CIs over seeds), final-score table, hyperparameter
    sensitivity, return-vs-cost and Pareto plots; PNGs and a markdown summary."""

    try:
        frame, manifest = load_results(results)
        out = out or (results.parent if results.is_file() else results) / "report"
        written = make_report(frame, out, metric, manifest=manifest)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    table = final_score_table(frame, param_columns(frame, manifest), metric)
    console.print(score_table(f"final {metric}", table, metric))
    for name, path in written.items():
        console.print(f"{name}: {path}")


__all__ = ["plot_command"]
