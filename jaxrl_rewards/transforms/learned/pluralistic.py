"""Pluralistic preferences: a mixture of Bradley-Terry reward models over a population of users.

When annotators disagree (one user prefers speed, another safety), one Bradley-Terry model
averages their preferences into a reward nobody holds. A *mixture* of M Bradley-Terry models
(latent user types; cf. "Personalizing RLHF with variational preference learning", Poddar et
al., 2024, and mixtures of BT / Plackett-Luce models, e.g. Zhao et al., 2016) explains user
``u``'s labels ``y_u1..y_uQ`` by

    p(y_u) = sum_m pi_m prod_q P_m(y_uq),   P_m(a > b) = sigmoid(R_m(a) - R_m(b)),

fitted by maximising the marginal log-likelihood (every label of a user shares the latent
type). A new user's type posterior from a few of their labels, ``w_m ∝ pi_m prod_q
P_m(y_q)``, conditions the reward: ``r(x | u) = sum_m w_m r_m(x)`` (the latent-user-conditioned
reward).

:class:`PluralisticRewardModel` trains the mixture in ``update`` on a fixed multi-user dataset
and rewards the agent with the reward of one target user, inferred from that user's few labels.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_positive, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.learned.features import RewardNet, action_width, num_discrete_actions, transition_features
from jaxrl_rewards.transforms.learned.preference_data import Segments, check_labels
from jaxrl_rewards.transforms.models import adam, gradient_steps, scaled_apply


class UserPreferences(struct.PyTreeNode):
    """Labelled pairs grouped by user: segments ``a``/``b`` with leaves ``[U, Q, L, ...]`` and
    ``label [U, Q]`` in {0, 0.5, 1}. Build with :func:`user_preferences`."""

    a: Segments
    b: Segments
    label: Array


def user_preferences(a: Segments, b: Segments, labels: Any) -> UserPreferences:
    """Check shapes (``[U, Q, L, ...]`` leaves matching ``labels [U, Q]``) and label values."""
    arr = np.asarray(labels, np.float64)
    if arr.ndim != 2:
        raise ConfigError(f"labels must be [U, Q] (users x queries), got shape {arr.shape}")
    check_labels(arr.ravel())
    for side, seg in (("a", a), ("b", b)):
        for field in ("obs", "action", "next_obs"):
            shape = np.shape(getattr(seg, field))
            if len(shape) < 3 or shape[:2] != arr.shape:
                raise ConfigError(
                    f"segments {side}.{field} must be [U, Q, L, ...] with [U, Q] = {arr.shape}, got {shape}"
                )
        if np.shape(a.obs) != np.shape(b.obs):
            raise ConfigError(f"segments a.obs {np.shape(a.obs)} and b.obs {np.shape(b.obs)} differ")
    return UserPreferences(
        a=jax.tree.map(jnp.asarray, a), b=jax.tree.map(jnp.asarray, b), label=jnp.asarray(arr, jnp.float32)
    )


def _label_loglik(ra: Array, rb: Array, label: Array) -> Array:
    """Log-likelihood of labels under BT, elementwise."""
    logit = ra - rb
    return -(label * jax.nn.softplus(-logit) + (1.0 - label) * jax.nn.softplus(logit))


class PluralisticState(struct.PyTreeNode):
    """Component parameters ``[M]``-stacked, mixture logits ``[M]``, Adam state, and the target
    user's posterior weights ``[M]``."""

    params: Any
    mix_logits: Array
    opt_state: Any
    user_weights: Array


class PluralisticRewardModel(RewardTransform):
    """Mixture of Bradley-Terry models with a latent user type (see the module docstring)."""

    data: UserPreferences = None
    user: UserPreferences = None
    num_components: int = struct.field(pytree_node=False, default=2)
    inputs: tuple[str, ...] = struct.field(pytree_node=False, default=("obs", "action"))
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=32)
    target: str = struct.field(pytree_node=False, default=TASK)
    learning_rate: Array | float = 3e-3

    def validate(self) -> PluralisticRewardModel:
        """``num_components`` and ``num_updates`` positive ints (static); ``learning_rate > 0``
        (element by element: swept values too). The preference data is checked by the factory."""
        check_positive_int(self.num_components, "pluralistic_reward_model: num_components")
        check_positive_int(self.num_updates, "pluralistic_reward_model: num_updates")
        check_positive(self.learning_rate, "pluralistic_reward_model: learning_rate")
        return self

    def _net(self) -> RewardNet:
        return RewardNet(self.hidden_sizes, "relu")

    def _feats(self, dim: int, seg: Segments, lead: int) -> Array:
        width = action_width(self.inputs, dim, seg.obs, seg.next_obs, seg.action, lead)
        return transition_features(seg.obs, seg.action, seg.next_obs, self.inputs, width, lead)

    def _dim(self, state: PluralisticState) -> int:
        return int(state.params["params"]["MLP_0"]["Dense_0"]["kernel"].shape[1])

    def component_rewards(self, state: PluralisticState, features: Array) -> Array:
        """Each component's reward ``[M, ...]`` for features ``[..., D]``."""
        net = self._net()
        return jax.vmap(lambda p: net.apply(p, features))(state.params)

    def user_loglik(self, state: PluralisticState, prefs: UserPreferences) -> Array:
        """``log pi_m + sum_q log P_m(y_uq)`` per user and component, ``[U, M]``."""
        dim = self._dim(state)
        fa, fb = self._feats(dim, prefs.a, 3), self._feats(dim, prefs.b, 3)  # [U, Q, L, D]
        ra = self.component_rewards(state, fa).sum(-1)  # [M, U, Q]
        rb = self.component_rewards(state, fb).sum(-1)
        ll = _label_loglik(ra, rb, prefs.label[None]).sum(-1)  # [M, U]
        return jax.nn.log_softmax(state.mix_logits)[:, None].T + ll.T

    def posterior(self, state: PluralisticState, prefs: UserPreferences) -> Array:
        """Posterior over user types given each user's labels, ``[U, M]``."""
        return jax.nn.softmax(self.user_loglik(state, prefs), axis=-1)

    def init(self, key: PRNGKey, spec: TransformSpec) -> PluralisticState:
        n_act = num_discrete_actions(spec.action_space)
        ex = spec.example
        dim = transition_features(ex.obs, ex.action, ex.next_obs, self.inputs, n_act, 2).shape[-1]
        net = self._net()
        keys = jax.random.split(key, self.num_components)
        params = jax.vmap(lambda k: net.init(k, jnp.zeros((1, dim), jnp.float32)))(keys)
        mix = jnp.zeros((self.num_components,), jnp.float32)
        return PluralisticState(
            params=params,
            mix_logits=mix,
            opt_state=adam(1.0).init((params, mix)),
            user_weights=jnp.full((self.num_components,), 1.0 / self.num_components),
        )

    def apply(self, state: PluralisticState, streams: Streams, batch: Transition) -> tuple[Streams, PluralisticState]:
        dim = self._dim(state)
        feats = self._feats(dim, Segments(batch.obs, batch.action, batch.next_obs), 2)
        reward = jnp.einsum("m,m...->...", state.user_weights, self.component_rewards(state, feats))
        return {**streams, self.target: streams[self.target].replace(reward=reward)}, state

    def update(
        self, state: PluralisticState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[PluralisticState, Metrics]:
        del batch, streams, key
        tx = adam(1.0)

        def loss_fn(pm):
            s = state.replace(params=pm[0], mix_logits=pm[1])
            return -jax.nn.logsumexp(self.user_loglik(s, self.data), axis=-1).mean()

        (params, mix), opt_state, losses = gradient_steps(
            loss_fn,
            tx,
            (state.params, state.mix_logits),
            state.opt_state,
            length=self.num_updates,
            apply=scaled_apply(self.learning_rate),
            pass_params=False,
        )
        state = state.replace(params=params, mix_logits=mix, opt_state=opt_state)
        weights = self.posterior(state, self.user)[0] if self.user is not None else jax.nn.softmax(mix)
        state = state.replace(user_weights=weights)
        return state, {"pluralistic/loss": losses.mean(), "pluralistic/user_weight_max": weights.max()}


def pluralistic_reward_model(
    data: UserPreferences,
    user: UserPreferences | None = None,
    num_components: int = 2,
    inputs: tuple[str, ...] = ("obs", "action"),
    hidden_sizes: tuple[int, ...] = (64, 64),
    num_updates: int = 32,
    learning_rate: float = 3e-3,
    target: str = TASK,
) -> PluralisticRewardModel:
    """A mixture-of-Bradley-Terry reward model trained on multi-user ``data``; the reward is
    that of ``user`` (a :class:`UserPreferences` with ``U = 1``: a few of the target user's
    labels) or, without one, the population mixture."""
    if not isinstance(data, UserPreferences):
        raise ConfigError(f"data must be UserPreferences (see user_preferences), got {type(data).__name__}")
    if user is not None and (not isinstance(user, UserPreferences) or user.label.shape[0] != 1):
        raise ConfigError("user must be UserPreferences with a single user (labels [1, Q])")
    return PluralisticRewardModel(
        data=data,
        user=user,
        num_components=num_components,
        inputs=tuple(inputs),
        hidden_sizes=tuple(hidden_sizes),
        num_updates=num_updates,
        target=target,
        learning_rate=learning_rate,
    ).validate()


__all__ = [
    "PluralisticRewardModel",
    "PluralisticState",
    "UserPreferences",
    "pluralistic_reward_model",
    "user_preferences",
]
