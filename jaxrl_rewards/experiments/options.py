"""Agent configs from options, as the CLI's ``--set`` and a sweep spec's ``[config]`` give them.

Plain names (``learning_rate``, ``num_envs``) are ``make_config`` options; dotted config paths
(``transform.lagrangian.limits``, ``env_params.gravity``; ``experiments.paths``) replace leaves
of the built config, which is then validated again:

>>> from jaxrl_rewards.agents import ppo
>>> from jaxrl_rewards.transforms.registry import build_transforms
>>> env, params = make_env("CartPole-v1", {})
>>> options = {"num_envs": 2, "transform": build_transforms(["scale:factor=1.0"]), "transform.scale.factor": 0.5}
>>> config = configure(ppo, env, params, "CartPole-v1", options)
>>> config.num_envs, config.transform.transforms[0].factor
(2, 0.5)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from jaxrl_rewards.core.validation import ConfigError, close_matches
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.paths import leaf_paths, set_leaves


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@functools.lru_cache(maxsize=64)
def _cached_env(name: str, frozen_options: tuple) -> tuple[Any, Any]:

    return make(name, **dict(frozen_options))


def make_env(name: str, options: Mapping[str, Any]) -> tuple[Any, Any]:
    """``envs.make`` with a per-process cache: the same name and options give the same env
    object, so configs built twice share one compiled program (static fields compare equal)."""
    try:
        return _cached_env(name, _freeze(options))
    except TypeError:  # unhashable options
        return make(name, **options)


def flatten_options(options: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"transform": {"scale": {"factor": 1}}}`` (TOML's unquoted dotted keys) ->
    ``{"transform.scale.factor": 1}``; agent options are never tables, so every table nests a path."""
    out = {}
    for key, value in options.items():
        if isinstance(value, Mapping):
            out.update(flatten_options(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def configure(
    agent: ModuleType, env: Any, env_params: Any, env_name: str, options: Mapping[str, Any], where: str = "[config]"
) -> Any:
    """An agent config from options of two kinds: plain names are ``make_config`` options (on
    top of the agent's preset for ``env_name``); dotted config paths (``transform.lagrangian.limits``,
    ``env_params.gravity``, see ``experiments.paths``) then replace leaves of the built config,
    which is validated again. The CLI's ``--set`` and a spec's ``[config]`` both come here.

    Raises ``ConfigError`` (``ValueError``/``TypeError`` of ``make_config`` included); a
    misspelled option name or path gets close matches, ``where`` names the source in messages."""
    flat = flatten_options(options)
    plain = {k: v for k, v in flat.items() if "." not in k}
    dotted = {k: v for k, v in flat.items() if "." in k}
    preset = getattr(agent, "PRESETS", {}).get(env_name, {})
    try:
        config = agent.make_config(env, env_params, env_name=env_name, **{**preset, **plain})
    except (ValueError, TypeError) as err:
        _check_option_names(agent, env, env_params, env_name, plain)
        raise ConfigError(str(err)) from None
    _check_scalar_options(config, plain, where)
    if dotted:
        try:
            config = agent.validate(set_leaves(config, dotted, where))
        except (ValueError, TypeError) as err:
            raise ConfigError(str(err)) from None
    return config


def _check_scalar_options(config: Any, plain: Mapping[str, Any], where: str) -> None:
    """``ConfigError`` naming the option if a hyperparameter leaf with a scalar default
    (``learning_rate``, ``gamma``...) was given a list, array or other non-scalar value:
    ``learning_rate=[0.1]`` would otherwise become a list of tracers when the run compiles.
    Checked on the concrete values, before anything traces. Static settings (tuples such as
    ``hidden_sizes``) are not leaves and are left to ``make_config``."""
    fields = getattr(config, "__dataclass_fields__", {})
    for key, value in plain.items():
        spec = fields.get(key)
        if spec is None or not spec.metadata.get("pytree_node", True):
            continue
        default = spec.default
        if isinstance(default, bool) or not isinstance(default, (int, float, np.number)):
            continue
        if isinstance(value, (str, bool, Mapping)) or np.ndim(value) != 0:
            raise ConfigError(
                f"{where} {key}: expected a single number (its default is {default!r}), got {value!r} "
                f"({type(value).__name__}); to sweep values, list them in a spec's [params]"
            )


def _check_option_names(agent: ModuleType, env: Any, env_params: Any, env_name: str, plain: Mapping[str, Any]) -> None:
    """After ``make_config`` failed: ``ConfigError`` with close matches if an option name is
    not a field of the agent's config (the error then lists the options and the leaf paths)."""
    preset = getattr(agent, "PRESETS", {}).get(env_name, {})
    try:
        base = agent.make_config(env, env_params, env_name=env_name, **preset)
    except (ValueError, TypeError):
        return
    options = sorted(set(base.__dataclass_fields__) - {"env", "env_params"})
    paths = leaf_paths(base)
    for key in plain:
        if key not in options:
            near = close_matches(key, sorted({*options, *paths}))
            raise ConfigError(f"unknown option {key!r}{near}; agent options: {options}; leaf paths: {paths}")


__all__ = ["configure", "flatten_options", "make_env"]
