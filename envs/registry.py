"""Name -> environment registry: ``make``, ``registered_envs``, ``env_info``, ``register``.

Covers gymnax's offline environments (under gymnax's own names, e.g. ``"CartPole-v1"``),
brax's environments (``"Ant-brax"``, ``"HalfCheetah-brax"``, ...) and ours
(``"SparseGridWorld-v0"``). Names are exact (case-sensitive); unknown names fail with a
list of close matches.

``make(name, **kwargs)`` sends a keyword to the environment's constructor when it is one
of that environment's constructor options (``backend`` for brax, ``size``/``obs_mode`` for
the grid world, gymnax constructor arguments such as ``DeepSea-bsuite``'s ``size``) and
otherwise treats it as a field of the default params to replace.

>>> env, params = make("CartPole-v1", max_steps_in_episode=200)  # a params field
>>> type(env).__name__, int(params.max_steps_in_episode)
('CartPole', 200)
>>> env, params = make("SparseGridWorld-v0", size=5)  # a constructor option
>>> env.size
5
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
from collections.abc import Callable
from typing import Any

import gymnax
import jax.numpy as jnp

from . import constrained, exploration, multi_objective, proxy
from .base import Environment, EnvParams, spaces
from .gridworld import SparseGridWorld

EnvFactory = Callable[..., tuple[Environment, EnvParams]]

__all__ = [
    "BRAX_ENV_NAMES",
    "UnavailableEnvironmentError",
    "UnknownEnvironmentError",
    "env_info",
    "make",
    "register",
    "registered_envs",
    "unregister",
]


class UnknownEnvironmentError(ValueError):
    """Raised by :func:`make` for a name that is not registered."""


class UnavailableEnvironmentError(ValueError):
    """Raised by :func:`make` for a known environment that cannot be built here."""


@dataclasses.dataclass(frozen=True)
class _Entry:
    """A registry entry: ``factory(**constructor_options) -> (env, default_params)``."""

    factory: EnvFactory
    family: str
    description: str
    options: Callable[[], tuple[str, ...]]


_REGISTRY: dict[str, _Entry] = {}
_BUILTIN_NAMES: set[str] = set()

_UNAVAILABLE: dict[str, str] = {
    "MNISTBandit-bsuite": (
        "'MNISTBandit-bsuite' is not available in jaxrl_rewards: gymnax builds it by "
        "downloading the MNIST dataset at construction time, and jaxrl_rewards only "
        "registers environments that work offline. With network access use "
        "gymnax.make('MNISTBandit-bsuite') directly."
    ),
}


def _jax_clip_accepts_a_min() -> bool:
    try:
        return "a_min" in inspect.signature(jnp.clip).parameters
    except (TypeError, ValueError):
        return False


if not _jax_clip_accepts_a_min():
    _UNAVAILABLE["Swimmer-brax"] = (
        "'Swimmer-brax' is not available with the installed JAX: brax's swimmer only "
        "supports the 'generalized' backend, whose fluid model calls "
        "jnp.clip(..., a_min=...), an argument recent JAX versions removed, so its step "
        "fails to trace. 'Swimmer-misc' (gymnax) is a working planar swimmer."
    )

_GYMNAX_DESCRIPTIONS: dict[str, str] = {
    "CartPole-v1": "Balance a pole on a cart by pushing it left or right (+1 per step).",
    "Pendulum-v1": "Swing up and hold a torque-limited pendulum (continuous torque).",
    "Acrobot-v1": "Swing the tip of a two-link underactuated arm above a line.",
    "MountainCar-v0": "Drive an underpowered car up a hill by building momentum.",
    "MountainCarContinuous-v0": "Mountain car with a continuous, energy-penalised force.",
    "Asterix-MinAtar": "MinAtar Asterix: collect treasure, dodge enemies (10x10 grid).",
    "Breakout-MinAtar": "MinAtar Breakout: bounce a ball to clear rows of bricks.",
    "Freeway-MinAtar": "MinAtar Freeway: cross a road of moving cars, many times.",
    "Seaquest-MinAtar": "MinAtar Seaquest: submarine shooting, rescuing divers, oxygen.",
    "SpaceInvaders-MinAtar": "MinAtar Space Invaders: shoot down a descending alien fleet.",
    "Catch-bsuite": "bsuite Catch: move a paddle to catch a falling ball (+1/-1 at end).",
    "DeepSea-bsuite": "bsuite Deep Sea: hard-exploration chain with a distant reward.",
    "MemoryChain-bsuite": "bsuite Memory Chain: recall a context bit after a delay.",
    "UmbrellaChain-bsuite": "bsuite Umbrella Chain: long-horizon credit assignment.",
    "DiscountingChain-bsuite": "bsuite Discounting Chain: rewards at varied delays.",
    "SimpleBandit-bsuite": "bsuite simple bandit: pick the best of fixed-reward arms.",
    "FourRooms-misc": "Sutton's four-rooms grid navigation to a goal cell.",
    "MetaMaze-misc": "Partially observed maze with a hidden goal (meta-RL).",
    "PointRobot-misc": "2D point robot seeks a goal on a semicircle (meta-RL, continuous).",
    "BernoulliBandit-misc": "Two-armed Bernoulli bandit resampled per episode (meta-RL).",
    "GaussianBandit-misc": "Two-armed Gaussian bandit, one arm resampled (meta-RL).",
    "Reacher-misc": "Planar multi-joint arm reaching a target (continuous torques).",
    "Swimmer-misc": "2D point swimmer seeks a goal while avoiding urchins (continuous).",
    "Pong-misc": "Pixel Pong-like game: keep the ball in play (+1 per step).",
    "FrozenLake-misc": "Frozen Lake grid: reach the goal without falling in holes.",
}

#: Our brax names -> (brax registry key, description).
BRAX_ENV_NAMES: dict[str, tuple[str, str]] = {
    "Ant-brax": ("ant", "Four-legged ant: run forward (8 joint torques)."),
    "HalfCheetah-brax": ("halfcheetah", "Planar cheetah: run forward (6 joint torques)."),
    "Hopper-brax": ("hopper", "Planar one-legged hopper: hop forward without falling."),
    "Humanoid-brax": ("humanoid", "3D humanoid: walk forward without falling."),
    "HumanoidStandup-brax": ("humanoidstandup", "3D humanoid: stand up from lying down."),
    "InvertedPendulum-brax": ("inverted_pendulum", "Cart-pole with continuous force."),
    "InvertedDoublePendulum-brax": (
        "inverted_double_pendulum",
        "Balance a two-link pole on a cart with continuous force.",
    ),
    "Pusher-brax": ("pusher", "Arm pushes an object to a target location."),
    "Reacher-brax": ("reacher", "Two-joint arm reaches a random target."),
    "Swimmer-brax": ("swimmer", "Three-link swimmer moves forward in a viscous fluid."),
    "Walker2d-brax": ("walker2d", "Planar biped: walk forward without falling."),
}


def _keyword_options(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Names of ``fn``'s keyword-capable parameters (``self``, ``*args``, ``**kw`` excluded)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in parameters if p.kind in kinds and p.name != "self")


# ----- built-in families -------------------------------------------------------------


def _gymnax_factory(name: str) -> EnvFactory:
    def factory(**env_kwargs: Any) -> tuple[Environment, EnvParams]:
        return gymnax.make(name, **env_kwargs)

    return factory


def _gymnax_options(name: str) -> Callable[[], tuple[str, ...]]:
    @functools.cache
    def options() -> tuple[str, ...]:
        env, _ = gymnax.make(name)
        return _keyword_options(type(env).__init__)

    return options


def _brax_factory(brax_name: str, display_name: str) -> EnvFactory:
    def factory(**env_kwargs: Any) -> tuple[Environment, EnvParams]:
        from .brax_adapter import BraxEnv  # brax/mujoco import is slow: defer it

        env = BraxEnv(brax_name, name=display_name, **env_kwargs)
        return env, env.default_params

    return factory


def _brax_options(brax_name: str) -> Callable[[], tuple[str, ...]]:
    @functools.cache
    def options() -> tuple[str, ...]:
        import brax.envs

        names = _keyword_options(brax.envs._envs[brax_name].__init__)
        return ("backend", *(n for n in names if n != "backend"))

    return options


def _gridworld_factory(**env_kwargs: Any) -> tuple[Environment, EnvParams]:

    env = SparseGridWorld(**{"size": 8, **env_kwargs})
    return env, env.default_params


#: Family packages of our own environments. Each defines ``ENVIRONMENTS: dict[str, tuple[factory,
#: description]]`` where ``factory(**options) -> (env, default_params)``; its keyword
#: parameters become ``make`` constructor options. They must not import this module.
OWN_ENV_MODULES = (multi_objective, constrained, exploration, proxy)


def _add(name: str, entry: _Entry) -> None:
    if name in _REGISTRY or name in _UNAVAILABLE:
        raise ValueError(f"environment {name!r} is already registered")
    _REGISTRY[name] = entry


def _register_builtins() -> None:
    for name in list(gymnax.registered_envs):
        if name in _UNAVAILABLE:
            continue
        description = _GYMNAX_DESCRIPTIONS.get(name, f"gymnax environment {name}.")
        _add(name, _Entry(_gymnax_factory(name), "gymnax", description, _gymnax_options(name)))
    for name, (brax_name, description) in BRAX_ENV_NAMES.items():
        if name in _UNAVAILABLE:
            continue
        entry = _Entry(_brax_factory(brax_name, name), "brax", description, _brax_options(brax_name))
        _add(name, entry)
    _add(
        "SparseGridWorld-v0",
        _Entry(
            _gridworld_factory,
            "jaxrl_rewards",
            "8x8 grid, start top-left, single +1 goal bottom-right (sparse reward).",
            lambda: ("size", "obs_mode"),
        ),
    )
    for module in OWN_ENV_MODULES:
        for name, (factory, description) in module.ENVIRONMENTS.items():
            _add(name, _Entry(factory, "jaxrl_rewards", description, functools.partial(_keyword_options, factory)))
    _BUILTIN_NAMES.update(_REGISTRY)


_register_builtins()


# ----- public API --------------------------------------------------------------------


def registered_envs() -> list[str]:
    """All names :func:`make` accepts: gymnax, then brax, then ours, then user-registered."""
    return list(_REGISTRY)


def register(
    name: str,
    factory: EnvFactory,
    *,
    description: str = "",
    family: str = "user",
) -> None:
    """Register ``factory() -> (env, default_params)`` under ``name``.

    Keyword parameters of ``factory`` become constructor options of :func:`make`.

    Raises:
        ValueError: ``name`` is empty or already registered.
        TypeError: ``name`` is not a string or ``factory`` is not callable.
    """
    if not isinstance(name, str):
        raise TypeError(f"environment name must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("environment name must not be empty")
    if not callable(factory):
        raise TypeError("factory must be callable and return (env, params)")
    options = _keyword_options(factory)
    _add(name, _Entry(factory, family, description, lambda: options))


def unregister(name: str) -> None:
    """Remove a user-registered environment (built-ins cannot be removed)."""
    if name in _BUILTIN_NAMES:
        raise ValueError(f"{name!r} is built in and cannot be unregistered")
    _entry(name)
    del _REGISTRY[name]
    env_info.cache_clear()


def _entry(name: str) -> _Entry:
    if name in _UNAVAILABLE:
        raise UnavailableEnvironmentError(_UNAVAILABLE[name])
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEnvironmentError(_unknown_message(name)) from None


def _unknown_message(name: str) -> str:
    names = [*_REGISTRY, *_UNAVAILABLE]
    by_lower = {n.lower(): n for n in names}
    matches = difflib.get_close_matches(str(name).lower(), list(by_lower), n=3, cutoff=0.6)
    hint = "Did you mean: " + ", ".join(repr(by_lower[m]) for m in matches) + "?" if matches else "No close matches."
    return (
        f"unknown environment {name!r}. {hint} "
        "See jaxrl_rewards.envs.registered_envs() or `jaxrl-rewards list` for all names."
    )


def make(name: str, **kwargs: Any) -> tuple[Environment, EnvParams]:
    """Build environment ``name``; returns ``(env, params)``.

    Keywords that are constructor options of ``name`` go to its constructor; all others
    replace fields of its default params (``params.replace(**overrides)``).

    Raises:
        UnknownEnvironmentError: ``name`` is not registered (message lists close matches).
        UnavailableEnvironmentError: ``name`` is known but cannot be built here.
        ValueError: a keyword is neither a constructor option nor a params field.
    """
    entry = _entry(name)
    options = entry.options()
    env_kwargs = {k: v for k, v in kwargs.items() if k in options}
    overrides = {k: v for k, v in kwargs.items() if k not in options}
    env, params = entry.factory(**env_kwargs)
    if not all(hasattr(env, attr) for attr in ("reset", "step", "default_params")):
        raise TypeError(f"factory of {name!r} must return (env, params), got {type(env)!r}")
    if overrides:
        fields = [f.name for f in dataclasses.fields(params)]
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for {name!r}. Valid params fields: "
                f"{fields}; constructor options: {list(options)}."
            )
        params = params.replace(**overrides)
    return env, params


def _space_summary(space: Any) -> tuple[str, tuple[int, ...] | None, int | None]:
    """``(kind, shape, num_actions)`` of an action space."""
    if isinstance(space, spaces.Discrete):
        return "discrete", (), int(space.n)
    if isinstance(space, spaces.Box):
        return "continuous", tuple(space.shape), None
    return type(space).__name__.lower(), getattr(space, "shape", None), None


@functools.cache
def env_info(name: str, build_brax: bool = True) -> dict[str, Any]:
    """Summary of ``name`` for listings (builds the env once; cached).

    Returns a dict with ``name``, ``family`` (``"gymnax"``/``"brax"``/``"jaxrl_rewards"``/
    ``"user"``), ``action_kind`` (``"discrete"``/``"continuous"``), ``action_shape``,
    ``num_actions`` (discrete only, else None), ``obs_shape``, ``max_steps_in_episode``
    and a one-line ``description``. With ``build_brax=False`` a brax env is not built (brax and
    MuJoCo take seconds to import and print warnings): its spaces are ``None``.
    """
    entry = _entry(name)
    if entry.family == "brax" and not build_brax:
        return {"name": name, "family": "brax", "action_kind": "continuous", "action_shape": None,
                "num_actions": None, "obs_shape": None, "max_steps_in_episode": None,
                "description": entry.description}  # fmt: skip
    env, params = make(name)
    kind, action_shape, num_actions = _space_summary(env.action_space(params))
    max_steps = getattr(params, "max_steps_in_episode", None)
    return {
        "name": name,
        "family": entry.family,
        "action_kind": kind,
        "action_shape": action_shape,
        "num_actions": num_actions,
        "obs_shape": tuple(env.observation_space(params).shape),
        "max_steps_in_episode": None if max_steps is None else int(max_steps),
        "description": entry.description,
    }
