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
from jaxrl_rewards.transforms.bounding import centered_sigmoid, clip_to_range, decoupled_normalize, delta_reward
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
from jaxrl_rewards.transforms.lagrangian import lagrangian
from jaxrl_rewards.transforms.noise import (
    binary_noise,
    correct_binary_noise,
    delay_rewards,
    gaussian_noise,
    sign_flip,
)
from jaxrl_rewards.transforms.objectives import conditioned_scalarization, dynamic_weights, static_weights
from jaxrl_rewards.transforms.shaping import (
    bilevel_shaping,
    learned_potential,
    non_potential_shaping,
    potential_shaping,
)
from jaxrl_rewards.transforms.thresholds import threshold_weights


def grid_distance_shaping(size: int = 8, coef: float = 1.0) -> RewardTransform:
    """Potential shaping toward the goal of ``SparseGridWorld-v0`` (``Phi`` = minus the
    normalised Manhattan distance, :class:`jaxrl_rewards.envs.GridDistancePotential`): the
    command-line form of ``potential_shaping(GridDistancePotential(size), coef)``."""
    from jaxrl_rewards.envs import GridDistancePotential

    return potential_shaping(GridDistancePotential(size), coef)


#: name -> (factory, one-line description), for ``jaxrl-rewards list`` and the CLI's --transform.
REGISTRY = {
    "identity": (identity, "leave every stream unchanged"),
    "scale": (scale, "multiply selected streams by a factor"),
    "clip": (clip, "clip selected streams to [low, high]"),
    "normalize": (normalize_rewards, "divide by the running std of the discounted return, per stream"),
    "centered_sigmoid": (centered_sigmoid, "2*sigmoid((r - running mean or baseline) / T) - 1"),
    "decoupled_normalize": (decoupled_normalize, "standardise each stream separately before weighting"),
    "clip_to_range": (clip_to_range, "map [low, high] onto [out_low, out_high] and clip"),
    "delta": (delta_reward, "r_t - r_{t-1} within episodes"),
    "capped_count": (capped_count, "positive rewards pay only the first k times per episode"),
    "sign_flip": (sign_flip, "flip the reward's sign with probability p (optionally unbiased)"),
    "binary_noise": (binary_noise, "false-positive / false-negative noise on binary rewards"),
    "correct_binary_noise": (correct_binary_noise, "unbiased correction (r - rho_fp) / (1 - rho_fp - rho_fn)"),
    "gaussian_noise": (gaussian_noise, "additive N(0, std^2) reward noise"),
    "delay": (delay_rewards, "pay the accumulated reward every k steps or at episode end"),
    "grid_distance_shaping": (grid_distance_shaping, "potential shaping toward SparseGridWorld's goal (distance)"),
    "learned_potential": (learned_potential, "potential shaping with a value net fitted in update"),
    "lagrangian": (lagrangian, "Lagrange multipliers (SGD / PID / augmented) pricing cost streams against limits"),
    "threshold_weights": (threshold_weights, "push reward components only until they reach their thresholds"),
    "count": (count_bonus, "intrinsic stream beta/sqrt(N(s')): exact or SimHash counts, global or episodic"),
    "rnd": (rnd_bonus, "Random Network Distillation bonus stream (normalised, non-episodic)"),
    "icm": (icm_bonus, "ICM forward-model error on inverse-dynamics features"),
    "e3b": (e3b_bonus, "E3B elliptical episodic bonus on inverse-dynamics embeddings"),
    "prediction_error": (prediction_error_bonus, "forward-model prediction-error bonus"),
    "learning_progress": (learning_progress_bonus, "noise-robust learning-progress bonus"),
}

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
    "capped_count",
    "centered_sigmoid",
    "chain",
    "clip",
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
