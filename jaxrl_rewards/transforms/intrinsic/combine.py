"""Episodic x global bonus combinations (Henaff, Jiang & Raileanu 2023, "A Study of Global and
Episodic Bonuses for Exploration in Contextual MDPs"; NGU, Badia et al. 2020, uses a product).

An *episodic* bonus (episodic counts, E3B) rewards novelty within the current episode and stays
useful when every episode is a new context; a *global* bonus (counts, RND) rewards novelty over
the whole of training and shines when contexts repeat. Combined:

    product: b = b_episodic * b_global
    sum:     b = b_episodic + global_weight * b_global

Each part keeps its own state and learns in ``update``; its components are logged as
``<name>/episodic_<component>`` and ``<name>/global_<component>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_nonnegative
from jaxrl_rewards.transforms.intrinsic.base import IntrinsicBonus, check_choice

MODES = ("product", "sum")


class CombinedBonus(IntrinsicBonus):
    """``b_episodic * b_global`` or ``b_episodic + global_weight * b_global`` (module docstring)."""

    WHO: ClassVar[str] = "combine_bonuses"

    episodic_part: IntrinsicBonus | None = None
    global_part: IntrinsicBonus | None = None
    global_weight: Array | float = 1.0
    mode: str = struct.field(pytree_node=False, default="product")

    def validate(self) -> CombinedBonus:
        """Both parts intrinsic bonuses (validated), ``mode`` one of ``MODES``,
        ``global_weight >= 0`` (and the common bonus checks)."""
        super().validate()
        who = self.WHO
        for part, label in ((self.episodic_part, "episodic_part"), (self.global_part, "global_part")):
            if not isinstance(part, IntrinsicBonus):
                raise ConfigError(f"{who}: {label} must be an intrinsic bonus, got {type(part).__name__}")
            part.validate()
        check_choice(self.mode, MODES, f"{who}: mode")
        check_nonnegative(self.global_weight, f"{who}: global_weight")
        return self

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> tuple[Any, Any]:
        k1, k2 = jax.random.split(key)
        return self.episodic_part.init(k1, spec), self.global_part.init(k2, spec)

    def compute(self, model: tuple[Any, Any], batch: Transition) -> tuple[Array, Any, dict[str, Array]]:
        b_ep, s_ep = self.episodic_part.bonus(model[0], batch)
        b_gl, s_gl = self.global_part.bonus(model[1], batch)
        bonus = b_ep * b_gl if self.mode == "product" else b_ep + self.global_weight * b_gl
        return bonus, (s_ep, s_gl), {"episodic_mean": b_ep.mean(), "global_mean": b_gl.mean()}

    def learn(self, model: tuple[Any, Any], batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        k1, k2 = jax.random.split(key)
        s_ep, m_ep = self.episodic_part.update(model[0], {}, batch, k1)
        s_gl, m_gl = self.global_part.update(model[1], {}, batch, k2)
        metrics = {f"episodic_{k.split('/', 1)[-1]}": v for k, v in m_ep.items()}
        metrics.update({f"global_{k.split('/', 1)[-1]}": v for k, v in m_gl.items()})
        return (s_ep, s_gl), metrics


def combine_bonuses(
    episodic_part: IntrinsicBonus,
    global_part: IntrinsicBonus,
    *,
    mode: str = "product",
    global_weight: float = 1.0,
    coef: float = 1.0,
    discount: float = 0.99,
    episodic: bool = True,
    normalize: bool = False,
    name: str = "intrinsic",
) -> CombinedBonus:
    """Combine an episodic and a global bonus into one stream ``name`` (module docstring).

    The parts' own ``coef``/``discount``/``episodic``/``name`` are ignored (only their bonus
    values are used); their ``normalize`` setting applies to their part.
    """
    return CombinedBonus(
        episodic_part=episodic_part,
        global_part=global_part,
        mode=mode,
        global_weight=global_weight,
        coef=coef,
        discount=discount,
        episodic=episodic,
        normalize=normalize,
        name=name,
    ).validate()
