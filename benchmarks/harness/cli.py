"""Logging and arguments shared by every benchmark script: ``log``, ``make_parser`` / ``parse_args``
(``--quick``, ``--out``) and the folders results go to."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "benchmarks" / "results"
QUICK_DIR = Path(tempfile.gettempdir()) / "jaxrl_rewards_bench_quick"

_clock = {"name": "bench", "t0": time.perf_counter()}


# --------------------------------------------------------------------------- logging and arguments


def log(message: str) -> None:
    """Print ``[<script> <seconds since parse_args>s] message`` to stderr, flushed at once."""
    print(f"[{_clock['name']} {time.perf_counter() - _clock['t0']:7.1f}s] {message}", file=sys.stderr, flush=True)


def elapsed() -> float:
    """Seconds since the script's ``parse_args``."""
    return time.perf_counter() - _clock["t0"]


def make_parser(name: str, description: str | None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` for the script ``name`` with the shared ``--quick`` and ``--out``.

    ``--out`` (alias ``--out-dir``) defaults to ``benchmarks/results``, or to
    ``$TMPDIR/jaxrl_rewards_bench_quick`` with ``--quick`` (resolved in ``parse_args``)."""
    first_line = (description or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=first_line)
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test (seconds)")
    parser.add_argument(
        "--out",
        "--out-dir",
        dest="out",
        type=Path,
        default=None,
        help=f"results folder (default {RESULTS_DIR.relative_to(ROOT)}; with --quick {QUICK_DIR})",
    )
    parser.set_defaults(bench_name=name)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (``None``: ``sys.argv[1:]``), fill in ``args.out`` and restart ``log``'s clock
    under the script's name."""
    args = parser.parse_args(None if argv is None else list(argv))
    if args.out is None:
        args.out = QUICK_DIR if args.quick else RESULTS_DIR
    args.out = Path(args.out)
    _clock.update(name=args.bench_name, t0=time.perf_counter())
    return args


def args_record(args: argparse.Namespace) -> dict[str, Any]:
    """``vars(args)`` as JSON values (paths as strings, without the harness's ``bench_name``)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "bench_name"}
