"""Sweep specifications: what to run, parsed from TOML (or a dict) and checked before compiling.

A spec names an agent, an environment, base agent options, a reward transform, seeds, a search
method and the swept parameters. Parameters are dotted config paths
(``jaxrl_rewards.experiments.paths``): ``learning_rate``, ``env_params.gravity``, and chain
members by name, ``transform.<member>.<field>`` (``transform.scale.factor``; a transform given
here is always a named chain, even of one). Transforms are TOML tables ``{name = ..., options}``
or, equivalently, strings of the CLI's ``-t`` syntax (``"scale:factor=0.5"``); see
``jaxrl_rewards.transforms.registry``. Example (``tests/test_sweep_spec.py`` runs it)::

    name = "lr"
    agent = "ppo"
    env = "CartPole-v1"
    seeds = 8                       # or [0, 3, 7]

    [[transform]]                   # chained in order; or transform = ["scale:factor=0.5", "normalize"]
    name = "scale"
    factor = 0.5
    [[transform]]
    name = "normalize"

    [config]                        # base agent options (static sizes and leaves alike)
    total_timesteps = 50_000
    "env_params.max_steps_in_episode" = 200   # dotted keys set any leaf (arrays too)

    [search]
    method = "random"               # grid | random | optuna
    num_samples = 16                # random / optuna: points to draw
    chunk_size = 16                 # runs per compiled call; default: fit memory
    objective = "eval/return/task"  # optuna: final value, mean over seeds
    direction = "maximize"

    [params]
    learning_rate = [1e-4, 3e-4]                                     # grid values / random choices
    "transform.scale.factor" = {low = 0.1, high = 1.0, log = true}   # random / optuna

    [variants."scale + normalize"]  # optional: structural alternatives, one compile each
    [variants."scale only"]         # (a variant without a transform uses the one above; the
                                    # top-level one runs too, as "base", unless a variant
                                    # repeats it; base = "name" names it, base = false drops it)
    [[variants."scale only".transform]]
    name = "scale"
    factor = 0.1

Every problem (unknown key or parameter, empty grid, wrong types, invalid values) raises
``ConfigError`` naming the offending key before anything is compiled. (Slightly over 400 lines:
the schema, its checks and its canonical form change together; building configs from options
lives in ``experiments.options``.)
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from jaxrl_rewards.agents import AGENTS, get_agent
from jaxrl_rewards.core.validation import ConfigError, close_matches
from jaxrl_rewards.experiments.checks import check_objective
from jaxrl_rewards.experiments.options import configure, flatten_options, make_env
from jaxrl_rewards.experiments.paths import batch_config, find_leaf
from jaxrl_rewards.transforms.registry import build_transforms, transform_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

METHODS = ("grid", "random", "optuna")
_TOP_KEYS = {
    "name", "agent", "env", "env_options", "seeds", "transform", "config", "search", "params", "variants", "base",
}  # fmt: skip
_SEARCH_KEYS = {
    "method",
    "num_samples",
    "chunk_size",
    "max_chunk_size",
    "points_per_chunk",
    "sample_seed",
    "objective",
    "direction",
}
_VARIANT_KEYS = {"transform", "config", "env_options"}


@dataclass(frozen=True)
class Variant:
    """One structural alternative of a sweep (its own compile): a transform (its tables
    ``{"name": ..., **options}``, chained in order) and option overrides."""

    label: str
    transform: tuple[Mapping[str, Any], ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    env_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification (see the module docstring for the TOML form).

    Attributes:
        name: label of the sweep.
        agent: agent name (``jaxrl_rewards.agents.AGENTS``).
        env: environment name; ``env_options`` go to ``envs.make``.
        seeds: the seeds every parameter point is trained with.
        variants: structural alternatives (transform, static options); at least one.
        method: ``grid``, ``random`` or ``optuna``.
        params: dotted path -> list of values (grid / choices) or ``{low, high, log}``.
        num_samples: points drawn by ``random`` / proposed by ``optuna``.
        chunk_size: runs (points x seeds) per compiled call; ``None`` = fit memory.
        max_chunk_size: upper bound of the automatic chunk size.
        points_per_chunk: ``optuna``: points proposed per chunk (from the finished ones).
        sample_seed: seed of the random / optuna samplers.
        objective / direction: what ``optuna`` optimises (final value, mean over seeds).
    """

    name: str
    agent: str = "ppo"
    env: str = "CartPole-v1"
    env_options: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    variants: tuple[Variant, ...] = (Variant("default"),)
    method: str = "grid"
    params: Mapping[str, Any] = field(default_factory=dict)
    num_samples: int = 0
    chunk_size: int | None = None
    max_chunk_size: int = 128
    points_per_chunk: int | None = None
    sample_seed: int = 0
    objective: str = "eval/return/task"
    direction: str = "maximize"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able canonical form (the input of ``from_dict`` and of the spec hash)."""
        return {
            "name": self.name,
            "agent": self.agent,
            "env": self.env,
            "env_options": dict(self.env_options),
            "seeds": list(self.seeds),
            "variants": {
                v.label: {
                    "transform": [dict(t) for t in v.transform],
                    "config": dict(v.config),
                    "env_options": dict(v.env_options),
                }
                for v in self.variants
            },
            "search": {
                "method": self.method,
                "num_samples": self.num_samples,
                "chunk_size": self.chunk_size,
                "max_chunk_size": self.max_chunk_size,
                "points_per_chunk": self.points_per_chunk,
                "sample_seed": self.sample_seed,
                "objective": self.objective,
                "direction": self.direction,
            },
            "params": {k: (dict(v) if isinstance(v, Mapping) else list(v)) for k, v in self.params.items()},
        }

    def fingerprint(self) -> str:
        """SHA-256 of the canonical form, excluding the chunk size (which only changes how the
        same runs are grouped): a resumed sweep must have the same fingerprint."""
        payload = self.to_dict()
        for key in ("chunk_size", "max_chunk_size"):
            payload["search"].pop(key)
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _type_error(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{key}: expected {expected}, got {value!r} ({type(value).__name__})")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {where}{key!r}{close_matches(key, sorted(allowed))}; valid keys: {sorted(allowed)}"
            )


def _transform_tables(value: Any, key: str) -> tuple[dict[str, Any], ...]:
    """A spec's ``transform``: one entry or a list of them, each a table ``{name = ...}``
    (``[[transform]]``) or a string in the CLI syntax; returned as tables."""
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, Mapping)) for v in value):
        raise _type_error(key, "a transform table {name = ...}, a 'name:key=value' string, or a list of them", value)
    tables = []
    for i, entry in enumerate(value):
        try:
            tables.append(transform_table(entry))
        except ConfigError as err:
            raise ConfigError(f"{key}[{i}]: {err}") from None
    return tuple(tables)


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _type_error(key, "a table", value)
    return dict(value)


def _check_param(key: str, value: Any, method: str) -> Any:
    where = f"params.{key}"
    if isinstance(value, Mapping):
        if method == "grid":
            raise ConfigError(f"{where}: a grid needs a list of values; ranges {{low, high}} need method random/optuna")
        if "choices" in value:
            _check_keys(value, {"choices"}, f"in {where}: ")
            return _check_param(key, value["choices"], "grid")
        _check_keys(value, {"low", "high", "log", "int"}, f"in {where}: ")
        if "low" not in value or "high" not in value:
            raise ConfigError(f"{where}: a range needs both low and high")
        low, high = value["low"], value["high"]
        if not (_is_number(low) and _is_number(high)):
            raise _type_error(where, "numeric low and high", value)
        if not low < high:
            raise ConfigError(f"{where}: low must be < high, got low={low}, high={high}")
        log = value.get("log", False)
        as_int = value.get("int", False)
        if not isinstance(log, bool) or not isinstance(as_int, bool):
            raise _type_error(where, "booleans for log / int", value)
        if log and low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got {low}")
        return {"low": low, "high": high, "log": log, "int": as_int}
    if not isinstance(value, (list, tuple)):
        raise _type_error(where, "a list of numbers or a {low, high} range", value)
    if not value:
        raise ConfigError(f"{where}: empty grid (give at least one value)")
    for item in value:
        if not _is_number(item):
            raise _type_error(where, "numbers only", item)
    return list(value)


def _with_base(raw: Mapping[str, Any], variants: list[Variant], base: Variant) -> list[Variant]:
    """The variants, led by the base configuration (top-level transform, config and env
    options) as a run of its own when the spec has a top-level transform that no variant
    repeats: named ``base`` or by ``base = "name"``; ``base = false`` leaves it out."""
    choice = raw.get("base", True)
    if not isinstance(choice, (bool, str)) or choice == "":
        raise _type_error("base", "true, false or a variant name", choice)
    same = any((v.transform, dict(v.config), dict(v.env_options)) ==
               (base.transform, dict(base.config), dict(base.env_options)) for v in variants)  # fmt: skip
    if choice is False or not raw.get("transform") or same:
        return variants
    label = "base" if choice is True else choice
    if any(v.label == label for v in variants):
        raise ConfigError(f"base: the base configuration's name {label!r} is also a variant's; name it with "
                          f"base = \"...\" or leave it out with base = false")  # fmt: skip
    return [replace(base, label=label), *variants]


def spec_from_dict(raw: Mapping[str, Any]) -> SweepSpec:
    """Build a ``SweepSpec`` from a parsed TOML table (or ``SweepSpec.to_dict()`` output);
    raises ``ConfigError`` naming the offending key."""
    raw = dict(raw)
    _check_keys(raw, _TOP_KEYS, "")
    name = raw.get("name", "sweep")
    if not isinstance(name, str) or not name:
        raise _type_error("name", "a non-empty string", name)
    agent = raw.get("agent", "ppo")

    if agent not in AGENTS:
        raise ConfigError(f"agent: unknown agent {agent!r}; available: {sorted(AGENTS)}")
    env = raw.get("env", "CartPole-v1")
    if not isinstance(env, str):
        raise _type_error("env", "an environment name", env)
    seeds = raw.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list, tuple)):
        raise _type_error("seeds", "a count or a list of ints", seeds)
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"seeds: need at least one seed, got {seeds}")
        seeds = list(range(seeds))
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise _type_error("seeds", "a non-empty list of non-negative ints", seeds)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: duplicates in {seeds}")
    search = _table(raw.get("search", {}), "search")
    _check_keys(search, _SEARCH_KEYS, "in [search]: ")
    method = search.get("method", "grid")
    if method not in METHODS:
        raise ConfigError(f"search.method: {method!r} is not one of {list(METHODS)}")
    ints = {}
    for key, default, low in (
        ("num_samples", 0, 0),
        ("chunk_size", None, 1),
        ("max_chunk_size", 128, 1),
        ("points_per_chunk", None, 1),
        ("sample_seed", 0, 0),
    ):
        value = search.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise _type_error(f"search.{key}", f"an int >= {low}", value)
        ints[key] = value
    if method != "grid" and ints["num_samples"] < 1:
        raise ConfigError(f"search.num_samples: method {method!r} needs num_samples >= 1")
    objective = search.get("objective", "eval/return/task")
    direction = search.get("direction", "maximize")
    if not isinstance(objective, str):
        raise _type_error("search.objective", "a metric name", objective)
    if direction not in ("maximize", "minimize"):
        raise ConfigError(f"search.direction: must be 'maximize' or 'minimize', got {direction!r}")
    params = _table(raw.get("params", {}), "params")
    params = {str(k): _check_param(str(k), v, method) for k, v in params.items()}
    base_config = flatten_options(_table(raw.get("config", {}), "config"))
    base_env_options = _table(raw.get("env_options", {}), "env_options")
    base_transform = _transform_tables(raw.get("transform", []), "transform")
    variants_raw = _table(raw.get("variants", {}), "variants")
    variants = []
    for label, body in variants_raw.items():
        body = _table(body, f"variants.{label}")
        _check_keys(body, _VARIANT_KEYS, f"in [variants.{label}]: ")
        transform = body.get("transform")
        variants.append(
            Variant(
                label=str(label),
                transform=(
                    base_transform if transform is None else _transform_tables(transform, f"variants.{label}.transform")
                ),
                config={**base_config, **flatten_options(_table(body.get("config", {}), f"variants.{label}.config"))},
                env_options={
                    **base_env_options,
                    **_table(body.get("env_options", {}), f"variants.{label}.env_options"),
                },
            )
        )
    if not variants:
        variants = [Variant("default", base_transform, base_config, base_env_options)]
    else:
        variants = _with_base(raw, variants, Variant("base", base_transform, base_config, base_env_options))
    return SweepSpec(
        name=name,
        agent=agent,
        env=env,
        env_options={},
        seeds=tuple(seeds),
        variants=tuple(variants),
        method=method,
        params=params,
        objective=objective,
        direction=direction,
        **ints,
    )


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a TOML sweep spec (``ConfigError`` on problems, naming the key)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"sweep spec {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return spec_from_dict(raw)


# --------------------------------------------------------------------------- building configs


def variant_config(spec: SweepSpec, variant: Variant) -> Any:
    """The agent config of one variant (base options + variant overrides), validated."""

    agent = get_agent(spec.agent)
    try:
        env, params = make_env(spec.env, {**spec.env_options, **variant.env_options})
    except (ValueError, TypeError) as err:
        raise ConfigError(f"env: {err}") from None
    options = dict(variant.config)
    if variant.transform:
        options["transform"] = build_transforms(variant.transform)
    try:
        return configure(agent, env, params, spec.env, options)
    except ConfigError as err:
        raise ConfigError(f"config of variant {variant.label!r}: {err}") from None


def check_params(spec: SweepSpec, config: Any, label: str) -> dict[str, np.dtype]:
    """Check the swept paths against ``config``'s leaves and value types; returns path -> dtype.

    Paths are resolved by ``experiments.paths`` (canonical or index form). Raises
    ``ConfigError`` naming the key for unknown paths (with close matches and the valid
    paths), non-scalar or boolean leaves and non-integer values for integer leaves."""
    dtypes = {}
    for key, values in spec.params.items():
        where = f"params.{key}" if len(spec.variants) == 1 else f"params.{key} (variant {label!r})"
        leaf = find_leaf(config, key, where).value
        if np.ndim(leaf):
            raise ConfigError(
                f"{where}: only scalar leaves can be swept (shape {np.shape(leaf)}); set the whole array in [config] "
                "or the transform's table, or make one variant per value"
            )
        dtype = np.asarray(leaf).dtype
        if dtype == np.bool_:
            raise ConfigError(f"{where}: boolean leaves cannot be swept")
        if np.issubdtype(dtype, np.integer):
            candidates = values if isinstance(values, list) else [values["low"], values["high"]]
            if not all(float(v).is_integer() for v in candidates):
                raise ConfigError(f"{where}: integer parameter, got non-integer values {candidates}")
        dtypes[key] = dtype
    return dtypes


def check_spec(spec: SweepSpec) -> dict[str, tuple[Any, dict[str, np.dtype]]]:
    """Build every variant's config and check the swept parameters and their values (the
    agent's ``validate`` on the config batched with all grid values / range ends), before any
    compilation. Returns label -> (config, path dtypes)."""

    agent = get_agent(spec.agent)
    out = {}
    for variant in spec.variants:
        config = variant_config(spec, variant)
        dtypes = check_params(spec, config, variant.label)
        for key, values in spec.params.items():
            probe = values if isinstance(values, list) else [values["low"], values["high"]]
            batched, _ = batch_config(config, {key: np.asarray(probe, dtype=dtypes[key])})
            try:
                agent.validate(batched)
            except (ValueError, TypeError) as err:
                raise ConfigError(f"params.{key}: {err}") from None
        out[variant.label] = (config, dtypes)
    check_objective(spec, agent, out)
    return out


__all__ = [
    "METHODS",
    "SweepSpec",
    "Variant",
    "check_params",
    "check_spec",
    "load_spec",
    "make_env",
    "spec_from_dict",
    "variant_config",
]
