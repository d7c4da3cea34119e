"""Thresholded reward components with dynamic weights (constrained reward composition).

For reward-model composition (several component rewards, e.g. ``info["rewards"]`` streams
``reward_<name>``), each component ``i`` gets a threshold ``tau_i`` and a multiplier
``mu_i >= 0`` that is its *dynamic weight*: the component is pushed (stream weight
``+mu_i / (1 + sum_j mu_j)``) while its episodic return is below the threshold, and ``mu_i``
falls back to 0 once the threshold is met, so a satisfied component stops being pushed and
cannot be over-optimised. This is the Lagrangian of ``max J_task s.t. J_i >= tau_i`` (Moskovitz
et al. 2023, "Confronting Reward Model Overoptimization with Constrained RLHF", where the
thresholds are the components' "proxy points"); the multipliers follow the same rules as
:mod:`jaxrl_rewards.transforms.constraints.lagrangian` with ``g_i = tau_i - J_i``:

* ``"gradient"``: ``mu <- clip(mu + learning_rate (tau - J), 0, mu_max)``;
* ``"pid"``: PID on ``tau - J`` (Stooke et al. 2020);
* ``"augmented"``: weight ``max(0, mu + rho (tau - J))``;
* ``"switch"``: ``mu_i = switch_weight * [J_i < tau_i]`` (a plain on/off dynamic weight).

Cost-style thresholds (``J_i <= tau_i``) are the Lagrangian itself: ``lagrangian(limits, streams)``.
"""

from __future__ import annotations

from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.constraints.lagrangian import (
    RENAMED,
    Lagrangian,
    as_limits,
    as_stream_names,
    check_limit_count,
)
from jaxrl_rewards.transforms.fields import build, factory_signature


def threshold_weights(thresholds: Array | float | tuple[float, ...], streams: tuple[str, ...], **options) -> Lagrangian:
    """Dynamic weights for reward components that must reach ``J_i >= thresholds[i]``: a
    :class:`~jaxrl_rewards.transforms.constraints.lagrangian.Lagrangian` with
    ``sense="lower"``.

    Args:
        thresholds: one threshold per stream (scalar for one, ``[K]`` for K), in units of the
            ``measure`` (episodic or discounted return of the component stream).
        streams: the component streams (e.g. ``("reward_speed", "reward_comfort")``).
        **options: any other field of ``Lagrangian`` (``rule`` (default ``"gradient"``
            here), ``measure``, ``normalize``, ``learning_rate``, ``kp``, ``ki``, ``kd``,
            ``alpha_p``, ``alpha_d``, ``rho``, ``lambda_init``, ``lambda_max``,
            ``switch_weight``: the weight of an unmet component under ``rule="switch"``).

    Metrics are logged under ``lagrangian/`` (``lambda/<stream>`` is the dynamic weight,
    ``episode_cost/<stream>`` the component's measured return, ``violation_rate/<stream>`` the
    fraction of episodes below the threshold).

    Raises:
        ConfigError: no streams, a threshold count that does not match, an unknown rule or option.
    """
    if streams is None:
        raise ConfigError("threshold_weights: name the component streams to threshold (e.g. ('reward_a',))")
    options = {"rule": "gradient", **options}
    options = {"limits": as_limits(thresholds), "streams": as_stream_names(streams), "sense": "lower", **options}
    lag = build(Lagrangian, "threshold_weights", options, renamed=RENAMED)
    check_limit_count(lag)
    return lag


threshold_weights.__signature__ = factory_signature(
    Lagrangian,
    positional=("limits", "streams"),
    exclude=("sense",),
    defaults={"rule": "gradient"},
    required=("limits", "streams"),
    rename={"limits": "thresholds"},
)


__all__ = ["threshold_weights"]
