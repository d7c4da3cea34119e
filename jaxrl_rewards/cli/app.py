"""The ``jaxrl-rewards`` command line: the typer app, mounting one module per command
(``list``, ``train``, ``sweep``, ``plot``, ``quickstart``) and the ``bandit`` section.
Shared pieces (consoles, ``fail``, assignments) live in ``jaxrl_rewards.cli.common``."""

from __future__ import annotations

import typer

from jaxrl_rewards.cli.bandit import app as bandit_app
from jaxrl_rewards.cli.list import list_command
from jaxrl_rewards.cli.plot import plot_command
from jaxrl_rewards.cli.quickstart import quickstart
from jaxrl_rewards.cli.sweep import sweep
from jaxrl_rewards.cli.train import train

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Composable reward transforms for pure-JAX reinforcement learning.",
)
app.command("list")(list_command)
app.command("train")(train)
app.command("sweep")(sweep)
app.command("plot")(plot_command)
app.command("quickstart")(quickstart)
app.add_typer(bandit_app, name="bandit")


def main() -> None:  # pragma: no cover - entry point
    """Run the command line (``python -m jaxrl_rewards.cli.app``)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["app", "main"]
