"""The bandit section of the command line (mounted as ``jaxrl-rewards bandit ...``).

``list``: the registered bandit environments and algorithms.
``run``: run algorithms on a bandit, all seeds of an algorithm in one compiled call; print a
table, write a regret plot (PNG) and a results file (JSON).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jaxrl_rewards.bandits import ALGORITHMS, ENVIRONMENTS, make_algorithm, make_bandit, run_seeds, summarize
from jaxrl_rewards.bandits.metrics import cumulative_regret
from jaxrl_rewards.bandits.plots import plot_curves
from jaxrl_rewards.cli.common import console, fail, parse_transforms
from jaxrl_rewards.core.validation import ConfigError, check_output_path, check_positive_int
from jaxrl_rewards.experiments.results import atomic_write_text

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bandits: pure-JAX environments and algorithms, many seeds per compiled call.",
)


@app.command("list")
def list_command() -> None:
    """List bandit environments and algorithms."""

    for title, registry in (("bandit environments", ENVIRONMENTS), ("bandit algorithms", ALGORITHMS)):
        table = Table(title=title)
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        for name, (_, description) in registry.items():
            table.add_row(name, description)
        console.print(table)


@app.command()
def run(
    algorithm: Annotated[
        list[str] | None,
        typer.Option(
            "--algorithm", "-a", help="algorithm name, repeat for several", show_default="ucb1, thompson_beta, greedy"
        ),
    ] = None,
    env: Annotated[str, typer.Option(help="bandit environment (see `bandit list`)")] = "bernoulli",
    arms: Annotated[int, typer.Option(help="number of arms")] = 10,
    horizon: Annotated[int, typer.Option(help="rounds per run")] = 2000,
    seeds: Annotated[int, typer.Option(help="seeds per algorithm (one vmapped call)")] = 200,
    seed_offset: Annotated[int, typer.Option(help="first seed")] = 0,
    env_seed: Annotated[int, typer.Option(help="seed of randomly drawn instances (linear, adversarial)")] = 0,
    transform: Annotated[
        list[str], typer.Option("--transform", "-t", help="reward transform, e.g. 'scale:factor=0.5'; repeat to chain")
    ] = [],  # noqa: B006
    out_dir: Annotated[Path, typer.Option(help="where results.json and regret.png go")] = Path("bandit_runs"),
) -> None:
    """Run bandit algorithms on an environment; print a table, write a regret plot and results."""

    algorithm = algorithm or ["ucb1", "thompson_beta", "greedy"]
    try:
        check_positive_int(horizon, "horizon")
        check_positive_int(seeds, "seeds")
        environment = make_bandit(env, arms, horizon, env_seed)
        algorithms = {name: make_algorithm(name, environment) for name in algorithm}
        reward_transform = parse_transforms(transform) if transform else None
        check_output_path(out_dir, "--out-dir", kind="dir")
    except (ConfigError, ValueError, TypeError) as err:
        fail(str(err))
    seed_list = list(range(seed_offset, seed_offset + seeds))
    summaries, curves = {}, {}
    for name, alg in algorithms.items():
        start = time.perf_counter()
        try:
            trace = run_seeds(environment, alg, horizon, seed_list, transform=reward_transform)
        except ConfigError as err:
            fail(f"{name}: {err}")
        trace.regret.block_until_ready()
        summaries[name] = {**summarize(trace), "wall_s": time.perf_counter() - start}
        curves[name] = cumulative_regret(trace)

    table = Table(
        title=f"{env}: {arms} arms, horizon {horizon}, {seeds} seeds",
        caption="R(T): mean ± half-width of a 95% normal-approximation CI over seeds (1.96 std / sqrt(seeds))",
    )
    columns = (
        "algorithm",
        "regret R(T) ± 95% CI",
        "R(T)/R(T/4)",
        "best-arm %",
        "suffix fail %",
        "reward",
        "violation",
        "s",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "algorithm" else "right")
    for name, s in summaries.items():
        table.add_row(
            name,
            f"{s['final_regret']:.1f} ± {s['final_regret_ci95']:.1f}",
            f"{s['regret_ratio_T_over_T4']:.2f}",
            f"{100 * s['best_arm_fraction']:.1f}",
            f"{100 * s['suffix_failure_rate']:.1f}",
            f"{s['total_expected_reward']:.1f}",
            f"{s['cumulative_violation']:.1f}",
            f"{s['wall_s']:.1f}",
        )
    console.print(table)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = plot_curves(curves, out_dir / "regret.png", title=f"{env}, {arms} arms, {seeds} seeds")
    info = {"env": env, "arms": arms, "horizon": horizon, "seeds": seed_list, "transform": transform}
    atomic_write_text(out_dir / "results.json", json.dumps({"config": info, "results": summaries}, indent=2) + "\n")
    console.print(f"plot: {plot}\nresults: {out_dir / 'results.json'}")


__all__ = ["app"]
