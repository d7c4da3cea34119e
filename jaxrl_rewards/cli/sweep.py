"""``jaxrl-rewards sweep``: run (or resume) a sweep spec (``experiments.spec``) and print its
final scores; optionally a report of plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from jaxrl_rewards.cli.common import console, err_console, fail, score_table
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.checks import describe_divergence
from jaxrl_rewards.experiments.live_logging import TensorBoardLogger, WandbLogger
from jaxrl_rewards.experiments.plots import final_score_table, make_report, param_columns
from jaxrl_rewards.experiments.spec import load_spec
from jaxrl_rewards.experiments.sweep import run_sweep


def make_loggers(tensorboard: Path | None, wandb_dir: Path | None, project: str) -> list[Any]:
    """The live loggers the options ask for (TensorBoard and/or offline W&B)."""
    loggers: list[Any] = []
    if tensorboard is not None:
        loggers.append(TensorBoardLogger(tensorboard))
    if wandb_dir is not None:
        loggers.append(WandbLogger(wandb_dir, project=project))
    return loggers


def sweep(
    spec: Annotated[Path, typer.Argument(help="sweep spec (TOML); see jaxrl_rewards/experiments/spec.py")],
    out: Annotated[Path | None, typer.Option(help="results store; default runs/<spec name>")] = None,
    force: Annotated[bool, typer.Option(help="discard results of a different spec in --out")] = False,
    backend: Annotated[str, typer.Option(help="local or ray")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one)")] = None,
    tensorboard: Annotated[Path | None, typer.Option(help="live TensorBoard logs here (one dir per run)")] = None,
    wandb_dir: Annotated[Path | None, typer.Option("--wandb", help="live W&B logs (offline) here")] = None,
    log_interval: Annotated[int, typer.Option(min=1, help="iterations between logged points")] = 10,
    plot: Annotated[bool, typer.Option(help="write plots and summary.md into <out>/report")] = True,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Run (or resume) a sweep: grid / random / optuna points x seeds, each chunk of runs one
    compiled vmapped call, results in a resumable parquet store."""

    try:
        parsed = load_spec(spec)
        out = out or Path("runs") / parsed.name
        loggers = make_loggers(tensorboard, wandb_dir, parsed.name)
        try:
            result = run_sweep(
                parsed, out, backend=backend, force=force, progress=progress, loggers=loggers,
                log_interval=log_interval, ray_address=ray_address,
            )  # fmt: skip
        finally:
            for logger in loggers:
                logger.close()
    except ConfigError as err:
        fail(str(err))
    manifest = result.store.manifest() or {}
    metric = parsed.objective if parsed.objective in result.frame else "eval/return/task"
    table = final_score_table(result.frame, param_columns(result.frame, manifest), metric)
    console.print(score_table(f"sweep {parsed.name}: final {metric}", table, metric))
    console.print(
        f"{result.chunks_run} chunk(s) run, {result.chunks_skipped} found finished; "
        f"{result.steps:,} steps in {result.wall_s:.1f} s ({result.steps_per_second:,.0f} steps/s); results: {out}"
    )
    diverged = result.extras.get("diverged") or []
    if diverged:
        err_console.print(
            f"[bold red]warning:[/] {len(diverged)} of {result.frame['run'].nunique()} run(s) diverged "
            f"(their rows are stored as they ran):\n{escape(describe_divergence(diverged))}"
        )
    if plot:
        written = make_report(result.frame, out / "report", metric, manifest=manifest)
        console.print(f"report: {written['summary']}")


__all__ = ["make_loggers", "sweep"]
