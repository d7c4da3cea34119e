"""Ray backend: each chunk of a sweep runs as one Ray task, on whichever node has room.

The driver submits the chunks, writes each one's rows to the store (atomically) as soon as it
comes back, and so keeps the store's resume guarantees. A task receives the spec's canonical
dict and its ``ChunkTask``, rebuilds the config on its worker (the config of a spec is
deterministic) and runs the same compiled ``jit(vmap(train))`` as the local backend, so the
numbers are the same. Ray is optional (``pip install "jaxrl_rewards[ray]"``); on one machine
the local backend needs nothing beyond JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from jaxrl_rewards.agents import get_agent
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.backends.local import execute_chunk
from jaxrl_rewards.experiments.spec import check_params, spec_from_dict, variant_config


def _execute(spec_dict: dict[str, Any], task: Any, shard: bool) -> pd.DataFrame:

    spec = spec_from_dict(spec_dict)
    variant = next(v for v in spec.variants if v.label == task.variant)
    config = variant_config(spec, variant)
    dtypes = check_params(spec, config, variant.label)
    return execute_chunk(get_agent(spec.agent), config, dtypes, task, shard=shard)


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
) -> None:
    """Run ``tasks`` (``backends.local.ChunkTask``) as Ray tasks and call ``finish(task, rows)``
    on the driver for each, in completion order."""
    if not tasks:
        return
    ray = ensure_ray(address, init_kwargs)
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=1)(_execute)
    spec_dict = spec.to_dict()
    spec_ref = ray.put(spec_dict)
    pending = {remote.remote(spec_ref, task, shard): task for task in tasks}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            finish(pending.pop(ref), ray.get(ref))


__all__ = ["ensure_ray", "run_tasks"]
