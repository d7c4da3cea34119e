"""Constraint transforms: Lagrangian multipliers (``lagrangian``) and threshold weights
(``thresholds``)."""

from jaxrl_rewards.transforms.constraints.lagrangian import Lagrangian, lagrangian, make_lagrangian, multiplier_step
from jaxrl_rewards.transforms.constraints.thresholds import threshold_weights

__all__ = ["Lagrangian", "lagrangian", "make_lagrangian", "multiplier_step", "threshold_weights"]
