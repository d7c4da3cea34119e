"""``jaxrl-rewards bench``: steps/s and compile seconds of an env x agent x transform combination
(N seeds in one vmapped call), optionally against the same run without the transform, or of
the environment alone; a rich table and a JSON file. The timing is ``experiments/bench.py``'s,
the one the benchmark scripts use."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import jax
import typer
from rich.markup import escape
from rich.table import Table

from jaxrl_rewards.cli.common import console, err_console, fail
from jaxrl_rewards.cli.train import build_train_config
from jaxrl_rewards.core.files import atomic_write_text
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.bench import backend_info, env_candidate, time_candidates, training_candidate
from jaxrl_rewards.transforms.registry import parse_assignments

#: Columns of the table, in order (``bench_table``); the JSON rows carry the same fields.
COLUMNS = ("run", "seeds", "steps/call", "compile s", "run s", "steps/s", "vs baseline")


def bench_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """One row per timed run: label, seeds (envs for env-only), steps per call, compile seconds,
    median run seconds, steps/s and the median per-round time ratio to the baseline (``—``
    without one; > 1 means slower)."""
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=column != "run")
    for row in rows:
        ratio = row.get("ratio_vs_baseline")
        table.add_row(
            escape(row["label"]),
            str(row.get("seeds", row.get("num_envs", ""))),
            f"{row['steps_per_call']:,}",
            f"{row['compile_s']:.2f}",
            f"{row['run_s']:.4f}",
            f"{row['steps_per_s']:,.0f}",
            "—" if ratio is None else f"{ratio:.3f}",
        )
    return table


def bench(
    env: Annotated[str, typer.Option(help="environment name (see `jaxrl-rewards list envs`)")] = "CartPole-v1",
    agent: Annotated[str, typer.Option(help="agent name")] = "ppo",
    transform: Annotated[
        list[str], typer.Option("--transform", "-t", help="reward transform as in `train`; repeat to chain")
    ] = [],  # noqa: B006
    seeds: Annotated[int, typer.Option(min=1, help="seeds trained in one vmapped call")] = 1,
    steps: Annotated[int, typer.Option(min=1, help="environment steps per seed (env-only: per env)")] = 100_000,
    set_: Annotated[
        list[str], typer.Option("--set", "-s", help="agent option or dotted config path key=value, as in `train`")
    ] = [],  # noqa: B006
    env_param: Annotated[list[str], typer.Option("--env-param", help="environment parameter key=value")] = [],  # noqa: B006
    repeats: Annotated[int, typer.Option(min=1, help="timed rounds (candidates interleaved per round)")] = 3,
    compare: Annotated[
        bool, typer.Option(help="also time the same run without the transform (the baseline of the ratio)")
    ] = True,
    env_only: Annotated[bool, typer.Option(help="time the environment alone (random actions), no agent")] = False,
    num_envs: Annotated[int, typer.Option(min=1, help="parallel environments of --env-only")] = 16,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the report here (JSON)")] = None,
) -> None:
    """Measure steps/s and compile time of a training run (or of the env alone with --env-only).
    Reports the backend and device count; with -t and --compare (default) the same run without the
    transform is timed in the same interleaved rounds and the ratio is given."""
    info = backend_info()
    candidates = []
    try:
        if env_only:
            env_obj, params = make(env, **parse_assignments(env_param, "--env-param"))
            label = f"{env} env-only x{num_envs}"
            candidates.append(env_candidate(env_obj, params, num_envs, steps, label, {"env": env, "mode": "env-only"}))
            baseline = None
        else:
            module, config = build_train_config(agent, env, steps, set_, env_param, transform)
            plain_label = f"{agent} on {env}"
            runs = [(plain_label + (" + " + " + ".join(transform) if transform else ""), config, transform)]
            if transform and compare:
                plain = build_train_config(agent, env, steps, set_, env_param, [])[1]
                runs.append((plain_label + " (no transform)", plain, []))
            for label, cfg, ts in runs:
                err_console.print(f"[dim]compiling {escape(label)} ({seeds} seed(s))...[/]")
                row_info = {"env": env, "agent": agent, "transform": list(ts), "mode": "train",
                            "trained_timesteps": int(cfg.trained_timesteps)}  # fmt: skip
                candidates.append(training_candidate(module, cfg, seeds, label, row_info))
            baseline = runs[-1][0] if len(runs) > 1 else None
    except (ValueError, TypeError) as err:
        fail(str(err))
    done = lambda r, times: err_console.print(f"[dim]round {r + 1}/{repeats} done[/]")
    rows = time_candidates(candidates, repeats, baseline, on_round=done)
    report = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **info,
        "jax": jax.__version__,
        "compile_cache_dir": jax.config.jax_compilation_cache_dir if jax.config.jax_enable_compilation_cache else None,
        "repeats": repeats,
        "baseline": baseline,
        "rows": rows,
    }
    title = f"bench: backend {info['backend']}, {info['device_count']} device(s), {repeats} round(s)"
    console.print(bench_table(title, rows))
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(report, indent=1) + "\n")
        console.print(f"report written to {escape(str(json_out))}")


__all__ = ["COLUMNS", "bench", "bench_table"]
