"""Quality diversity: the search configs (MAP-Elites, novelty search), their validation before
compiling, and the evaluation both searches share (package docstring)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.agents.config import static as _static
from jaxrl_rewards.agents.quality_diversity.policy import DESCRIPTORS, check_env, init_policy, rollout
from jaxrl_rewards.agents.quality_diversity.repertoire import Repertoire, cells_per_dim, init_repertoire
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_env_params,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
    close_matches,
)
from jaxrl_rewards.envs import make as make_env
from jaxrl_rewards.envs import registered_envs

# --------------------------------------------------------------------------- configs


class SearchConfig(struct.PyTreeNode):
    """Fields both searches share.

    Static: ``env``, ``env_name``, ``population_size`` (candidates evaluated per generation,
    and the initial population), ``num_generations``, ``num_cells_per_dim`` (the descriptor grid:
    MAP-Elites' repertoire, and the coverage metric of both), ``descriptor`` (a name in
    :data:`DESCRIPTORS`), ``hidden_sizes`` (``()``: linear policy), ``horizon`` (steps per
    rollout). Leaves: ``env_params``, ``init_scale`` (initial weight scale, :func:`init_policy`),
    ``fitness_offset`` (QD-score offset, a lower bound of the return).
    """

    env: Any = struct.field(pytree_node=False)
    env_params: Any
    env_name: str = _static("")
    population_size: int = _static(64)
    num_generations: int = _static(50)
    num_cells_per_dim: tuple[int, ...] = _static((7, 7))
    descriptor: str = _static("final_position")
    hidden_sizes: tuple[int, ...] = _static((16,))
    horizon: int = _static(30)
    init_scale: Array | float = 1.0
    fitness_offset: Array | float = -30.0

    @property
    def descriptor_dim(self) -> int:
        """``D`` of :attr:`descriptor`."""
        return DESCRIPTORS[self.descriptor]

    @property
    def max_env_steps(self) -> int:
        """Upper bound of the run's env steps, ``(num_generations + 1) * population_size * horizon``."""
        return (self.num_generations + 1) * self.population_size * self.horizon

    def check_fields(self) -> None:
        """``ConfigError`` unless: ``population_size >= 2``; ``num_generations``, ``horizon``
        positive ints; ``hidden_sizes`` positive ints; ``num_cells_per_dim`` one int ``>= 1`` per
        descriptor dim; a known ``descriptor`` and a grid env exposing ``info["pos"]``; finite
        env params; ``init_scale > 0``; ``fitness_offset`` finite."""
        pop = self.population_size
        if isinstance(pop, bool) or not isinstance(pop, (int, np.integer)) or pop < 2:
            raise ConfigError(f"population_size must be an integer >= 2, got {pop!r}")
        check_positive_int(self.num_generations, "num_generations")
        check_positive_int(self.horizon, "horizon")
        if not isinstance(self.hidden_sizes, tuple) or any(
            isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in self.hidden_sizes
        ):
            raise ConfigError(f"hidden_sizes must be a tuple of positive ints (() = linear), got {self.hidden_sizes!r}")
        check_env_params(self.env_params)
        check_env(self.env, self.env_params, self.descriptor)
        cells_per_dim(self.num_cells_per_dim, self.descriptor_dim)
        check_positive(self.init_scale, "init_scale")
        check_finite(self.fitness_offset, "fitness_offset")


class MapElitesConfig(SearchConfig):
    """MAP-Elites: :class:`SearchConfig` plus the emitter's leaves ``iso_sigma`` (isotropic
    mutation std) and ``line_sigma`` (std of the step along the line to a second elite)."""

    iso_sigma: Array | float = 0.1
    line_sigma: Array | float = 0.1

    def check_fields(self) -> None:
        """Shared checks, plus ``iso_sigma >= 0`` and ``line_sigma >= 0``."""
        super().check_fields()
        check_nonnegative(self.iso_sigma, "iso_sigma")
        check_nonnegative(self.line_sigma, "line_sigma")


class NoveltyConfig(SearchConfig):
    """Novelty search: :class:`SearchConfig` plus static ``archive_size`` (ring-buffer capacity
    A), ``k`` (neighbours, ``k <= archive_size``), ``archive_add`` (most novel children added to
    the archive per generation, ``<= population_size``), and leaves ``sigma`` (Gaussian
    mutation std) and ``reward_weight`` (in ``[0, 1]``: selection score
    ``(1 - w) rank(novelty) + w rank(fitness)``)."""

    archive_size: int = _static(256)
    k: int = _static(8)
    archive_add: int = _static(8)
    sigma: Array | float = 0.1
    reward_weight: Array | float = 0.0

    def check_fields(self) -> None:
        """Shared checks, plus ``archive_size``, ``k``, ``archive_add`` positive ints,
        ``k <= archive_size``, ``archive_add <= min(population_size, archive_size)``,
        ``sigma >= 0``, ``reward_weight`` in ``[0, 1]``."""
        super().check_fields()
        for name in ("archive_size", "k", "archive_add"):
            check_positive_int(getattr(self, name), name)
        if self.k > self.archive_size:
            raise ConfigError(f"k={self.k} nearest neighbours cannot exceed archive_size={self.archive_size}")
        if self.archive_add > min(self.population_size, self.archive_size):
            raise ConfigError(
                f"archive_add={self.archive_add} must be <= population_size={self.population_size} and "
                f"archive_size={self.archive_size}"
            )
        check_nonnegative(self.sigma, "sigma")
        check_in_range(self.reward_weight, "reward_weight", 0.0, 1.0)


def validate(config: SearchConfig) -> SearchConfig:
    """Check ``config`` eagerly (``config.check_fields()``); returns it. Concrete leaves are checked
    element by element, tracers skipped; static fields are always checked (before compiling)."""
    if not isinstance(config, SearchConfig):
        raise ConfigError(f"expected a MapElitesConfig or NoveltyConfig, got {type(config).__name__}")
    config.check_fields()
    return config


def _make_config(cls: type, env: Any, env_params: Any, env_options: dict | None, overrides: dict) -> Any:
    fields = set(cls.__dataclass_fields__) - {"env", "env_params"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s) {unknown}; valid options: {sorted(fields)}")
    if isinstance(env, str):
        name = env
        if name not in registered_envs():
            raise ConfigError(
                f"unknown env {name!r}{close_matches(name, registered_envs())}; "
                "valid names: jaxrl_rewards.envs.registered_envs() "
                "(grid envs with info['pos'], e.g. 'DeceptiveMaze-v0')"
            )
        env, default_params = make_env(name, **(env_options or {}))
    elif hasattr(env, "reset") and hasattr(env, "step") and hasattr(env, "default_params"):
        name = getattr(env, "name", type(env).__name__)
        default_params = env.default_params
    else:
        raise ConfigError(f"env must be a registered environment name or an environment object, got {env!r}")
    params = default_params if env_params is None else env_params
    options = {"env_name": name, **overrides}
    if cls is NoveltyConfig and "archive_add" not in options:
        options["archive_add"] = min(8, options.get("population_size", 64))
    if "hidden_sizes" in options:
        options["hidden_sizes"] = tuple(options["hidden_sizes"])
    if "num_cells_per_dim" not in options and isinstance(getattr(env, "size", None), int):
        dim = DESCRIPTORS.get(options.get("descriptor", "final_position"), 2)
        options["num_cells_per_dim"] = (env.size, env.size, *((10,) if dim == 3 else ()))
    if "horizon" not in options and hasattr(params, "max_steps_in_episode"):
        options["horizon"] = int(params.max_steps_in_episode)
    if "fitness_offset" not in options and hasattr(env, "min_reward"):
        options["fitness_offset"] = float(options.get("horizon", 30)) * float(env.min_reward(params))
    elif "fitness_offset" not in options:
        options["fitness_offset"] = 0.0
    if "num_cells_per_dim" in options and np.ndim(options["num_cells_per_dim"]) == 0:
        dim = DESCRIPTORS.get(options.get("descriptor", "final_position"), 2)
        options["num_cells_per_dim"] = (options["num_cells_per_dim"],) * dim
    elif "num_cells_per_dim" in options:
        options["num_cells_per_dim"] = tuple(options["num_cells_per_dim"])
    return validate(cls(env=env, env_params=params, **options))


def make_map_elites_config(
    env: str | Any = "DeceptiveMaze-v0", env_params: Any = None, env_options: dict | None = None, **overrides: Any
) -> MapElitesConfig:
    """Build and validate a :class:`MapElitesConfig`.

    Args:
        env: a registered name (``ConfigError`` naming close matches if unknown) or an env object.
        env_params: environment parameters (default: the env's defaults).
        env_options: constructor options for a registered name (e.g. ``{"size": 7}``).
        **overrides: config fields. Defaults derived from the env: ``num_cells_per_dim = (size,
        size)`` (``final_position``; a third dim of 10 cells for ``final_position_visits``),
        ``horizon = max_steps_in_episode``, ``fitness_offset = horizon * env.min_reward(params)``
        (a lower bound of the return; 0 for an env without ``min_reward``).
    """
    return _make_config(MapElitesConfig, env, env_params, env_options, overrides)


def make_novelty_config(
    env: str | Any = "DeceptiveMaze-v0", env_params: Any = None, env_options: dict | None = None, **overrides: Any
) -> NoveltyConfig:
    """Build and validate a :class:`NoveltyConfig` (arguments as :func:`make_map_elites_config`;
    ``archive_add`` defaults to ``min(8, population_size)``)."""
    return _make_config(NoveltyConfig, env, env_params, env_options, overrides)


# --------------------------------------------------------------------------- shared evaluation


def _init_member(config: SearchConfig, key: PRNGKey, scale: Array | float) -> Any:
    """One policy (:func:`init_policy`) sized for ``config``'s env: flat observation in, one logit per action out."""
    obs_dim = int(np.prod(config.env.observation_space(config.env_params).shape))
    num_actions = int(config.env.action_space(config.env_params).n)
    return init_policy(key, obs_dim, num_actions, config.hidden_sizes, scale)


def random_population(config: SearchConfig, key: PRNGKey) -> Any:
    """``population_size`` random policies (:func:`init_policy` with ``init_scale``), leaves ``[B, ...]``."""
    keys = jax.random.split(key, config.population_size)
    return jax.vmap(lambda k: _init_member(config, k, config.init_scale))(keys)


def evaluate(config: SearchConfig, params: Any, key: PRNGKey) -> tuple[Array, Array, Array]:
    """:func:`rollout` of each of ``B`` policies (leaves ``[B, ...]``), one key each: returns
    ``(fitness [B], descriptors [B, D], env_steps [B])``."""
    batch = jnp.shape(jax.tree.leaves(params)[0])[0]
    keys = jax.random.split(key, batch)

    def one(p, k):
        return rollout(p, config.env, config.env_params, k, config.horizon, config.descriptor)

    return jax.vmap(one)(params, keys)


def empty_repertoire(config: SearchConfig) -> Repertoire:
    """An empty repertoire shaped for ``config``'s grid and policy (``fitness`` all ``-inf``)."""
    shapes = jax.eval_shape(lambda: _init_member(config, jax.random.key(0), 1.0))
    template = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    return init_repertoire(config.num_cells_per_dim, config.descriptor_dim, template)
