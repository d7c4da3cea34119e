"""Reward transforms: the ``RewardTransform`` protocol, composition and the transform library."""

from jaxrl_rewards.transforms.basic import (
    Clip,
    NormalizeRewards,
    NormalizeState,
    Scale,
    clip,
    normalize_rewards,
    scale,
)
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

#: name -> (factory, one-line description), for ``jaxrl-rewards list`` and the CLI's --transform.
REGISTRY = {
    "identity": (identity, "leave every stream unchanged"),
    "scale": (scale, "multiply selected streams by a factor"),
    "clip": (clip, "clip selected streams to [low, high]"),
    "normalize": (normalize_rewards, "divide by the running std of the discounted return, per stream"),
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
    "chain",
    "clip",
    "identity",
    "lift",
    "normalize_rewards",
    "scale",
    "transform_from_functions",
]
