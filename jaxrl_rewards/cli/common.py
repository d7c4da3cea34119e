"""What every command shares: the consoles, ``fail`` (a clean error and an exit code instead
of a traceback), ``key=value`` assignments, transform options and the score table."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.registry import build_transforms, parse_assignments

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: bad input). The message
    is escaped, so bracketed text such as ``[1.0, 2.0]`` is printed, not read as rich markup."""
    err_console.print(f"[bold red]error:[/] {escape(str(message))}")
    raise typer.Exit(code)


def parse_transforms(texts: list[str]) -> RewardTransform:
    """The ``-t`` values (``"name"`` or ``"name:key=value,..."``, see ``transforms.registry``)
    as one transform, exactly as a spec builds them (a named chain; identity for none)."""
    return build_transforms(texts)


def score_table(title: str, table: Any, metric: str, limit: int = 20) -> Table:
    """A rich table of ``plots.final_score_table`` rows (IQM, 95% CI, mean ± std, seeds)."""
    out = Table(title=escape(title))
    for column in ("configuration", f"IQM final {metric}", "95% CI", "mean ± std", "seeds"):
        out.add_column(column, justify="left" if column == "configuration" else "right")
    for row in table.head(limit).itertuples():
        out.add_row(
            escape(row.config), f"{row.iqm:.3g}", escape(f"[{row.ci_low:.3g}, {row.ci_high:.3g}]"),
            f"{row.mean:.3g} ± {row.std:.3g}",
            str(row.n),
        )  # fmt: skip
    return out


__all__ = ["console", "err_console", "fail", "parse_assignments", "parse_transforms", "score_table"]
