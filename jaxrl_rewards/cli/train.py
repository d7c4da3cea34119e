"""``jaxrl-rewards train``: one agent on one environment, several seeds in one vmapped call;
a result table and a metrics file (optionally checkpointed and resumable)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from jaxrl_rewards.agents import get_agent
from jaxrl_rewards.cli.common import console, err_console, fail, parse_assignments, parse_transforms
from jaxrl_rewards.core.validation import check_output_path
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.checkpoint import train_checkpointed
from jaxrl_rewards.experiments.options import configure
from jaxrl_rewards.experiments.results import save_result
from jaxrl_rewards.experiments.runner import RunResult, TrainingDivergedError, train_seeds


def summary_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    """Final eval return (mean ± std, min, max), steps/s and compile time per ``(label, result)``."""
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


def build_train_config(
    agent: str, env: str, steps: int, sets: list[str], env_params: list[str], transforms: list[str]
) -> tuple[Any, Any]:
    """``(agent module, config)`` from the command's options: ``--env-param`` go to
    ``envs.make``, ``-t`` builds the transform chain, ``--set`` are ``make_config`` options or
    dotted config paths (``experiments.options.configure``). Raises ``ConfigError`` / ``ValueError``."""
    module = get_agent(agent)
    overrides = parse_assignments(sets, "--set")
    env_obj, params = make(env, **parse_assignments(env_params, "--env-param"))
    options: dict[str, Any] = {"total_timesteps": steps}
    if transforms:
        options["transform"] = parse_transforms(transforms)
    return module, configure(module, env_obj, params, env, {**options, **overrides}, where="--set")


def train(
    env: Annotated[str, typer.Option(help="environment name (see `jaxrl-rewards list envs`)")] = "CartPole-v1",
    agent: Annotated[str, typer.Option(help="agent name")] = "ppo",
    seeds: Annotated[int, typer.Option(min=1, help="number of seeds, trained in one vmapped call")] = 4,
    seed_offset: Annotated[int, typer.Option(help="first seed")] = 0,
    steps: Annotated[int, typer.Option(min=1, help="environment steps per seed")] = 100_000,
    transform: Annotated[
        list[str],
        typer.Option(
            "--transform",
            "-t",
            help="reward transform, e.g. normalize, 'scale:factor=0.1' or 'lagrangian:limits=[1.0,2.0]'; "
            "repeat to chain (see `jaxrl-rewards list --transform NAME`)",
        ),
    ] = [],  # noqa: B006
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            "-s",
            help="override key=value (TOML value): an agent option (learning_rate=1e-3) or a dotted config "
            "path (transform.scale.factor=0.5, env_params.max_steps_in_episode=200); repeatable",
        ),
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
        module, config = build_train_config(agent, env, steps, set_, env_param, transform)
        out = check_output_path(out or Path("runs") / f"{env}-{agent}.json", "--out")
        if checkpoint_dir is not None:
            check_output_path(checkpoint_dir, "--checkpoint-dir", kind="dir")
    except (ValueError, TypeError) as err:
        fail(str(err))
    seed_list = list(range(seed_offset, seed_offset + seeds))
    ran = config.trained_timesteps
    if ran != steps:
        console.print(
            f"--steps {steps:,} rounded to {ran:,} steps per seed: {config.num_iterations} iterations of "
            f"{config.steps_per_iteration} steps ({config.num_evals} evaluations)"
        )
    info = {"env": env, "agent": agent, "transform": transform, "overrides": set_, "steps": ran}
    try:
        if checkpoint_dir is not None:
            result = train_checkpointed(
                module, config, seed_list, checkpoint_dir, save_every=save_every, progress=progress,
                description=f"{agent} on {env}",
            )  # fmt: skip
        else:
            result = train_seeds(module, config, seed_list, progress=progress, description=f"{agent} on {env}")
    except TrainingDivergedError as err:
        err_console.print(f"[bold red]{escape(str(err))}[/]")
        partial = diverged_result(err, seed_list, config)
        where = save_with_fallback(out, partial, {**info, "steps": partial.timesteps, "diverged": str(err)})
        fail(f"training diverged; the metrics up to the divergence are in {where}", code=3)
    except ValueError as err:  # a checkpoint of a different run
        fail(str(err))
    out = save_with_fallback(out, result, info)
    if result.extras.get("resumed_from"):
        console.print(f"resumed from {checkpoint_dir}: {result.extras['resumed_from']} of {config.num_evals} "
                      "segments restored")  # fmt: skip
    console.print(summary_table(f"{agent} on {env}, {config.trained_timesteps:,} steps per seed", [("run", result)]))
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


def diverged_result(err: TrainingDivergedError, seeds: list[int], config: Any) -> RunResult:
    """The ``RunResult`` of the iterations that ran before ``err`` (its partial metrics);
    ``timesteps`` counts only those iterations."""
    iterations = max((v.shape[1] for k, v in err.metrics.items() if not k.startswith("eval/")), default=0)
    return RunResult(
        metrics=err.metrics, seeds=seeds, compile_s=0.0, run_s=0.0, total_s=0.0,
        timesteps=int(iterations) * int(config.steps_per_iteration), extras={"diverged": str(err)},
    )  # fmt: skip


def save_with_fallback(path: Path, result: RunResult, info: dict[str, Any]) -> Path:
    """``save_result(path, ...)``; if that write fails (disk full, folder removed meanwhile),
    write to a fallback file in the system temp folder instead and say where. Returns the file."""
    try:
        return save_result(path, result, info)
    except OSError as err:
        fallback = Path(tempfile.gettempdir()) / f"jaxrl-rewards-{os.getpid()}-{path.name or 'metrics.json'}"
        save_result(fallback, result, info)
        err_console.print(f"[bold red]could not write {escape(str(path))} ({escape(str(err))}); "
                          f"wrote {escape(str(fallback))} instead[/]")  # fmt: skip
        return fallback


__all__ = ["build_train_config", "diverged_result", "save_with_fallback", "summary_table", "train"]
