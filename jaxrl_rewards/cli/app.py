"""The ``jaxrl-rewards`` command line: ``list``, ``train``, ``sweep``, ``plot``, ``quickstart``,
and the ``bandit`` section (``jaxrl_rewards.cli.bandit``)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jaxrl_rewards.agents import AGENTS, get_agent
from jaxrl_rewards.cli.bandit import app as bandit_app
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import env_info, make, registered_envs
from jaxrl_rewards.experiments.checkpoint import train_checkpointed
from jaxrl_rewards.experiments.live_logging import TensorBoardLogger, WandbLogger
from jaxrl_rewards.experiments.plots import (
    final_score_table,
    load_results,
    make_report,
    param_columns,
    plot_learning_curves,
)
from jaxrl_rewards.experiments.quickstart import quickstart_spec
from jaxrl_rewards.experiments.results import atomic_write_text, save_result
from jaxrl_rewards.experiments.runner import TrainingDivergedError, train_seeds
from jaxrl_rewards.experiments.spec import load_spec
from jaxrl_rewards.experiments.sweep import run_sweep
from jaxrl_rewards.transforms import REGISTRY
from jaxrl_rewards.transforms.registry import build_transforms

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Composable reward transforms for pure-JAX reinforcement learning.",
)
app.add_typer(bandit_app, name="bandit")
console = Console()
err_console = Console(stderr=True)


def parse_value(text: str) -> Any:
    """Parse a command-line value: a Python literal (number, tuple, bool, None...) if it is
    one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignments(items: list[str], what: str) -> dict[str, Any]:
    """Parse ``["key=value", ...]`` into a dict; malformed items raise ``typer.BadParameter``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{what} must look like key=value, got {item!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def parse_transforms(texts: list[str]):
    """The CLI's ``-t`` values (``"name"`` or ``"name:key=value,..."``, see
    ``transforms.registry``) as one transform, exactly as a spec builds them."""

    try:
        return build_transforms(texts)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from None


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.command("list")
def list_command(
    what: Annotated[str, typer.Argument(help="envs, agents, transforms or all")] = "all",
) -> None:
    """List registered environments, agents and reward transforms."""

    if what not in ("all", "envs", "agents", "transforms"):
        _fail(f"unknown list target {what!r}; choose envs, agents, transforms or all")
    if what in ("all", "envs"):
        table = Table(title="environments")
        table.add_column("name", no_wrap=True)
        for column in ("family", "actions", "observation"):
            table.add_column(column, no_wrap=True)
        table.add_column("description", overflow="fold")
        for name in registered_envs():
            info = env_info(name)
            table.add_row(
                name,
                str(info.get("family", "")),
                str(info.get("action_kind", info.get("actions", ""))),
                str(info.get("obs_shape", "")),
                str(info.get("description", "")),
            )
        console.print(table)
    if what in ("all", "agents"):
        table = Table(title="agents")
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        for name, module in AGENTS.items():
            table.add_row(name, (module.__doc__ or "").strip().splitlines()[0])
        console.print(table)
    if what in ("all", "transforms"):
        table = Table(title="reward transforms")
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        for name, (_, description) in REGISTRY.items():
            table.add_row(name, description)
        console.print(table)


def _summary_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("variant", "seeds", "final eval return (mean ± std)", "min", "max", "steps/s", "compile s"):
        table.add_column(column, justify="right" if column != "variant" else "left")
    for label, result in rows:
        finals = result.final_eval_returns()
        table.add_row(
            label,
            str(len(result.seeds)),
            f"{finals.mean():.1f} ± {finals.std():.1f}",
            f"{finals.min():.1f}",
            f"{finals.max():.1f}",
            f"{result.steps_per_second:,.0f}",
            f"{result.compile_s:.1f}",
        )
    return table


@app.command()
def train(
    env: Annotated[str, typer.Option(help="environment name (see `jaxrl-rewards list envs`)")] = "CartPole-v1",
    agent: Annotated[str, typer.Option(help="agent name")] = "ppo",
    seeds: Annotated[int, typer.Option(min=1, help="number of seeds, trained in one vmapped call")] = 4,
    seed_offset: Annotated[int, typer.Option(help="first seed")] = 0,
    steps: Annotated[int, typer.Option(min=1, help="environment steps per seed")] = 100_000,
    transform: Annotated[
        list[str],
        typer.Option(
            "--transform", "-t", help="reward transform, e.g. normalize or 'scale:factor=0.1'; repeat to chain"
        ),
    ] = [],  # noqa: B006
    set_: Annotated[
        list[str], typer.Option("--set", "-s", help="agent hyperparameter override key=value; repeatable")
    ] = [],  # noqa: B006
    env_param: Annotated[list[str], typer.Option("--env-param", help="environment parameter override key=value")] = [],  # noqa: B006
    out: Annotated[
        Path | None, typer.Option(help="metrics file (.json, .parquet or .csv); default runs/<env>-<agent>.json")
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="save the full training state here (orbax) and resume from it")
    ] = None,
    save_every: Annotated[int, typer.Option(min=1, help="evaluation segments between checkpoints")] = 1,
) -> None:
    """Train an agent on several seeds at once, print a result table and save the metrics.
    With --checkpoint-dir the run saves its state between segments and a restarted run resumes."""

    try:
        module = get_agent(agent)
        overrides = parse_assignments(set_, "--set")
        env_obj, params = make(env, **parse_assignments(env_param, "--env-param"))
        if transform:
            overrides["transform"] = parse_transforms(transform)
        preset = module.PRESETS.get(env, {})
        config = module.make_config(env_obj, params, total_timesteps=steps, env_name=env, **{**preset, **overrides})
    except (ValueError, TypeError) as err:
        _fail(str(err))
    seed_list = list(range(seed_offset, seed_offset + seeds))
    out = out or Path("runs") / f"{env}-{agent}.json"
    info = {"env": env, "agent": agent, "transform": transform, "overrides": set_, "steps": steps}
    try:
        if checkpoint_dir is not None:
            result = train_checkpointed(
                module, config, seed_list, checkpoint_dir, save_every=save_every, progress=progress,
                description=f"{agent} on {env}",
            )  # fmt: skip
        else:
            result = train_seeds(module, config, seed_list, progress=progress, description=f"{agent} on {env}")
    except TrainingDivergedError as err:
        err_console.print(f"[bold red]{err}[/]")
        _fail(f"training diverged; see {out}", code=3)
    except ValueError as err:  # a checkpoint of a different run
        _fail(str(err))
    save_result(out, result, info)
    console.print(_summary_table(f"{agent} on {env}, {config.trained_timesteps:,} steps per seed", [("run", result)]))
    per_seed = Table(title="per seed")
    per_seed.add_column("seed")
    per_seed.add_column("final eval return", justify="right")
    per_seed.add_column("final train return", justify="right")
    for i, seed in enumerate(result.seeds):
        per_seed.add_row(
            str(seed),
            f"{result.final_eval_returns()[i]:.1f}",
            f"{result.metrics['train/episode_return'][i, -1]:.1f}",
        )
    console.print(per_seed)
    console.print(f"metrics written to {out}")


def _score_table(title: str, table: Any, metric: str, limit: int = 20) -> Table:
    out = Table(title=title)
    for column in ("configuration", f"IQM final {metric}", "95% CI", "mean ± std", "seeds"):
        out.add_column(column, justify="left" if column == "configuration" else "right")
    for row in table.head(limit).itertuples():
        out.add_row(
            row.config, f"{row.iqm:.3g}", f"[{row.ci_low:.3g}, {row.ci_high:.3g}]", f"{row.mean:.3g} ± {row.std:.3g}",
            str(row.n),
        )  # fmt: skip
    return out


def _loggers(tensorboard: Path | None, wandb_dir: Path | None, project: str) -> list[Any]:

    loggers: list[Any] = []
    if tensorboard is not None:
        loggers.append(TensorBoardLogger(tensorboard))
    if wandb_dir is not None:
        loggers.append(WandbLogger(wandb_dir, project=project))
    return loggers


@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="sweep spec (TOML); see jaxrl_rewards/sweep_spec.py")],
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
        loggers = _loggers(tensorboard, wandb_dir, parsed.name)
        try:
            result = run_sweep(
                parsed, out, backend=backend, force=force, progress=progress, loggers=loggers,
                log_interval=log_interval, ray_address=ray_address,
            )  # fmt: skip
        finally:
            for logger in loggers:
                logger.close()
    except ConfigError as err:
        _fail(str(err))
    manifest = result.store.manifest() or {}
    metric = parsed.objective if parsed.objective in result.frame else "eval/return/task"
    table = final_score_table(result.frame, param_columns(result.frame, manifest), metric)
    console.print(_score_table(f"sweep {parsed.name}: final {metric}", table, metric))
    console.print(
        f"{result.chunks_run} chunk(s) run, {result.chunks_skipped} found finished; "
        f"{result.steps:,} steps in {result.wall_s:.1f} s ({result.steps_per_second:,.0f} steps/s); results: {out}"
    )
    if plot:
        written = make_report(result.frame, out / "report", metric, manifest=manifest)
        console.print(f"report: {written['summary']}")


@app.command("plot")
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
        _fail(str(err))
    table = final_score_table(frame, param_columns(frame, manifest), metric)
    console.print(_score_table(f"final {metric}", table, metric))
    for name, path in written.items():
        console.print(f"{name}: {path}")


@app.command()
def quickstart(
    env: Annotated[str | None, typer.Option(help="environment (default: a 10x10 SparseGridWorld-v0)")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="seeds per variant")] = 8,
    steps: Annotated[int | None, typer.Option(min=1, help="environment steps per seed (default 40,960)")] = None,
    out_dir: Annotated[Path, typer.Option(help="where the table, metrics and plot go")] = Path("quickstart_out"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Built-in demo sweep (jaxrl_rewards/quickstart.py): PPO with and without reward
    transforms, N seeds each, one compiled call per variant; prints a table and writes a plot."""

    try:
        spec = quickstart_spec(env, seeds, steps)
        result = run_sweep(spec, out_dir / "results", force=True, progress=progress)
    except ConfigError as err:
        _fail(str(err))
    metric = "eval/return/task"
    table = final_score_table(result.frame, [], metric)
    plot = plot_learning_curves(result.frame, [], out_dir / "quickstart.png", metric)
    written = make_report(result.frame, out_dir / "report", metric, manifest=result.store.manifest())
    options = "".join(f" {k}={v}" for k, v in spec.variants[0].env_options.items())
    steps_run = spec.variants[0].config["total_timesteps"]
    title = f"quickstart: PPO on {spec.env}{options}, {steps_run:,} steps x {seeds} seeds per variant"
    console.print(_score_table(title, table, metric))
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


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["app", "parse_assignments", "parse_transforms", "parse_value"]
