"""Interleaved timing rounds: every candidate once per round, order rotated; ratios as medians
of per-round ratios (the machine is shared, single timings are noisy)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxrl_rewards.core.validation import ConfigError

from .cli import log


def rotated(items: Sequence[Any], r: int) -> list[Any]:
    """``items`` rotated left by ``r`` (round r of an interleaved timing starts at item r)."""
    items = list(items)
    k = r % len(items)
    return items[k:] + items[:k]


def interleaved_rounds(
    candidates: Mapping[str, Callable[[], float]], rounds: int, label: str = "round"
) -> dict[str, list[float]]:
    """Time every candidate once per round, for ``rounds`` rounds, order rotated per round (so a
    burst of load from other jobs hits all alike). A candidate is a no-argument callable that
    runs once and returns its wall seconds. Returns name -> seconds per round."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name in rotated(list(candidates), r):
            times[name].append(float(candidates[name]()))
        log(f"{label} {r + 1}/{rounds}: " + ", ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items()))
    return times


def ratio_summary(times: Mapping[str, Sequence[float]], baseline: str) -> dict[str, dict[str, Any]]:
    """Per candidate: ``ratio`` = median over rounds of time / baseline time in the same round,
    ``ratio_of_min_times`` = fastest run / fastest baseline run, the per-round ``rounds`` and the
    ``median_s`` / ``min_s`` of its times."""
    if baseline not in times:
        raise ConfigError(f"baseline {baseline!r} is not a candidate; candidates: {sorted(times)}")
    base = times[baseline]
    out = {}
    for name, ts in times.items():
        per_round = [t / b for t, b in zip(ts, base, strict=True)]
        out[name] = {
            "ratio": float(statistics.median(per_round)),
            "ratio_of_min_times": float(min(ts) / min(base)),
            "rounds": per_round,
            "median_s": float(statistics.median(ts)),
            "min_s": float(min(ts)),
        }
    return out
