"""The built-in quickstart sweep (``jaxrl-rewards quickstart``): PPO with and without reward
transforms on a small environment, several seeds per variant, each variant one compiled call.

The variants live in ``VARIANTS`` only (label -> list of transform strings of
``jaxrl_rewards.transforms.REGISTRY``, chained left to right), so swapping in other transforms
is a one-line change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jaxrl_rewards.sweep_spec import SweepSpec, spec_from_dict

#: label -> transforms (registry strings, "name:key=value,..."), chained left to right.
VARIANTS: dict[str, list[str]] = {
    "PPO": [],
    "PPO + normalize": ["normalize"],
    "PPO + scale(0.1)": ["scale:factor=0.1"],
    "PPO + scale(0.1) then normalize": ["scale:factor=0.1", "normalize"],
}


def quickstart_spec(
    env: str = "CartPole-v1",
    seeds: int = 8,
    steps: int = 100_000,
    variants: Mapping[str, Sequence[str]] | None = None,
    num_evals: int = 10,
) -> SweepSpec:
    """The quickstart as a sweep spec: one variant per entry of ``VARIANTS`` x ``seeds``."""
    variants = VARIANTS if variants is None else variants
    return spec_from_dict(
        {
            "name": "quickstart",
            "agent": "ppo",
            "env": env,
            "seeds": seeds,
            "config": {"total_timesteps": steps, "num_evals": num_evals},
            "variants": {label: {"transform": list(transforms)} for label, transforms in variants.items()},
        }
    )


__all__ = ["VARIANTS", "quickstart_spec"]
