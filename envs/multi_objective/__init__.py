"""Registry entries for our own multi-objective environments.

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
"""

from __future__ import annotations

from typing import Any

from .component_peaks import ComponentPeaks
from .deep_sea_treasure import DeepSeaTreasure
from .weight_conditioned import WeightConditioned


def _deep_sea_treasure(obs_mode: str = "onehot") -> tuple[Any, Any]:

    env = DeepSeaTreasure(obs_mode=obs_mode)
    return env, env.default_params


def _conditioned_deep_sea_treasure(obs_mode: str = "onehot") -> tuple[Any, Any]:

    env = WeightConditioned(DeepSeaTreasure(obs_mode=obs_mode), num_objectives=2)
    return env, env.default_params


def _component_peaks() -> tuple[Any, Any]:

    env = ComponentPeaks()
    return env, env.default_params


ENVIRONMENTS: dict = {
    "ComponentPeaks-v0": (
        _component_peaks,
        "One-step continuous action; reward components peaking at different actions in "
        'info["rewards"], a gold objective in info["true_reward"] (constrained composite rewards).',
    ),
    "DeepSeaTreasure-v0": (
        _deep_sea_treasure,
        "Deep Sea Treasure (Vamplew et al. 2011): treasure vs time, non-convex Pareto front, "
        'objectives in info["rewards"].',
    ),
    "DeepSeaTreasureConditioned-v0": (
        _conditioned_deep_sea_treasure,
        "Deep Sea Treasure with a per-episode Dirichlet weight vector appended to the observation "
        'and in info["weights"].',
    ),
}
