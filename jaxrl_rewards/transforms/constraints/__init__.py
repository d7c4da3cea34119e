"""Constraint transforms: Lagrangian multipliers (``lagrangian``), their update rules
(``multipliers``) and threshold weights (``thresholds``)."""

from jaxrl_rewards.transforms.constraints.lagrangian import Lagrangian, lagrangian
from jaxrl_rewards.transforms.constraints.multipliers import LagrangianState, multiplier_step
from jaxrl_rewards.transforms.constraints.thresholds import threshold_weights

__all__ = ["Lagrangian", "LagrangianState", "lagrangian", "multiplier_step", "threshold_weights"]
