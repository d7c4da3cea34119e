"""Running mean and variance as a pytree, merged batch by batch (Chan et al.'s parallel rule).

Merging a batch of ``n_b`` samples with mean ``m_b`` and variance ``v_b`` into ``(m, v, n)``:
``d = m_b - m``, ``n' = n + n_b``, ``m' = m + d n_b / n'``, ``v' = (v n + v_b n_b + d^2 n n_b / n') / n'``.

>>> import jax.numpy as jnp
>>> stats = RunningMeanStd.create().update(jnp.array([1.0, 2.0, 3.0])).update(jnp.array([4.0, 5.0]))
>>> round(float(stats.mean), 3), round(float(stats.var), 3)  # 1..5 (the prior count is 1e-4)
(3.0, 2.0)
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array


class RunningMeanStd(struct.PyTreeNode):
    """Running mean/variance of samples of shape ``shape``.

    Attributes:
        mean: running mean, ``shape``.
        var: running (population) variance, ``shape``.
        count: number of samples merged so far (float, starts at a tiny epsilon so the first
            merge is well defined).
    """

    mean: Array
    var: Array
    count: Array

    @classmethod
    def create(cls, shape: tuple[int, ...] = ()) -> RunningMeanStd:
        """Empty statistics (mean 0, variance 1) for samples of ``shape``."""
        return cls(
            mean=jnp.zeros(shape, jnp.float32),
            var=jnp.ones(shape, jnp.float32),
            count=jnp.float32(1e-4),
        )

    def update(self, batch: Array) -> RunningMeanStd:
        """Merge a batch ``[B, *shape]`` (any number of leading axes) into the statistics."""
        event_ndim = self.mean.ndim
        batch = jnp.asarray(batch, jnp.float32)
        flat = batch.reshape((-1, *batch.shape[batch.ndim - event_ndim :]))
        batch_count = jnp.float32(flat.shape[0])
        batch_mean = flat.mean(axis=0)
        batch_var = flat.var(axis=0)
        delta = batch_mean - self.mean
        total = self.count + batch_count
        mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        return RunningMeanStd(mean=mean, var=m2 / total, count=total)

    @property
    def std(self) -> Array:
        """Running standard deviation, ``shape``."""
        return jnp.sqrt(self.var)

    def normalize(self, x: Array, clip: Array | float | None = None, eps: float = 1e-8) -> Array:
        """``(x - mean) / sqrt(var + eps)``, optionally clipped to ``[-clip, clip]``."""
        y = (x - self.mean) / jnp.sqrt(self.var + eps)
        return y if clip is None else jnp.clip(y, -clip, clip)
