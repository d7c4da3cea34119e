"""jaxrl_rewards: composable reward transforms for pure-JAX reinforcement learning.

Rewards are streams of ``[T, N]`` arrays flowing from environments to learners; shaping,
normalisation, constraints, exploration bonuses and learned rewards are pure, composable
``RewardTransform``s of those streams. See README.md for a tour.
"""

import os as _os


def _configure_xla() -> None:
    """Turn off XLA CPU's multi-threaded Eigen pool unless the user chose otherwise.

    With it on, materialising results of vmapped training runs occasionally wedged forever
    on CPU here (seen twice in ~100 runs; also reported upstream for vmap-heavy graphs), and
    for our small networks it is no faster (measured: 8-seed PPO CartPole 214k steps/s
    without vs 195k with). Only takes effect if set before JAX initialises its CPU backend;
    set ``JAXRL_REWARDS_KEEP_XLA_FLAGS=1`` to leave ``XLA_FLAGS`` untouched.
    """
    flags = _os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" in flags or _os.environ.get("JAXRL_REWARDS_KEEP_XLA_FLAGS"):
        return
    _os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


_configure_xla()

from jaxrl_rewards.streams import TASK, env_streams, scalarize, stream_names
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
from jaxrl_rewards.types import Stream, TransformSpec, Transition

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
