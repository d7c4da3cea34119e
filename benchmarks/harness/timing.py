"""Interleaved timing rounds: every candidate once per round, order rotated; ratios as medians
of per-round ratios (the machine is shared, single timings are noisy). The code is the library's
(``jaxrl_rewards.experiments.bench``, which ``jaxrl-rewards bench`` uses); here each round is logged."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jaxrl_rewards.experiments import bench
from jaxrl_rewards.experiments.bench import ratio_summary, rotated

from .cli import log


def interleaved_rounds(
    candidates: Mapping[str, Callable[[], float]], rounds: int, label: str = "round"
) -> dict[str, list[float]]:
    """``experiments.bench.interleaved_rounds`` (every candidate once per round, order rotated;
    name -> seconds per round), logging each round's times as ``<label> r/R: name t, ...``."""

    def on_round(r: int, times: dict[str, list[float]]) -> None:
        log(f"{label} {r + 1}/{rounds}: " + ", ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items()))

    return bench.interleaved_rounds(candidates, rounds, on_round)


__all__ = ["interleaved_rounds", "ratio_summary", "rotated"]
