"""Reward transforms: the ``RewardTransform`` protocol, composition and the transform library.

Modules: ``core`` (protocol, chain, lift), ``basic`` (scale, clip, normalize), ``shaping``
(potential / non-potential / learned / bilevel shaping), ``bounding`` (centred sigmoid,
decoupled normalisation, clip-to-range, delta), ``gates`` (gates, multiplicative composition,
coverage, capped counts), ``objectives`` (static / dynamic / conditioned multi-objective
weights), ``noise`` (reward noise and its correction), ``credit`` (outcome redistribution,
auxiliary trust), ``lagrangian`` and ``thresholds`` (constraints), ``intrinsic`` (exploration
bonuses) and ``learned`` (preference models, imitation, regularisation toward a reference).
"""

from jaxrl_rewards.transforms.basic import (
    Clip,
    NormalizeRewards,
    NormalizeState,
    Scale,
    clip,
    normalize_rewards,
    scale,
)
from jaxrl_rewards.transforms.bounding import (
    centered_sigmoid,
    clip_process,
    clip_to_range,
    decoupled_normalize,
    delta_reward,
)
from jaxrl_rewards.transforms.constraints.lagrangian import lagrangian
from jaxrl_rewards.transforms.constraints.thresholds import threshold_weights
from jaxrl_rewards.transforms.core import (
    AddTerm,
    Chain,
    FunctionTransform,
    Identity,
    LiftedReward,
    RewardTransform,
    add_term,
    chain,
    identity,
    lift,
    transform_from_functions,
)
from jaxrl_rewards.transforms.credit import auxiliary_trust, redistribute_outcome
from jaxrl_rewards.transforms.gates import capped_count, coverage, gate, multiplicative
from jaxrl_rewards.transforms.intrinsic import (
    combine_bonuses,
    count_bonus,
    e3b_bonus,
    icm_bonus,
    learning_progress_bonus,
    prediction_error_bonus,
    rnd_bonus,
)
from jaxrl_rewards.transforms.noise import (
    binary_noise,
    correct_binary_noise,
    delay_rewards,
    gaussian_noise,
    sign_flip,
)
from jaxrl_rewards.transforms.objectives import conditioned_scalarization, dynamic_weights, static_weights
from jaxrl_rewards.transforms.registry import (
    REGISTRY,
    build_transform,
    build_transforms,
    grid_distance_shaping,
    parse_transform,
)
from jaxrl_rewards.transforms.shaping import (
    bilevel_shaping,
    learned_potential,
    non_potential_shaping,
    potential_shaping,
)

__all__ = [
    "REGISTRY",
    "AddTerm",
    "Chain",
    "Clip",
    "FunctionTransform",
    "Identity",
    "LiftedReward",
    "NormalizeRewards",
    "NormalizeState",
    "RewardTransform",
    "Scale",
    "add_term",
    "auxiliary_trust",
    "bilevel_shaping",
    "binary_noise",
    "build_transform",
    "build_transforms",
    "capped_count",
    "centered_sigmoid",
    "chain",
    "clip",
    "clip_process",
    "clip_to_range",
    "combine_bonuses",
    "conditioned_scalarization",
    "correct_binary_noise",
    "count_bonus",
    "coverage",
    "decoupled_normalize",
    "delay_rewards",
    "delta_reward",
    "dynamic_weights",
    "e3b_bonus",
    "gate",
    "gaussian_noise",
    "grid_distance_shaping",
    "icm_bonus",
    "identity",
    "lagrangian",
    "learned_potential",
    "learning_progress_bonus",
    "lift",
    "multiplicative",
    "non_potential_shaping",
    "normalize_rewards",
    "parse_transform",
    "potential_shaping",
    "prediction_error_bonus",
    "redistribute_outcome",
    "rnd_bonus",
    "scale",
    "sign_flip",
    "static_weights",
    "threshold_weights",
    "transform_from_functions",
]
