"""Ray backend: each chunk of a sweep runs as one Ray task, on whichever node has room.

The driver submits every chunk of every variant at once, writes each one's rows to the store
(atomically) as soon as it comes back, and so keeps the store's resume guarantees. A task
receives the spec's canonical dict and its ``ChunkTask``, rebuilds the config on its worker
(the config of a spec is deterministic) and runs the same compiled ``jit(vmap(train))`` as the
local backend (with its live callbacks on), so the numbers are the same.

Progress streams back: the worker's live callbacks (one per run and training segment) are
buffered and sent to a small progress actor (no CPU reserved) about twice a second, and
synchronously when the chunk ends; the driver drains the actor while it waits and hands each
``(variant, run, segment, metrics)`` to ``on_segment``: the same messages a local chunk's
``live_logging.Monitor`` receives, so progress bars and TensorBoard / W&B logs work alike.

Ray is optional (``pip install "jaxrl_rewards[ray]"``); on one machine the local backend needs
nothing beyond JAX.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jaxrl_rewards.agents import get_agent
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments import live_logging
from jaxrl_rewards.experiments.backends.local import execute_chunk
from jaxrl_rewards.experiments.spec import check_params, spec_from_dict, variant_config

#: ``(variant, run, segment, metrics)`` of one run's training segment, on the driver.
SegmentCallback = Callable[[str, int, int, Mapping[str, np.ndarray]], None]


class ProgressInbox:
    """The progress actor's class: a list of messages the workers append to and the driver
    takes (``ray.remote(num_cpus=0)`` of it runs on the head node)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, int, int, dict[str, np.ndarray]]] = []

    def put(self, messages: list[tuple[str, int, int, dict[str, np.ndarray]]]) -> int:
        """Append ``messages``; returns how many are waiting."""
        self.messages.extend(messages)
        return len(self.messages)

    def take(self) -> list[tuple[str, int, int, dict[str, np.ndarray]]]:
        """Everything received so far (and forget it)."""
        messages, self.messages = self.messages, []
        return messages


class _Forward:
    """The worker's active ``live_logging`` monitor: buffers each run's segment metrics and
    sends them to the inbox at most every ``every_s`` seconds; ``flush`` (at the end of the
    chunk) waits until the inbox has everything."""

    def __init__(self, inbox: Any, variant: str, every_s: float = 0.5) -> None:
        self.inbox, self.variant, self.every_s = inbox, variant, every_s
        self.buffer: list[tuple[str, int, int, dict[str, np.ndarray]]] = []
        self.sent = time.monotonic()

    def __call__(self, run: int, segment: int, metrics: Mapping[str, np.ndarray]) -> None:
        self.buffer.append((self.variant, run, segment, {k: np.asarray(v) for k, v in metrics.items()}))
        if time.monotonic() - self.sent > self.every_s:
            self.inbox.put.remote(self.buffer)  # calls from one worker run in order
            self.buffer, self.sent = [], time.monotonic()

    def flush(self) -> None:
        import ray

        ray.get(self.inbox.put.remote(self.buffer))
        self.buffer = []


def _execute(spec_dict: dict[str, Any], task: Any, shard: bool, inbox: Any = None) -> tuple[pd.DataFrame, str]:
    import ray

    spec = spec_from_dict(spec_dict)
    variant = next(v for v in spec.variants if v.label == task.variant)
    config = variant_config(spec, variant)
    dtypes = check_params(spec, config, variant.label)
    agent = get_agent(spec.agent)
    node = ray.get_runtime_context().get_node_id()
    if inbox is None:
        return execute_chunk(agent, config, dtypes, task, shard=shard, live=True), node
    with live_logging.active(_Forward(inbox, task.variant)):
        return execute_chunk(agent, config, dtypes, task, shard=shard, live=True), node


def ensure_ray(address: str | None = None, init_kwargs: Mapping[str, Any] | None = None) -> Any:
    """Import Ray and connect (``address``: an existing cluster, e.g. ``"auto"``; default: start
    a local one). Reuses an existing connection."""
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError('the Ray backend needs ray: pip install "jaxrl_rewards[ray]"') from None
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, **dict(init_kwargs or {})}
        ray.init(address=address, **kwargs)
    return ray


def worker_slots(address: str | None = None, init_kwargs: Mapping[str, Any] | None = None,
                 num_cpus: float = 1, num_gpus: float = 0) -> int:  # fmt: skip
    """How many chunk tasks the cluster runs at once: its CPUs / ``num_cpus`` (and GPUs /
    ``num_gpus`` when tasks take GPUs), at least 1. Connects like ``ensure_ray``."""
    resources = ensure_ray(address, init_kwargs).cluster_resources()
    slots = int(resources.get("CPU", 1) // num_cpus) if num_cpus else 1 << 30
    if num_gpus:
        slots = min(slots, int(resources.get("GPU", 0) // num_gpus))
    return max(1, slots)


def spread_chunk_size(num_runs: int, slots: int) -> int:
    """The largest chunk size that still gives each of ``slots`` workers a chunk of a sweep
    of ``num_runs`` runs: ``floor(num_runs / slots)`` (at least 1), so ``ceil(num_runs / size)
    >= min(num_runs, slots)`` chunks.

    >>> spread_chunk_size(8, 2), spread_chunk_size(9, 2), spread_chunk_size(3, 8)
    (4, 4, 1)
    """
    return max(1, num_runs // max(1, slots))


def run_tasks(
    spec: Any,
    tasks: Sequence[Any],
    finish: Callable[[Any, pd.DataFrame], None],
    *,
    address: str | None = None,
    shard: bool = True,
    init_kwargs: Mapping[str, Any] | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    on_segment: SegmentCallback | None = None,
    poll_s: float = 0.25,
) -> dict[str, int]:
    """Submit all ``tasks`` (``backends.local.ChunkTask``, of any variants) as Ray tasks at
    once and call ``finish(task, rows)`` on the driver for each, in completion order; while
    waiting, hand streamed segment metrics to ``on_segment`` (every message of a chunk arrives
    before its ``finish``). Returns node id -> number of chunks it ran."""
    if not tasks:
        return {}
    ray = ensure_ray(address, init_kwargs)
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=1)(_execute)
    inbox = ray.remote(num_cpus=0)(ProgressInbox).remote() if on_segment is not None else None
    spec_ref = ray.put(spec.to_dict())
    pending = {remote.remote(spec_ref, task, shard, inbox): task for task in tasks}
    nodes: dict[str, int] = {}

    def drain() -> None:
        if inbox is not None:
            for message in ray.get(inbox.take.remote()):
                on_segment(*message)

    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=poll_s)
            drain()
            for ref in done:
                rows, node = ray.get(ref)
                nodes[node] = nodes.get(node, 0) + 1
                finish(pending.pop(ref), rows)
    finally:
        if inbox is not None:
            ray.kill(inbox)
    return nodes


__all__ = ["ProgressInbox", "SegmentCallback", "ensure_ray", "run_tasks", "spread_chunk_size", "worker_slots"]
