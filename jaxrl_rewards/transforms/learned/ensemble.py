"""Ensembles of Bradley-Terry reward models against overoptimisation.

``ensemble_reward_model`` builds an ensemble preference reward model
(:class:`~jaxrl_rewards.transforms.learned.preferences.PreferenceRewardModel` with
``num_members = K``, aggregated as in :mod:`~jaxrl_rewards.transforms.learned.aggregation`:
mean, min, lcb = mean - lam * std, or mix), optionally chained with a KL / entropy penalty
toward a reference policy (:func:`~jaxrl_rewards.transforms.learned.regularization.kl_penalty`).
"""

from __future__ import annotations

from typing import Any

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.core import chain
from jaxrl_rewards.transforms.learned.preferences import preference_reward_model
from jaxrl_rewards.transforms.learned.regularization import kl_penalty


def ensemble_reward_model(
    num_members: int = 5,
    aggregate: str = "lcb",
    lam: float = 1.0,
    alpha: float = 0.5,
    bootstrap: bool = True,
    feature_fraction: float = 1.0,
    kl_coef: float = 0.0,
    reference: Any = None,
    **kwargs: Any,
):
    """An ensemble of ``num_members`` Bradley-Terry reward models (see the module docstring).

    Args:
        num_members: K >= 2.
        aggregate: ``"mean"``, ``"min"``, ``"lcb"`` (mean - lam * std) or ``"mix"``.
        lam, alpha: aggregation coefficients (sweepable leaves).
        bootstrap: Poisson(1) bootstrap weights per member.
        feature_fraction: fraction of input features each member sees.
        kl_coef: if > 0, chain a KL penalty toward ``reference`` (or, with ``reference=None``,
            an entropy bonus: KL to the uniform policy up to a constant).
        reference: a reference policy for the KL penalty (see ``regularization.kl_penalty``).
        **kwargs: any other ``preference_reward_model`` option (oracle, flip_rate, budget...).
    """

    if num_members < 2:
        raise ConfigError(f"an ensemble needs num_members >= 2, got {num_members}")
    model = preference_reward_model(
        num_members=num_members,
        aggregate=aggregate,
        lam=lam,
        alpha=alpha,
        bootstrap=bootstrap,
        feature_fraction=feature_fraction,
        **kwargs,
    )
    if kl_coef:
        return chain(model, kl_penalty(reference=reference, coef=kl_coef))
    return model


__all__ = ["ensemble_reward_model"]
