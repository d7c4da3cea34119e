"""Distilled annotator bonus: classification and ranking from few labels, with a budget."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import annotator as ann


def _batch(seed):
    obs = jnp.asarray(np.random.default_rng(seed).normal(size=(16, 4, 2)), jnp.float32)
    return Transition(
        obs, jnp.zeros((16, 4), jnp.int32), obs, jnp.zeros((16, 4)), jnp.zeros((16, 4), bool), jnp.zeros((16, 4), bool)
    )


@pytest.mark.parametrize("mode", ["classification", "ranking"])
def test_bonus_is_learned_from_a_budget_of_labels(mode):
    labeler = (lambda o: (o[0] > 0).astype(jnp.float32)) if mode == "classification" else (lambda o: o[0])
    bonus = ann.annotator_bonus(
        labeler,
        mode=mode,
        coef=0.5,
        queries_per_update=16,
        max_queries=40,
        num_updates=60,
        hidden_sizes=(16,),
        learning_rate=1e-2,
    )
    batch = _batch(0)
    example = jax.tree.map(lambda x: x[:1], batch)
    spec = TransformSpec(spaces.Box(-5, 5, (2,)), spaces.Discrete(1), 4, ("task",), example)
    state = bonus.init(jax.random.key(0), spec)
    update = jax.jit(bonus.update)
    for i in range(3):
        state, metrics = update(state, env_streams(batch, 0.99), _batch(i), jax.random.key(i))
    assert int(state.queries) == 40 and float(metrics["annotator/queries"]) == 40  # budget respected
    probe = jnp.array([[[2.0, 0.0], [-2.0, 0.0]]])
    values = np.asarray(bonus.bonus(state, probe))[0]
    assert values[0] > values[1]
    if mode == "classification":
        assert values[0] > 0.8 and values[1] < 0.2
    out, _ = bonus.apply(state, env_streams(batch, 0.99), batch)
    assert float(out["annotator"].weight) == 0.5 and out["annotator"].reward.shape == (16, 4)


def test_bad_input():
    with pytest.raises(ConfigError, match="mode"):
        ann.annotator_bonus(lambda o: o[0], mode="regression")
    with pytest.raises(ConfigError, match="function"):
        ann.annotator_bonus(3)
