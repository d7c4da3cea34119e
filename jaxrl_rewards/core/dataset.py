"""Offline datasets: a flat pytree of transitions, collected with any policy, stored as
``.npz`` arrays + JSON metadata (atomic writes), loaded with validation, sampled inside ``jit``.

A :class:`Dataset` holds ``M`` transitions (flattened from rollouts ``[T, N]`` to ``[M]``):
``obs [M, *obs_shape]``, ``action [M, *action_shape]``, ``reward [M]``, ``next_obs``,
``terminated [M]``, ``truncated [M]`` and ``source [M]`` (int32 label of the policy that
collected each transition, e.g. 0 = expert, 1 = random), plus static ``metadata`` (env name,
policy names, counts). It is a pytree, so it is passed into ``jit`` as an argument (never
closed over as a constant) and sampled there with explicit keys.

On disk a dataset is two files: ``<path>.npz`` (one array per field, ``numpy.savez``) and
``<path>.json`` (``{"format": "jaxrl_rewards.dataset", "version": 1, "size": M, "fields": ...,
"metadata": ...}``), both written atomically (``core.files``): a killed process leaves the
old pair or the new one.

>>> import numpy as np
>>> data = Dataset.from_arrays(obs=np.zeros((4, 2)), action=np.arange(4), reward=np.ones(4),
...                            next_obs=np.ones((4, 2)), terminated=np.zeros(4, bool))
>>> data.size, data.obs.shape, data.truncated.dtype
(4, (4, 2), dtype('bool'))
>>> sample(data, jax.random.key(0), 3).obs.shape
(3, 2)
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.files import atomic_write_bytes, atomic_write_text
from jaxrl_rewards.core.rollout import Policy, reset_envs, rollout
from jaxrl_rewards.core.types import Array, PRNGKey, Transition
from jaxrl_rewards.core.validation import ConfigError, check_positive_int, close_matches

#: fields every stored dataset must have (``source`` defaults to zeros when absent)
REQUIRED_FIELDS: tuple[str, ...] = ("obs", "action", "reward", "next_obs", "terminated")
#: every array field of a :class:`Dataset`, in order
FIELDS: tuple[str, ...] = (*REQUIRED_FIELDS, "truncated", "source")
FORMAT = "jaxrl_rewards.dataset"
VERSION = 1


class Dataset(struct.PyTreeNode):
    """``M`` flat transitions (see the module docstring for the fields and their shapes).

    Attributes:
        obs: ``[M, *obs_shape]``.
        action: ``[M, *action_shape]`` (int32 for discrete actions).
        reward: ``[M]`` float32.
        next_obs: ``[M, *obs_shape]``, the true next observation (final one on episode ends).
        terminated: ``[M]`` bool, no bootstrapping from ``next_obs``.
        truncated: ``[M]`` bool, cut by a time limit.
        source: ``[M]`` int32 label of the collecting policy (``metadata["sources"]`` names them).
        metadata: static dict of JSON-serialisable facts (env, sources, counts).
    """

    obs: Array
    action: Array
    reward: Array
    next_obs: Array
    terminated: Array
    truncated: Array
    source: Array
    metadata: dict[str, Any] = struct.field(pytree_node=False, default_factory=dict)

    @property
    def size(self) -> int:
        """Number of transitions ``M``."""
        return int(self.reward.shape[0])

    @classmethod
    def from_arrays(cls, metadata: dict[str, Any] | None = None, **arrays: Any) -> Dataset:
        """Build and check a dataset from arrays (``truncated`` and ``source`` default to
        zeros); ``ConfigError`` on missing/unknown fields or mismatched leading sizes."""
        return _build(arrays, dict(metadata or {}), where="Dataset.from_arrays")

    @classmethod
    def from_transitions(cls, batch: Transition, source: int = 0, metadata: dict[str, Any] | None = None) -> Dataset:
        """Flatten a time-major ``Transition`` ``[T, N, ...]`` to ``[T * N]`` transitions, all
        labelled ``source``. ``info`` is dropped."""

        def flat(x):
            x = jnp.asarray(x)
            return x.reshape((-1, *x.shape[2:]))

        size = int(np.prod(batch.reward.shape[:2]))
        return cls.from_arrays(
            metadata=metadata,
            obs=flat(batch.obs),
            action=flat(batch.action),
            reward=flat(batch.reward),
            next_obs=flat(batch.next_obs),
            terminated=flat(batch.terminated),
            truncated=flat(batch.truncated),
            source=jnp.full((size,), source, jnp.int32),
        )


def _build(arrays: dict[str, Any], metadata: dict[str, Any], where: str) -> Dataset:
    missing = [f for f in REQUIRED_FIELDS if f not in arrays]
    if missing:
        raise ConfigError(f"{where}: dataset is missing field(s) {missing}; required fields: {list(REQUIRED_FIELDS)}")
    unknown = [f for f in arrays if f not in FIELDS]
    if unknown:
        hint = close_matches(unknown[0], FIELDS)
        raise ConfigError(f"{where}: unknown dataset field(s) {unknown}{hint}; valid fields: {list(FIELDS)}")
    size = int(np.shape(arrays["reward"])[0]) if np.ndim(arrays["reward"]) else -1
    if size <= 0:
        raise ConfigError(f"{where}: 'reward' must be a non-empty [M] array, got shape {np.shape(arrays['reward'])}")
    for name in FIELDS:
        if name in arrays and (np.ndim(arrays[name]) == 0 or np.shape(arrays[name])[0] != size):
            raise ConfigError(
                f"{where}: field {name!r} has shape {np.shape(arrays[name])}, expected leading size {size}"
            )
    for name in ("reward", "terminated", "truncated", "source"):
        if name in arrays and np.ndim(arrays[name]) != 1:
            raise ConfigError(f"{where}: field {name!r} must be [M], got shape {np.shape(arrays[name])}")
    if np.shape(arrays["obs"]) != np.shape(arrays["next_obs"]):
        raise ConfigError(
            f"{where}: 'obs' {np.shape(arrays['obs'])} and 'next_obs' {np.shape(arrays['next_obs'])} differ in shape"
        )
    action = jnp.asarray(arrays["action"])
    if jnp.issubdtype(action.dtype, jnp.integer):
        action = action.astype(jnp.int32)
    else:
        action = action.astype(jnp.float32)
    return Dataset(
        obs=jnp.asarray(arrays["obs"], jnp.float32),
        action=action,
        reward=jnp.asarray(arrays["reward"], jnp.float32),
        next_obs=jnp.asarray(arrays["next_obs"], jnp.float32),
        terminated=jnp.asarray(arrays["terminated"], bool),
        truncated=jnp.asarray(arrays.get("truncated", np.zeros(size, bool)), bool),
        source=jnp.asarray(arrays.get("source", np.zeros(size, np.int32)), jnp.int32),
        metadata=metadata,
    )


def collect(
    env: Any,
    env_params: Any,
    policy: Policy,
    key: PRNGKey,
    num_envs: int,
    num_steps: int,
    source: int = 0,
    metadata: dict[str, Any] | None = None,
) -> Dataset:
    """Roll out ``policy(key, obs [N, ...]) -> (action [N, ...], extras)`` in ``num_envs``
    environments for ``num_steps`` steps from fresh resets and return the ``M = num_envs *
    num_steps`` transitions as a dataset labelled ``source``. Any agent's policy works
    (``agents.offline_data`` builds expert, random and mixture policies)."""
    check_positive_int(num_envs, "num_envs")
    check_positive_int(num_steps, "num_steps")

    @jax.jit
    def run(k):
        reset_key, run_key = jax.random.split(k)
        carry = reset_envs(env, env_params, reset_key, num_envs)
        _, batch, _ = rollout(env, env_params, policy, carry, run_key, num_steps)
        return batch

    meta = {"num_envs": num_envs, "num_steps": num_steps, **dict(metadata or {})}
    return Dataset.from_transitions(run(key), source=source, metadata=meta)


def concatenate(*datasets: Dataset, metadata: dict[str, Any] | None = None) -> Dataset:
    """One dataset with the transitions of all ``datasets`` in order (sources kept).
    ``ConfigError`` if their observation or action shapes differ."""
    if not datasets:
        raise ConfigError("concatenate needs at least one dataset")
    first = datasets[0]
    for i, d in enumerate(datasets[1:], 1):
        for name in ("obs", "action"):
            a, b = getattr(first, name), getattr(d, name)
            if a.shape[1:] != b.shape[1:] or a.dtype != b.dtype:
                raise ConfigError(
                    f"concatenate: dataset {i} has {name} {b.shape[1:]} {b.dtype}, dataset 0 {a.shape[1:]} {a.dtype}"
                )
    arrays = {f: jnp.concatenate([getattr(d, f) for d in datasets]) for f in FIELDS}
    meta = dict(metadata) if metadata is not None else {"parts": [d.metadata for d in datasets]}
    return Dataset(**arrays, metadata=meta)


def subset(dataset: Dataset, count: int, key: PRNGKey | None = None) -> Dataset:
    """The first ``count`` transitions (or a random ``count`` without replacement with ``key``)."""
    check_positive_int(count, "count")
    if count > dataset.size:
        raise ConfigError(f"subset: count {count} exceeds the dataset size {dataset.size}")
    idx = jnp.arange(count) if key is None else jax.random.permutation(key, dataset.size)[:count]
    return dataset.replace(**{f: getattr(dataset, f)[idx] for f in FIELDS})


def sample(dataset: Dataset, key: PRNGKey, batch_size: int) -> Dataset:
    """``batch_size`` transitions drawn uniformly with replacement (jittable; ``batch_size``
    static). Returns a ``Dataset`` of size ``batch_size``."""
    idx = jax.random.randint(key, (batch_size,), 0, dataset.reward.shape[0])
    return dataset.replace(**{f: getattr(dataset, f)[idx] for f in FIELDS})


def save(dataset: Dataset, path: str | Path) -> tuple[Path, Path]:
    """Write ``<path>.npz`` and ``<path>.json`` atomically (``path`` without suffix, or with
    ``.npz``). Metadata must be JSON-serialisable. Returns both paths."""
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    buffer = io.BytesIO()
    np.savez(buffer, **{f: np.asarray(getattr(dataset, f)) for f in FIELDS})
    header = {
        "format": FORMAT,
        "version": VERSION,
        "size": dataset.size,
        "fields": {
            f: {"shape": list(np.shape(getattr(dataset, f))), "dtype": str(getattr(dataset, f).dtype)} for f in FIELDS
        },
        "metadata": dataset.metadata,
    }
    try:
        text = json.dumps(header, indent=2, sort_keys=True)
    except TypeError as err:
        raise ConfigError(f"save: dataset metadata is not JSON-serialisable: {err}") from err
    npz, meta = base.with_suffix(".npz"), base.with_suffix(".json")
    atomic_write_bytes(npz, buffer.getvalue())
    atomic_write_text(meta, text)
    return npz, meta


def load(path: str | Path) -> Dataset:
    """Read a dataset written by :func:`save` (``path`` with or without suffix) and check it:
    ``ConfigError`` for a missing file, a wrong format header, missing fields or mismatched
    sizes (the same checks as ``Dataset.from_arrays``)."""
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    npz, meta = base.with_suffix(".npz"), base.with_suffix(".json")
    for file in (npz, meta):
        if not file.exists():
            raise ConfigError(f"load: dataset file {str(file)!r} does not exist (a dataset is a .npz + .json pair)")
    header = json.loads(meta.read_text())
    if header.get("format") != FORMAT:
        raise ConfigError(f"load: {str(meta)!r} is not a {FORMAT} header (format={header.get('format')!r})")
    with np.load(npz) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    dataset = _build(data, dict(header.get("metadata", {})), where=f"load({str(npz)!r})")
    if dataset.size != header.get("size"):
        raise ConfigError(f"load: {str(npz)!r} holds {dataset.size} transitions, its header says {header.get('size')}")
    return dataset


def source_fractions(dataset: Dataset) -> dict[int, float]:
    """Fraction of transitions from each ``source`` label (host-side summary)."""
    labels, counts = np.unique(np.asarray(dataset.source), return_counts=True)
    return {int(label): float(c) / dataset.size for label, c in zip(labels, counts, strict=True)}


__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "Dataset",
    "collect",
    "concatenate",
    "load",
    "sample",
    "save",
    "source_fractions",
    "subset",
]
