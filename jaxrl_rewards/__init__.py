"""jaxrl_rewards: composable reward transforms for pure-JAX reinforcement learning.

Rewards are streams of ``[T, N]`` arrays flowing from environments to learners; shaping,
normalisation, constraints, exploration bonuses and learned rewards are pure, composable
``RewardTransform``s of those streams. See README.md for a tour.
"""

# first: adds the batch-exact XLA flag before JAX starts (README, "Determinism")
from jaxrl_rewards.core import determinism  # noqa: F401
from jaxrl_rewards.core.streams import TASK, env_streams, scalarize, stream_names
from jaxrl_rewards.core.types import Stream, TransformSpec, Transition
from jaxrl_rewards.transforms import (
    RewardTransform,
    add_term,
    chain,
    clip,
    identity,
    lift,
    normalize_rewards,
    scale,
    transform_from_functions,
)

__version__ = "0.1.0"

__all__ = [
    "TASK",
    "RewardTransform",
    "Stream",
    "TransformSpec",
    "Transition",
    "__version__",
    "add_term",
    "chain",
    "clip",
    "env_streams",
    "identity",
    "lift",
    "normalize_rewards",
    "scalarize",
    "scale",
    "stream_names",
    "transform_from_functions",
]
