"""The ``jaxrl-rewards`` command line: the typer app, mounting one module per command
(``list``, ``train``, ``sweep``, ``plot``, ``quickstart``, ``bench``) and the ``bandit`` section.
Shared pieces (consoles, ``fail``, assignments) live in ``jaxrl_rewards.cli.common``.

Every command runs with JAX's persistent compilation cache on (``experiments/compile_cache.py``:
``~/.cache/jaxrl_rewards/xla`` by default, ``JAXRL_REWARDS_COMPILE_CACHE=DIR|off``, or
``jaxrl-rewards --no-compile-cache COMMAND``), so a second identical run loads its compiled programs."""

from __future__ import annotations

from typing import Annotated

import typer

from jaxrl_rewards.cli.bandit import app as bandit_app
from jaxrl_rewards.cli.bench import bench
from jaxrl_rewards.cli.list import list_command
from jaxrl_rewards.cli.plot import plot_command
from jaxrl_rewards.cli.quickstart import quickstart
from jaxrl_rewards.cli.sweep import sweep
from jaxrl_rewards.cli.train import train
from jaxrl_rewards.experiments.compile_cache import ENV_VAR, default_cache_dir, enable_compile_cache

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Composable reward transforms for pure-JAX reinforcement learning.",
)


@app.callback()
def _options(
    compile_cache: Annotated[
        bool,
        typer.Option(
            "--compile-cache/--no-compile-cache",
            help=f"JAX's persistent compilation cache (default {default_cache_dir()}; "
            f"env {ENV_VAR}=DIR or {ENV_VAR}=off): a second identical run loads its compiled programs",
        ),
    ] = True,
) -> None:
    """Composable reward transforms for pure-JAX reinforcement learning."""
    enable_compile_cache(compile_cache)


app.command("list")(list_command)
app.command("train")(train)
app.command("sweep")(sweep)
app.command("plot")(plot_command)
app.command("quickstart")(quickstart)
app.command("bench")(bench)
app.add_typer(bandit_app, name="bandit")


def main() -> None:  # pragma: no cover - entry point
    """Run the command line (``python -m jaxrl_rewards.cli.app``)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["app", "main"]
