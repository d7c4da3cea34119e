"""Intrinsic exploration bonuses as reward transforms.

Each bonus adds one stream (default ``"intrinsic"``) with its own weight (``coef``), discount
and static ``episodic`` flag (PPO gives it its own value head) and trains its models in
``update``; its components are logged per iteration as ``transform/<name>/<component>``.

* ``count_bonus``: ``beta / sqrt(N)``, exact (one-hot / integer observations) or SimHash counts,
  global or episodic.
* ``rnd_bonus``: Random Network Distillation, normalised by the std of intrinsic returns.
* ``icm_bonus``: Intrinsic Curiosity Module forward error on inverse-dynamics features.
* ``e3b_bonus``: elliptical episodic bonus on inverse-dynamics embeddings.
* ``combine_bonuses``: episodic x global (product or sum).
* ``prediction_error_bonus`` / ``learning_progress_bonus``: plain forward-model error vs its
  noise-robust learning-progress variant.
"""

from jaxrl_rewards.transforms.intrinsic.base import BonusState, IntrinsicBonus
from jaxrl_rewards.transforms.intrinsic.combine import CombinedBonus, combine_bonuses
from jaxrl_rewards.transforms.intrinsic.counts import CountBonus, CountState, count_bonus
from jaxrl_rewards.transforms.intrinsic.e3b import E3BBonus, E3BState, e3b_bonus, sherman_morrison_bonus
from jaxrl_rewards.transforms.intrinsic.icm import ActionInfo, ICMBonus, ICMState, InverseDynamics, icm_bonus
from jaxrl_rewards.transforms.intrinsic.progress import (
    PredictionErrorBonus,
    ProgressState,
    learning_progress_bonus,
    prediction_error_bonus,
)
from jaxrl_rewards.transforms.intrinsic.rnd import RNDBonus, RNDState, rnd_bonus

__all__ = [
    "ActionInfo",
    "BonusState",
    "CombinedBonus",
    "CountBonus",
    "CountState",
    "E3BBonus",
    "E3BState",
    "ICMBonus",
    "ICMState",
    "IntrinsicBonus",
    "InverseDynamics",
    "PredictionErrorBonus",
    "ProgressState",
    "RNDBonus",
    "RNDState",
    "combine_bonuses",
    "count_bonus",
    "e3b_bonus",
    "icm_bonus",
    "learning_progress_bonus",
    "prediction_error_bonus",
    "rnd_bonus",
    "sherman_morrison_bonus",
]
