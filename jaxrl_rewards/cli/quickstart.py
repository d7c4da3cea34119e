"""``jaxrl-rewards quickstart``: the built-in demo sweep (``experiments.quickstart``), PPO with
and without reward transforms; a table, a plot and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jaxrl_rewards.cli.common import console, fail, score_table
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.plots import final_score_table, make_report, plot_learning_curves
from jaxrl_rewards.experiments.quickstart import ENV, ENV_OPTIONS, STEPS, quickstart_spec
from jaxrl_rewards.experiments.results import atomic_write_text
from jaxrl_rewards.experiments.sweep import run_sweep


def quickstart(
    env: Annotated[
        str | None, typer.Option(help=f"environment (default: a {ENV_OPTIONS['size']}x{ENV_OPTIONS['size']} {ENV})")
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="seeds per variant")] = 8,
    steps: Annotated[int | None, typer.Option(min=1, help=f"environment steps per seed (default {STEPS:,})")] = None,
    out_dir: Annotated[Path, typer.Option(help="where the table, metrics and plot go")] = Path("quickstart_out"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Built-in demo sweep (jaxrl_rewards/experiments/quickstart.py): PPO with and without reward
    transforms, N seeds each, one compiled call per variant; prints a table and writes a plot."""

    try:
        spec = quickstart_spec(env, seeds, steps)
        result = run_sweep(spec, out_dir / "results", force=True, progress=progress)
    except ConfigError as err:
        fail(str(err))
    metric = "eval/return/task"
    table = final_score_table(result.frame, [], metric)
    plot = plot_learning_curves(result.frame, [], out_dir / "quickstart.png", metric)
    written = make_report(result.frame, out_dir / "report", metric, manifest=result.store.manifest())
    options = "".join(f" {k}={v}" for k, v in spec.variants[0].env_options.items())
    steps_run = spec.variants[0].config["total_timesteps"]
    title = f"quickstart: PPO on {spec.env}{options}, {steps_run:,} steps x {seeds} seeds per variant"
    console.print(score_table(title, table, metric))
    console.print(f"{result.steps:,} steps in {result.wall_s:.1f} s ({result.steps_per_second:,.0f} steps/s)")
    lines = ["| variant | seeds | IQM final eval return [95% CI] | mean ± std |", "|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.config} | {row.n} | {row.iqm:.3g} [{row.ci_low:.3g}, {row.ci_high:.3g}] | "
                     f"{row.mean:.3g} ± {row.std:.3g} |")  # fmt: skip
    atomic_write_text(out_dir / "quickstart.md", "\n".join(lines) + "\n")
    console.print(
        f"plot: {plot}\ntable: {out_dir / 'quickstart.md'}\nreport: {written['summary']}\n"
        f"results: {out_dir / 'results'}"
    )


__all__ = ["quickstart"]
