"""Static, dynamic and conditioned objective weights (linear and Chebyshev)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_vmap_equals_alone, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import chain, identity
from jaxrl_rewards.transforms.objectives import (
    chebyshev_utility,
    conditioned_scalarization,
    dynamic_weights,
    static_weights,
)

T, N = 5, 3
RNG = np.random.default_rng(0)
A = RNG.normal(size=(T, N)).astype(np.float32)
B = (100 * RNG.normal(size=(T, N))).astype(np.float32)
W = RNG.dirichlet([1.0, 1.0], size=(T, N)).astype(np.float32)
BATCH = make_batch(T, N, info={"rewards": {"a": jnp.asarray(A), "b": jnp.asarray(B)}, "weights": jnp.asarray(W)})


@functools.partial(jax.jit, static_argnames=("times",))
def run(transform, batch=BATCH, times=1):
    streams0 = env_streams(batch, 0.9)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, N, tuple(sorted(streams0)), batch))
    for i in range(times):
        streams, state = transform.apply(state, streams0, batch)
        state, metrics = transform.update(state, streams, batch, jax.random.key(i))
    return streams, state, metrics


def test_static_weights():
    out, _, _ = run(static_weights({"reward_a": 0.25, "reward_b": 2.0}, others=0.0))
    assert float(out["reward_a"].weight) == 0.25 and float(out["reward_b"].weight) == 2.0
    assert float(out["task"].weight) == 0.0
    out, _, _ = run(static_weights({"reward_a": 0.25}))
    assert float(out["task"].weight) == 1.0


def test_inverse_magnitude_weights_exact():
    out, _state, _ = run(dynamic_weights(("reward_a", "reward_b")))
    m = np.asarray([np.abs(A).sum(), np.abs(B).sum()]) / (1e-4 + A.size)
    inv = 1 / (m + 1e-6)
    np.testing.assert_allclose([out["reward_a"].weight, out["reward_b"].weight], inv / inv.sum(), rtol=1e-4)
    assert float(out["reward_a"].weight) > 0.95  # the small-scale objective gets most weight


def test_least_satisfied_moves_toward_the_lagging_objective():
    # episode returns: env 0 ends at t=1, env 1 at t=3 -> returns are sums over those steps
    t = dynamic_weights(("reward_a", "reward_b"), "least_satisfied", targets=(1e3, -1e3), rate=0.5)
    _, state, _metrics = run(t, times=1)
    ends = [(0, slice(0, 2)), (1, slice(0, 4))]
    returns = np.mean([[A[s, e].sum(), B[s, e].sum()] for e, s in ends], axis=0)
    np.testing.assert_allclose(state.returns, returns, rtol=1e-5)
    np.testing.assert_allclose(state.weights, [0.75, 0.25])  # a is far below its target
    _, state, _ = run(t, times=3)
    assert float(state.weights[0]) > 0.9


def test_linear_conditioned_scalarization_exact():
    out, _, _ = run(conditioned_scalarization(("reward_a", "reward_b"), scales=(1.0, 10.0)))
    np.testing.assert_allclose(out["task"].reward, W[..., 0] * A + W[..., 1] * B / 10, rtol=1e-5)
    assert float(out["task"].weight) == 1.0


def test_chebyshev_pays_telescoping_utility_differences():
    utopia = (5.0, 50.0)
    t = conditioned_scalarization(("reward_a", "reward_b"), "chebyshev", scales=(1.0, 10.0), utopia=utopia)
    out, state, _ = run(t)
    r = np.stack([A, B / 10], -1)
    done = np.asarray(BATCH.done)
    g = np.zeros((N, 2))
    expected = np.zeros((T, N))
    for s in range(T):
        w = W[s]
        expected[s] = -np.max(w * (np.asarray(utopia) - g - r[s]), -1) + np.max(w * (np.asarray(utopia) - g), -1)
        g = np.where(done[s][:, None], 0.0, g + r[s])
    np.testing.assert_allclose(out["task"].reward, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state, g, rtol=1e-5)
    # env 0's first episode (t=0..1): payments sum to U(G) - U(0)
    G = r[:2, 0].sum(0)
    total = float(chebyshev_utility(jnp.asarray(G), jnp.asarray(W[1, 0]), jnp.asarray(utopia)))
    total -= float(chebyshev_utility(jnp.zeros(2), jnp.asarray(W[0, 0]), jnp.asarray(utopia)))
    if np.allclose(W[0, 0], W[1, 0]):
        assert float(out["task"].reward[:2, 0].sum()) == pytest.approx(total, rel=1e-4)


def test_chebyshev_telescopes_with_constant_weights():
    batch = BATCH.replace(info={**BATCH.info, "weights": jnp.broadcast_to(jnp.asarray([0.3, 0.7]), (T, N, 2))})
    t = conditioned_scalarization(("reward_a", "reward_b"), "chebyshev", utopia=(5.0, 500.0))
    out, _, _ = run(t, batch)
    G = np.asarray([A[:2, 0].sum(), B[:2, 0].sum()])
    u = lambda x: -np.max(np.asarray([0.3, 0.7]) * (np.asarray([5.0, 500.0]) - x))
    assert float(out["task"].reward[:2, 0].sum()) == pytest.approx(u(G) - u(np.zeros(2)), rel=1e-4)


def test_vmap_over_static_weight():
    t = static_weights({"reward_a": 1.0})
    ws = jnp.asarray([0.0, 0.5, 1.0])
    out = jax.vmap(lambda w: run(t.replace(weights=(w,)))[0]["reward_a"].weight)(ws)
    np.testing.assert_allclose(out, ws)


OBJ = [
    static_weights({"reward_a": 0.5}),
    dynamic_weights(("reward_a", "reward_b")),
    conditioned_scalarization(("reward_a", "reward_b")),
    conditioned_scalarization(("reward_a", "reward_b"), "chebyshev", utopia=(1.0, 1.0)),
]


@settings(max_examples=2, deadline=None)
@given(st.permutations(range(len(OBJ))), st.integers(0, 4))
def test_chain_associativity_and_identity(order, split):
    ts = [OBJ[i] for i in order][:3]
    split = min(split, len(ts))
    ref, _, _ = run(chain(*ts))
    for other in (chain(chain(*ts[:split]), chain(*ts[split:])), chain(identity(), *ts, identity())):
        out, _, _ = run(other)
        for name in ref:
            np.testing.assert_array_equal(out[name].reward, ref[name].reward)
            np.testing.assert_array_equal(out[name].weight, ref[name].weight)


def test_bad_input():
    with pytest.raises(ConfigError, match="utility"):
        conditioned_scalarization(("a",), "max")
    with pytest.raises(ConfigError, match="utopia"):
        conditioned_scalarization(("a", "b"), "chebyshev")
    with pytest.raises(ConfigError, match="target"):
        dynamic_weights(("a", "b"), "least_satisfied")
    with pytest.raises(ConfigError, match="mode"):
        dynamic_weights(("a",), "loudest")
    with pytest.raises(ConfigError, match="finite"):
        static_weights({"a": float("inf")})
    with pytest.raises(ValueError, match="weights"):
        run(
            conditioned_scalarization(("reward_a", "reward_b")),
            make_batch(T, N, info=dict(BATCH.info)).replace(info={"rewards": BATCH.info["rewards"]}),
        )


def test_every_transform_in_vmap_equals_alone():
    """Each transform of this module run on a batch of 2 different batches under ``vmap`` gives
    the same streams as the 2 runs alone (one compile for all)."""
    batches = jax.tree.map(lambda *x: jnp.stack(x), BATCH, BATCH.replace(reward=BATCH.reward + 1.0))

    assert_vmap_equals_alone(lambda t, b: run(t, b)[0], OBJ, batches)
