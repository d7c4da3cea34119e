"""The built-in quickstart sweep (``jaxrl-rewards quickstart``): PPO with and without reward
transforms on a small sparse-reward grid, several seeds per variant, each variant one compiled
call.

The default compares plain PPO with PPO + potential shaping toward the goal, PPO + a count
bonus and PPO + RND on ``SparseGridWorld-v0`` (one +1 reward at the far corner): shaping and
the exploration bonuses reach the goal sooner. The variants live in ``VARIANTS`` only (label ->
list of transform strings of ``jaxrl_rewards.transforms.REGISTRY``, chained left to right), so
swapping in other transforms is a one-line change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jaxrl_rewards.experiments.spec import SweepSpec, spec_from_dict

#: The quickstart's environment, its ``envs.make`` options and the PPO options.
ENV = "SparseGridWorld-v0"
ENV_OPTIONS: dict[str, Any] = {"size": 16}
STEPS = 65_536
CONFIG: dict[str, Any] = {"num_envs": 16, "num_steps": 32, "learning_rate": 1e-3, "hidden_sizes": [64, 64]}

#: label -> transforms (registry strings, "name:key=value,..."), chained left to right.
VARIANTS: dict[str, list[str]] = {
    "PPO": [],
    "PPO + distance shaping": [f"grid_distance_shaping:size={ENV_OPTIONS['size']}"],
    "PPO + count bonus": ["count:beta=0.05"],
    "PPO + RND": ["rnd"],
}


def quickstart_spec(
    env: str | None = None,
    seeds: int = 8,
    steps: int | None = None,
    variants: Mapping[str, Sequence[str]] | None = None,
    num_evals: int = 10,
) -> SweepSpec:
    """The quickstart as a sweep spec: one variant per entry of ``VARIANTS`` x ``seeds``.

    ``env=None`` uses ``ENV`` with ``ENV_OPTIONS`` and the ``CONFIG`` options; another env name
    runs the same variants with PPO's presets for that env (the shaping variant only makes
    sense on the grid)."""
    variants = VARIANTS if variants is None else variants
    default_env = env is None or env == ENV
    return spec_from_dict(
        {
            "name": "quickstart",
            "agent": "ppo",
            "env": ENV if env is None else env,
            "env_options": dict(ENV_OPTIONS) if default_env else {},
            "seeds": seeds,
            "config": {
                **(CONFIG if default_env else {}),
                "total_timesteps": STEPS if steps is None else steps,
                "num_evals": num_evals,
            },
            "variants": {label: {"transform": list(transforms)} for label, transforms in variants.items()},
        }
    )


__all__ = ["CONFIG", "ENV", "ENV_OPTIONS", "STEPS", "VARIANTS", "quickstart_spec"]
