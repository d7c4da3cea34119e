"""``jaxrl-rewards list``: registered environments, agents and reward transforms, or one
transform's options and their defaults (``--transform NAME``)."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from jaxrl_rewards.agents import AGENTS
from jaxrl_rewards.cli.common import console, fail
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import env_info, registered_envs
from jaxrl_rewards.transforms.registry import REGISTRY, transform_options

TARGETS = ("all", "envs", "agents", "transforms")


def options_table(name: str) -> Table:
    """One transform's options (``registry.transform_options``): name and default
    (``required`` where there is none), titled with its description."""
    options = transform_options(name)
    table = Table(title=f"{name} options", caption=escape(REGISTRY[name][1]))
    table.add_column("option", no_wrap=True)
    table.add_column("default")
    for option, default in options.items():
        shown = "required" if default is inspect.Parameter.empty else repr(default)
        table.add_row(option, escape(shown))
    return table


def list_command(
    what: Annotated[str, typer.Argument(help="envs, agents, transforms or all")] = "all",
    transform: Annotated[
        str | None, typer.Option("--transform", "-t", help="show this transform's options and defaults")
    ] = None,
) -> None:
    """List registered environments, agents and reward transforms (or one transform's options)."""

    if transform is not None:
        try:
            console.print(options_table(transform))
        except ConfigError as err:
            fail(str(err))
        return
    if what not in TARGETS:
        fail(f"unknown list target {what!r}; choose envs, agents, transforms or all")
    if what in ("all", "envs"):
        table = Table(title="environments")
        table.add_column("name", no_wrap=True)
        for column in ("family", "actions", "observation"):
            table.add_column(column, no_wrap=True)
        table.add_column("description", overflow="fold")
        for name in registered_envs():
            info = env_info(name, build_brax=False)  # importing brax/MuJoCo: seconds and warnings
            table.add_row(
                name,
                str(info.get("family", "")),
                str(info.get("action_kind", info.get("actions", ""))),
                escape(str(info.get("obs_shape") or "built on use")),
                escape(str(info.get("description", ""))),
            )
        console.print(table)
    if what in ("all", "agents"):
        table = Table(title="agents")
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        for name, module in AGENTS.items():
            table.add_row(name, escape(module.DESCRIPTION))  # one line, checked by agents.base.check_agent
        console.print(table)
    if what in ("all", "transforms"):
        table = Table(title="reward transforms")
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        table.add_column("options (defaults: list --transform NAME)")
        for name, (_, description) in REGISTRY.items():
            table.add_row(name, escape(description), escape(", ".join(transform_options(name))))
        console.print(table)


__all__ = ["list_command", "options_table"]
