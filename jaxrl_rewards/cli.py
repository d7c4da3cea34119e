"""The ``jaxrl-rewards`` command line: ``list``, ``train``, ``quickstart``."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Composable reward transforms for pure-JAX reinforcement learning.",
)
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


def parse_transform(text: str):
    """Build a transform from ``"name"`` or ``"name:key=value,key=value"`` using
    ``jaxrl_rewards.transforms.REGISTRY``."""
    from jaxrl_rewards.transforms import REGISTRY

    name, _, args = text.partition(":")
    name = name.strip()
    if name not in REGISTRY:
        raise typer.BadParameter(f"unknown transform {name!r}; available: {sorted(REGISTRY)}")
    kwargs = parse_assignments([a for a in args.split(",") if a.strip()], f"transform {name} option")
    factory = REGISTRY[name][0]
    try:
        return factory(**kwargs)
    except TypeError as err:
        raise typer.BadParameter(f"transform {name}: {err}") from None


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.command("list")
def list_command(
    what: Annotated[str, typer.Argument(help="envs, agents, transforms or all")] = "all",
) -> None:
    """List registered environments, agents and reward transforms."""
    from jaxrl_rewards.agents import AGENTS
    from jaxrl_rewards.envs import env_info, registered_envs
    from jaxrl_rewards.transforms import REGISTRY

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
) -> None:
    """Train an agent on several seeds at once, print a result table and save the metrics."""
    from jaxrl_rewards.agents import get_agent
    from jaxrl_rewards.envs import make
    from jaxrl_rewards.results import save_result
    from jaxrl_rewards.runner import TrainingDivergedError, train_seeds
    from jaxrl_rewards.transforms import chain

    try:
        module = get_agent(agent)
        overrides = parse_assignments(set_, "--set")
        transforms = [parse_transform(t) for t in transform]
        env_obj, params = make(env, **parse_assignments(env_param, "--env-param"))
        if transforms:
            overrides["transform"] = chain(*transforms)
        preset = module.PRESETS.get(env, {})
        config = module.make_config(env_obj, params, total_timesteps=steps, env_name=env, **{**preset, **overrides})
    except (ValueError, TypeError) as err:
        _fail(str(err))
    seed_list = list(range(seed_offset, seed_offset + seeds))
    out = out or Path("runs") / f"{env}-{agent}.json"
    info = {"env": env, "agent": agent, "transform": transform, "overrides": set_, "steps": steps}
    try:
        result = train_seeds(module, config, seed_list, progress=progress, description=f"{agent} on {env}")
    except TrainingDivergedError as err:
        err_console.print(f"[bold red]{err}[/]")
        _fail(f"training diverged; see {out}", code=3)
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


@app.command()
def quickstart(
    env: Annotated[str, typer.Option(help="environment")] = "CartPole-v1",
    seeds: Annotated[int, typer.Option(min=1, help="seeds per variant")] = 8,
    steps: Annotated[int, typer.Option(min=1, help="environment steps per seed")] = 100_000,
    out_dir: Annotated[Path, typer.Option(help="where the table, metrics and plot go")] = Path("quickstart_out"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Built-in demo sweep: PPO with and without reward transforms, N seeds each, one
    compiled call per variant; prints a table and writes a plot."""
    from jaxrl_rewards.agents import ppo
    from jaxrl_rewards.results import atomic_write_text, plot_eval_curves, save_result
    from jaxrl_rewards.runner import train_seeds
    from jaxrl_rewards.transforms import chain, identity, normalize_rewards, scale

    variants = {
        "PPO": identity(),
        "PPO + normalize": normalize_rewards(),
        "PPO + scale(0.1)": scale(0.1),
        "PPO + scale(0.1) then normalize": chain(scale(0.1), normalize_rewards()),
    }
    results = {}
    try:
        for label, transform in variants.items():
            config = ppo.make_config(env, total_timesteps=steps, num_evals=10, transform=transform)
            results[label] = train_seeds(ppo, config, seeds, progress=progress, description=label)
    except ValueError as err:
        _fail(str(err))
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (label, result) in enumerate(results.items()):
        save_result(out_dir / f"variant{i}.parquet", result, {"variant": label, "env": env})
    plot = plot_eval_curves(results, out_dir / "quickstart.png", title=f"PPO on {env}: reward transforms")
    console.print(
        _summary_table(f"quickstart: PPO on {env}, {steps:,} steps x {seeds} seeds per variant", list(results.items()))
    )
    lines = ["| variant | seeds | final eval return (mean ± std) | steps/s |", "|---|---|---|---|"]
    for label, result in results.items():
        finals = result.final_eval_returns()
        spread = f"{finals.mean():.1f} ± {finals.std():.1f}"
        lines.append(f"| {label} | {len(result.seeds)} | {spread} | {result.steps_per_second:,.0f} |")
    atomic_write_text(out_dir / "quickstart.md", "\n".join(lines) + "\n")
    console.print(f"plot: {plot}\ntable: {out_dir / 'quickstart.md'}\nmetrics: {out_dir}/variant*.parquet")


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["app", "parse_assignments", "parse_transform", "parse_value"]
