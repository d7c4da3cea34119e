"""Reward noise for robustness studies, and its correction.

Random transforms keep a PRNG key in their state (``apply`` has no key argument): the key is
split once per ``apply``, so a run is reproducible from its seed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK, map_rewards, select_streams
from jaxrl_rewards.core.types import Array, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_nonnegative, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform

StreamSelection = tuple[str, ...] | None


def _tuple(streams: StreamSelection) -> StreamSelection:
    return None if streams is None else tuple(streams)


class _Noisy(RewardTransform):
    """Base: state is a PRNG key, split per apply; ``_noise(key, reward) -> reward``."""

    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def init(self, key: PRNGKey, spec: TransformSpec) -> PRNGKey:
        return key

    def _noise(self, key: PRNGKey, reward: Array) -> Array:
        raise NotImplementedError

    def apply(self, state: PRNGKey, streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, type(self).__name__)
        key, *keys = jax.random.split(state, len(names) + 1)
        by_name = dict(zip(names, keys, strict=True))
        return map_rewards(streams, names, lambda n, s: self._noise(by_name[n], s.reward)), key


class SignFlip(_Noisy):
    """Flip the sign of each reward with probability ``p``: ``r~ = -r`` w.p. ``p``, else ``r``.
    Since ``E[r~] = (1 - 2p) r``, ``correct=True`` returns the unbiased ``r~ / (1 - 2p)``
    (``p < 1/2``; the symmetric case of Wang, Liu & Li, 2020, "Reinforcement learning with
    perturbed rewards")."""

    p: Array | float = 0.1
    correct: bool = struct.field(pytree_node=False, default=False)

    def validate(self) -> SignFlip:
        """``p`` in ``[0, 1]`` (``[0, 0.499]`` with ``correct``), element by element."""
        check_in_range(self.p, "sign_flip: p", 0.0, 1.0)
        if self.correct:
            check_in_range(self.p, "sign_flip: p (with correct=True)", 0.0, 0.499)
        return self

    def _noise(self, key, reward):
        flip = jax.random.bernoulli(key, self.p, reward.shape)
        out = jnp.where(flip, -reward, reward)
        return out / (1.0 - 2.0 * self.p) if self.correct else out


def sign_flip(p: float, streams: StreamSelection = (TASK,), correct: bool = False) -> RewardTransform:
    """Flip reward signs with probability ``p`` (optionally unbiased, see ``SignFlip``)."""
    return SignFlip(p=p, correct=correct, streams=_tuple(streams)).validate()


class BinaryNoise(_Noisy):
    """Asymmetric noise on binary rewards ``r in {0, 1}``: a 0 becomes 1 with probability
    ``rho_fp`` (false positive), a 1 becomes 0 with probability ``rho_fn`` (false negative)
    (the perturbed-reward model of Wang, Liu & Li, 2020). With ``correct=True`` the unbiased
    estimator ``(r~ - rho_fp) / (1 - rho_fp - rho_fn)`` is returned (``E = r``)."""

    rho_fp: Array | float = 0.1
    rho_fn: Array | float = 0.1
    correct: bool = struct.field(pytree_node=False, default=False)

    def validate(self) -> BinaryNoise:
        """Both rates in ``[0, 1]`` and ``rho_fp + rho_fn < 1``, element by element."""
        _check_rates(self.rho_fp, self.rho_fn, "binary_noise")
        return self

    def _noise(self, key, reward):
        u = jax.random.uniform(key, reward.shape)
        positive = reward > 0.5
        noisy = jnp.where(positive, u >= self.rho_fn, u < self.rho_fp).astype(jnp.float32)
        return unbias_binary(noisy, self.rho_fp, self.rho_fn) if self.correct else noisy


def unbias_binary(reward: Array, rho_fp: Array | float, rho_fn: Array | float) -> Array:
    """``(r~ - rho_fp) / (1 - rho_fp - rho_fn)``: unbiased for a binary reward observed with
    known false-positive/negative rates (Wang, Liu & Li, 2020)."""
    return (reward - rho_fp) / (1.0 - rho_fp - rho_fn)


def _check_rates(rho_fp, rho_fn, who):
    check_in_range(rho_fp, f"{who}: rho_fp", 0.0, 1.0)
    check_in_range(rho_fn, f"{who}: rho_fn", 0.0, 1.0)
    if isinstance(rho_fp, jax.core.Tracer) or isinstance(rho_fn, jax.core.Tracer):
        return
    if np.any(np.asarray(rho_fp, np.float64) + np.asarray(rho_fn, np.float64) >= 1.0):
        raise ConfigError(f"{who}: rho_fp + rho_fn must be < 1 (got {rho_fp} + {rho_fn}); the noise is not invertible")


def binary_noise(
    rho_fp: float, rho_fn: float, streams: StreamSelection = (TASK,), correct: bool = False
) -> RewardTransform:
    """False-positive/false-negative noise on binary rewards (see ``BinaryNoise``)."""
    return BinaryNoise(rho_fp=rho_fp, rho_fn=rho_fn, correct=correct, streams=_tuple(streams)).validate()


class CorrectBinaryNoise(RewardTransform):
    """Apply the unbiased correction ``(r~ - rho_fp) / (1 - rho_fp - rho_fn)`` to streams whose
    binary rewards are already noisy with known rates (e.g. a noisy environment or labeller;
    Wang, Liu & Li, 2020)."""

    rho_fp: Array | float = 0.1
    rho_fn: Array | float = 0.1
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> CorrectBinaryNoise:
        """Both rates in ``[0, 1]`` and ``rho_fp + rho_fn < 1``, element by element."""
        _check_rates(self.rho_fp, self.rho_fn, "correct_binary_noise")
        return self

    def apply(self, state, streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, "correct_binary_noise")
        return map_rewards(streams, names, lambda _, s: unbias_binary(s.reward, self.rho_fp, self.rho_fn)), state


def correct_binary_noise(rho_fp: float, rho_fn: float, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """The unbiased correction for known binary-noise rates (see ``CorrectBinaryNoise``)."""
    return CorrectBinaryNoise(rho_fp=rho_fp, rho_fn=rho_fn, streams=_tuple(streams)).validate()


class GaussianNoise(_Noisy):
    """``r~ = r + std * eps``, ``eps ~ N(0, 1)`` (zero-mean reward noise, e.g. Romoff et al.,
    2018, "Reward estimation for variance reduction")."""

    std: Array | float = 0.1

    def validate(self) -> GaussianNoise:
        """``std >= 0``, element by element (swept values too)."""
        check_nonnegative(self.std, "gaussian_noise: std")
        return self

    def _noise(self, key, reward):
        return reward + self.std * jax.random.normal(key, reward.shape)


def gaussian_noise(std: float, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """Additive Gaussian reward noise with standard deviation ``std``."""
    return GaussianNoise(std=std, streams=_tuple(streams)).validate()


class DelayState(struct.PyTreeNode):
    """Per-stream accumulated reward ``[N]`` and steps since the last payment ``[N]``."""

    acc: dict[str, Array]
    steps: Array


class DelayRewards(RewardTransform):
    """Delayed / sparsified rewards: rewards accumulate and are paid every ``interval`` steps
    of an episode and at its end (``interval=None``: only at the end, an episode-outcome
    reward), as in the delayed-reward MuJoCo benchmarks of Arjona-Medina et al., 2019 (RUDDER)
    and Zheng et al., 2018. Episode sums are unchanged. Accumulators live in the state across
    batches."""

    interval: int | None = struct.field(pytree_node=False, default=None)
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> DelayRewards:
        """``interval`` is ``None`` or a positive int (static)."""
        if self.interval is not None:
            check_positive_int(self.interval, "delay_rewards: interval")
        return self

    def init(self, key, spec: TransformSpec) -> DelayState:
        names = spec.streams if self.streams is None else self.streams
        return DelayState(
            acc={n: jnp.zeros((spec.num_envs,), jnp.float32) for n in names},
            steps=jnp.zeros((spec.num_envs,), jnp.int32),
        )

    def apply(self, state: DelayState, streams: Streams, batch: Transition):
        names = tuple(state.acc)
        select_streams(streams, names, "delay_rewards")
        rewards = jnp.stack([streams[n].reward for n in names], axis=-1)  # [T, N, K]
        acc0 = jnp.stack([state.acc[n] for n in names], axis=-1)

        def step(carry, xs):
            acc, steps = carry
            r, d = xs
            acc, steps = acc + r, steps + 1
            pay = d if self.interval is None else d | (steps % self.interval == 0)
            paid = jnp.where(pay[:, None], acc, 0.0)
            acc = jnp.where(pay[:, None], 0.0, acc)
            return (acc, jnp.where(d, 0, steps)), paid

        (acc, steps), paid = jax.lax.scan(step, (acc0, state.steps), (rewards, batch.done))
        out = map_rewards(streams, names, lambda n, _: paid[..., names.index(n)])
        return out, DelayState(acc={n: acc[:, i] for i, n in enumerate(names)}, steps=steps)


def delay_rewards(interval: int | None = None, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """Pay accumulated rewards every ``interval`` steps and at episode ends (see ``DelayRewards``)."""
    return DelayRewards(interval=interval, streams=_tuple(streams)).validate()


__all__ = [
    "BinaryNoise",
    "CorrectBinaryNoise",
    "DelayRewards",
    "DelayState",
    "GaussianNoise",
    "SignFlip",
    "binary_noise",
    "correct_binary_noise",
    "delay_rewards",
    "gaussian_noise",
    "sign_flip",
    "unbias_binary",
]
