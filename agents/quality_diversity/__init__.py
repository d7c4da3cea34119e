"""Quality-diversity search in pure JAX: MAP-Elites and novelty search over small policy networks,
with the episode return as fitness and behaviour descriptors read from the trajectory.

Why not qdax: its current release (qdax 0.5.0 on PyPI) depends on jumanji, tensorflow-probability
and scikit-learn with version pins that conflict with this project's jax (0.10.2), so it cannot be
installed next to it. This module is written from scratch for this library (no qdax code): the
pieces are small, and as pure functions they ``jit``/``vmap`` like the rest of ``agents``.

Pieces (every function is pure; shapes: ``B`` candidates, ``C`` cells, ``D`` descriptor dims,
``A`` archive slots):

* Policy: an MLP ``obs -> logits [num_actions]`` (tanh hidden layers, ``hidden_sizes=()`` is
  linear) acting greedily, ``a = argmax(logits)``; params are a tuple of ``{"w", "b"}`` layers.
* :func:`rollout`: one episode of a policy (stops at the first ``terminated or truncated``, at
  most ``horizon`` steps) -> ``(episode return, descriptor [D], env steps used)``. Descriptors
  (``descriptor=``): ``"final_position"`` = final ``(x, y) = (col, row) / (size - 1)`` in
  ``[0, 1]^2`` (``D = 2``); ``"final_position_visits"`` adds the fraction of the grid's cells
  visited (``D = 3``). The env must expose ``info["pos"]`` (int ``[2]``, row and column) and
  ``size`` (``DeceptiveMaze-v0``, ``envs/exploration/deceptive_maze.py``).
* MAP-Elites (Mouret & Clune 2015): a grid repertoire (:func:`init_repertoire`, :func:`insert`:
  best fitness per cell), the iso+line-DD emitter (Vassiliades & Mouret 2018;
  :func:`iso_line_variation`, :func:`emit`), :func:`map_elites_step` and
  :func:`run_map_elites` (all generations in one ``lax.scan``).
* Novelty search (Lehman & Stanley 2011): a ring-buffer archive of descriptors,
  :func:`novelty` (mean distance to the ``k`` nearest neighbours among the archive and the rest of
  the population), (mu + lambda) selection on a rank mix of novelty and fitness
  (``reward_weight``: 0 = pure novelty, 1 = reward-greedy ES), :func:`run_novelty_search`.

Metrics per generation (both searches, so they compare directly): ``coverage`` (fraction of the
descriptor grid's cells filled by some evaluated policy), ``qd_score`` (``sum over filled cells of
max(f_c - fitness_offset, 0)``; ``fitness_offset`` is a lower bound of the return, default
``horizon * env.min_reward(params)``), ``best_fitness`` (best return evaluated so far),
``mean_fitness`` (of the generation's candidates) and ``env_steps`` (environment steps used so
far, initial population included; an episode that ends early costs only its length).

Configs are frozen pytrees (``flax.struct``): sizes, the env and switches are static; ``iso_sigma``,
``line_sigma``, ``sigma``, ``reward_weight``, ``init_scale`` and ``fitness_offset`` are leaves,
so ``vmap`` sweeps them in one compiled call. Bad input raises ``ConfigError`` before compiling.

Modules: ``policy`` (policy, rollout, descriptors), ``repertoire`` (grid, insertion, emitter),
``search_config`` (configs, validation, shared evaluation), ``map_elites``, ``novelty``.
"""

from __future__ import annotations

from jaxrl_rewards.agents.quality_diversity.map_elites import (
    MapElitesState,
    init_map_elites,
    map_elites_step,
    run_map_elites,
)
from jaxrl_rewards.agents.quality_diversity.novelty import (
    NoveltyState,
    archive_insert,
    init_novelty_search,
    novelty,
    novelty_step,
    pairwise_distances,
    run_novelty_search,
)
from jaxrl_rewards.agents.quality_diversity.policy import (
    DESCRIPTORS,
    check_env,
    init_policy,
    policy_action,
    policy_logits,
    rollout,
)
from jaxrl_rewards.agents.quality_diversity.repertoire import (
    Repertoire,
    cell_index,
    cells_per_dim,
    emit,
    init_repertoire,
    insert,
    iso_line_variation,
    qd_metrics,
    sample_elites,
)
from jaxrl_rewards.agents.quality_diversity.search_config import (
    MapElitesConfig,
    NoveltyConfig,
    SearchConfig,
    empty_repertoire,
    evaluate,
    make_map_elites_config,
    make_novelty_config,
    random_population,
    validate,
)

__all__ = [
    "DESCRIPTORS",
    "MapElitesConfig",
    "MapElitesState",
    "NoveltyConfig",
    "NoveltyState",
    "Repertoire",
    "SearchConfig",
    "archive_insert",
    "cell_index",
    "cells_per_dim",
    "check_env",
    "emit",
    "empty_repertoire",
    "evaluate",
    "init_map_elites",
    "init_novelty_search",
    "init_policy",
    "init_repertoire",
    "insert",
    "iso_line_variation",
    "make_map_elites_config",
    "make_novelty_config",
    "map_elites_step",
    "novelty",
    "novelty_step",
    "pairwise_distances",
    "policy_action",
    "policy_logits",
    "qd_metrics",
    "random_population",
    "rollout",
    "run_map_elites",
    "run_novelty_search",
    "sample_elites",
    "validate",
]
