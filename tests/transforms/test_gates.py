"""Gates (per step, per episode), multiplicative composition, coverage, per-episode counters."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_vmap_equals_alone, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import Stream, TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import chain, identity
from jaxrl_rewards.transforms.gates import capped_count, coverage, gate, multiplicative


def with_streams(batch, **extra):
    streams = env_streams(batch, 0.9)
    return {
        **streams,
        **{k: Stream(reward=jnp.asarray(v, jnp.float32), weight=jnp.float32(1.0)) for k, v in extra.items()},
    }


@functools.partial(jax.jit, static_argnames=("times",))
def run(transform, batch, streams, times=1):
    spec = TransformSpec(None, None, batch.reward.shape[1], tuple(sorted(streams)), batch)
    state = transform.init(jax.random.key(0), spec)
    outs = []
    for _ in range(times):
        out, state = transform.apply(state, streams, batch)
        outs.append(out)
    return outs, state


T, N = 5, 3
BATCH = make_batch(T, N)  # env 0 terminates at t=1, env 1 truncates at t=3
SEC = np.arange(T * N, dtype=np.float32).reshape(T, N) + 1.0


def test_step_gate_exact():
    streams = with_streams(BATCH, bonus=SEC)
    (out,), _ = run(gate("bonus", "task", threshold=0.0), BATCH, streams)
    np.testing.assert_array_equal(out["bonus"].reward, np.where(np.asarray(BATCH.reward) >= 0, SEC, 0.0))


def test_episode_gate_pays_at_episode_end_only_on_success():
    primary = np.zeros((T, N), np.float32)
    primary[1, 0] = 1.0  # env 0's episode (t=0..1) succeeds; env 1's (t=0..3) fails
    streams = with_streams(BATCH, bonus=SEC, outcome=primary)
    (out, out2), state = run(gate("bonus", "outcome", threshold=0.5, per="episode"), BATCH, streams, times=2)
    expected = np.zeros((T, N))
    expected[1, 0] = SEC[0, 0] + SEC[1, 0]
    np.testing.assert_array_equal(out["bonus"].reward, expected)
    # carried across batches: env 0's second episode (t=2..4) ends at t=1 of the next batch, and succeeds
    np.testing.assert_allclose(state.secondary, [SEC[2:, 0].sum(), SEC[4, 1], 2 * SEC[:, 2].sum()], rtol=1e-6)
    assert float(out2["bonus"].reward[1, 0]) == pytest.approx(SEC[2:, 0].sum() + SEC[0, 0] + SEC[1, 0])
    assert float(out2["bonus"].reward[3, 1]) == 0.0  # env 1 failed again


def test_multiplicative_exact():
    completion = np.zeros((T, N), np.float32)
    completion[4, 2] = 10.0
    completion[1, 0] = 10.0
    inf_a = np.zeros((T, N), np.float32)
    inf_a[[0, 2], 2] = 1.0  # two infractions of kind a before completion in env 2
    inf_b = np.zeros((T, N), np.float32)
    inf_b[3, 2] = 1.0
    streams = with_streams(BATCH, completion=completion, a=inf_a, b=inf_b)
    (out,), _ = run(multiplicative(("a", "b"), (0.5, 0.9), completion="completion"), BATCH, streams)
    assert float(out["completion"].reward[4, 2]) == pytest.approx(10 * 0.5**2 * 0.9)
    assert float(out["completion"].reward[1, 0]) == pytest.approx(10.0)
    # a terminal infraction zeroes everything after it in the episode
    (out,), _ = run(multiplicative(("a", "b"), (0.5, 0.9), completion="completion", terminal=("b",)), BATCH, streams)
    assert float(out["completion"].reward[4, 2]) == 0.0


def test_coverage_pays_marginal_gains_and_resets_per_episode():
    cells = np.asarray([[0, 1, 0], [0, 1, 1], [1, 1, 0], [2, 1, 0], [2, 0, 0]], np.float32)
    batch = BATCH.replace(next_obs=jnp.asarray(cells)[..., None])
    (out,), visited = run(coverage(lambda o: o[0], num_cells=3, bonus=0.5), batch, env_streams(batch, 0.9))
    expected = np.zeros((T, N))
    expected[0] = 1
    expected[1, 2] = 1
    # env 0: episode ends at t=1, new episode t=2.. sees cells 1, 2 (new), 2 (old)
    expected[2, 0] = expected[3, 0] = 1
    # env 1: cell 1 first at t=0; episode truncates at t=3; t=4 cell 0 in the new episode
    expected[4, 1] = 1
    np.testing.assert_array_equal(out["coverage"].reward, 0.5 * expected)
    np.testing.assert_array_equal(visited[0], [False, True, True])
    (out,), _ = run(coverage(lambda o: o[0], num_cells=3, per_episode=False), batch, env_streams(batch, 0.9))
    assert float(out["coverage"].reward[:, 0].sum()) == 3.0


def test_capped_count_exact():
    r = np.ones((T, N), np.float32)
    batch = BATCH.replace(reward=jnp.asarray(r))
    (out,), counts = run(capped_count(max_count=2), batch, env_streams(batch, 0.9))
    expected = np.asarray([[1, 1, 1], [1, 1, 1], [1, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    np.testing.assert_array_equal(out["task"].reward, expected)
    np.testing.assert_array_equal(counts, [3, 1, 5])


def test_vmap_over_threshold():
    streams = with_streams(BATCH, bonus=SEC)
    t = gate("bonus", "task", threshold=0.0)
    thresholds = jnp.asarray([-10.0, 0.0, 10.0])
    out = jax.vmap(lambda x: run(t.replace(threshold=x), BATCH, streams)[0][0]["bonus"].reward)(thresholds)
    np.testing.assert_array_equal(out[0], SEC)
    np.testing.assert_array_equal(out[2], 0 * SEC)


GATES = [
    gate("bonus", "task", 0.0),
    gate("bonus", "task", 0.5, per="episode"),
    capped_count("bonus", 2),
    coverage(lambda o: (o[0] > 0).astype(jnp.int32), 2),
]


@settings(max_examples=2, deadline=None)
@given(st.permutations(range(len(GATES))), st.integers(0, 4))
def test_chain_associativity_and_identity(order, split):
    ts = [GATES[i] for i in order][:3]
    streams = with_streams(BATCH, bonus=SEC)
    split = min(split, len(ts))
    (ref,), _ = run(chain(*ts), BATCH, streams)
    for other in (chain(chain(*ts[:split]), chain(*ts[split:])), chain(identity(), *ts, identity())):
        (out,), _ = run(other, BATCH, streams)
        for name in ref:
            np.testing.assert_array_equal(out[name].reward, ref[name].reward)


def test_bad_input():
    with pytest.raises(ConfigError, match="per"):
        gate("bonus", per="decade")
    with pytest.raises(ConfigError, match="secondary"):
        gate("task", "task")
    with pytest.raises(ConfigError, match="one factor"):
        multiplicative(("a",), (0.5, 0.5))
    with pytest.raises(ConfigError, match="factors"):
        multiplicative(("a",), (1.5,))
    with pytest.raises(ConfigError, match="max_count"):
        capped_count(max_count=0)
    with pytest.raises(ValueError, match="unknown stream"):
        run(gate("bonus", "task"), BATCH, env_streams(BATCH, 0.9))


def test_every_transform_in_vmap_equals_alone():
    """Each transform of this module run on a batch of 2 different batches under ``vmap`` gives
    the same streams as the 2 runs alone (one compile for all)."""
    batches = jax.tree.map(lambda *x: jnp.stack(x), BATCH, make_batch(T, N, seed=1))

    assert_vmap_equals_alone(lambda t, b: run(t, b, with_streams(b, bonus=SEC))[0][0], GATES, batches)
