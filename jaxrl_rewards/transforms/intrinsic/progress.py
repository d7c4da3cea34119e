"""Prediction-error curiosity and its noise-robust learning-progress variant.

*Prediction error* (Schmidhuber 1991; Stadie et al. 2015; Pathak et al. 2017 in raw space): a
forward model ``f(s, a) -> s'`` is trained on every batch, and the bonus is its error

    b_PE(s, a, s') = eta * mean_j (f_theta(s, a)_j - s'_j)^2.

On a "noisy TV" (Burda et al. 2019) the error on unpredictable noise never falls, so the
agent is drawn to the noise for ever.

*Learning progress* (Schmidhuber 1991; Oudeyer, Kaplan & Hafner 2007; Achiam & Sastry 2017)
pays the *improvement* of the model instead of its error: with a slow copy ``theta_slow``
(an exponential moving average of the trained parameters, ``theta_slow <- (1 - tau)
theta_slow + tau theta`` per iteration),

    b_LP(s, a, s') = eta * max(0, err_slow(s, a, s') - err_theta(s, a, s')).

Learnable transitions pay while the model improves on them and stop paying once learned;
pure noise pays ~0 because neither model can do better than its mean.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import check_in_range, check_positive
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.intrinsic.base import (
    IntrinsicBonus,
    check_bonus_common,
    check_model_sizes,
    flat_obs,
    obs_dim,
    sizes_as_tuples,
)
from jaxrl_rewards.transforms.intrinsic.icm import ActionInfo, ForwardModel
from jaxrl_rewards.transforms.models import adam, gradient_steps


class ProgressState(struct.PyTreeNode):
    """Forward-model parameters, their slow EMA copy, optimiser state, action info."""

    params: Any
    slow: Any
    opt_state: Any
    actions: ActionInfo = struct.field(pytree_node=False, default=None)


class PredictionErrorBonus(IntrinsicBonus):
    """Forward-model error bonus, or its learning-progress variant (``progress=True``)."""

    eta: Array | float = 1.0
    learning_rate: Array | float = 1e-3
    tau: Array | float = 0.1
    progress: bool = struct.field(pytree_node=False, default=False)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=4)

    def validate(self) -> PredictionErrorBonus:
        """Positive ``eta`` and ``learning_rate``, ``tau`` in [0, 1], a positive integer
        ``num_updates`` (and the common bonus checks)."""
        who = "learning_progress_bonus" if self.progress else "prediction_error_bonus"
        check_bonus_common(self.coef, self.discount, who)
        check_positive(self.eta, f"{who}: eta")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_in_range(self.tau, f"{who}: tau", 0.0, 1.0)
        check_model_sizes(who, num_updates=self.num_updates)
        return self

    def _module(self, dim: int) -> ForwardModel:
        return ForwardModel(dim, self.hidden_sizes)

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> ProgressState:
        info = ActionInfo.of(spec)
        dim = obs_dim(spec)
        params = self._module(dim).init(key, jnp.zeros((1, dim)), jnp.zeros((1, info.dim)))
        return ProgressState(params=params, slow=params, opt_state=adam(self.learning_rate).init(params), actions=info)

    def errors(self, params: Any, info: ActionInfo, batch: Transition) -> Array:
        """Per-transition squared forward error ``[T, N]``."""
        x, x_next = flat_obs(batch.obs, 2), flat_obs(batch.next_obs, 2)
        pred = self._module(x.shape[-1]).apply(params, x, info.features(batch.action))
        return ((pred - x_next) ** 2).mean(-1)

    def compute(self, model: ProgressState, batch: Transition) -> tuple[Array, ProgressState, dict[str, Array]]:
        err = self.errors(model.params, model.actions, batch)
        logs = {"prediction_error": err.mean()}
        if not self.progress:
            return self.eta * err, model, logs
        err_slow = self.errors(model.slow, model.actions, batch)
        gain = jnp.maximum(err_slow - err, 0.0)
        logs["slow_error"] = err_slow.mean()
        return self.eta * gain, model, logs

    def learn(self, model: ProgressState, batch: Transition, key: PRNGKey) -> tuple[ProgressState, Metrics]:
        del key
        tx = adam(self.learning_rate)
        loss_fn = lambda p: self.errors(p, model.actions, batch).mean()

        params, opt_state, losses = gradient_steps(loss_fn, tx, model.params, model.opt_state, length=self.num_updates)
        slow = jax.tree.map(lambda s, p: (1.0 - self.tau) * s + self.tau * p, model.slow, params)
        return model.replace(params=params, slow=slow, opt_state=opt_state), {"forward_loss": losses[-1]}


def prediction_error_bonus(**options: Any) -> PredictionErrorBonus:
    """Plain forward-model prediction-error bonus in observation space (module docstring):
    any field of :class:`PredictionErrorBonus` but ``tau`` and ``progress``."""
    options = {**sizes_as_tuples(options), "progress": False}
    return build(PredictionErrorBonus, "prediction_error_bonus", options, exclude=("tau",))


def learning_progress_bonus(**options: Any) -> PredictionErrorBonus:
    """Noise-robust learning-progress bonus ``max(0, err_slow - err)`` (module docstring): any
    field of :class:`PredictionErrorBonus` but ``progress``."""
    return build(PredictionErrorBonus, "learning_progress_bonus", {**sizes_as_tuples(options), "progress": True})


prediction_error_bonus.__signature__ = factory_signature(PredictionErrorBonus, exclude=("tau", "progress"))
learning_progress_bonus.__signature__ = factory_signature(PredictionErrorBonus, exclude=("progress",))
