import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.transforms import (
    Chain,
    Identity,
    RewardTransform,
    add_term,
    chain,
    clip,
    identity,
    lift,
    normalize_rewards,
    scale,
    transform_from_functions,
)


def spec_for(batch, names=("task",)):
    return TransformSpec(None, None, batch.reward.shape[1], names, batch)


def run(transform, batch, key=0, times=1):
    """init + ``times`` x (apply, update); returns final streams, state and metrics."""
    state = transform.init(jax.random.key(key), spec_for(batch))
    for _ in range(times):
        streams, state = transform.apply(state, env_streams(batch, 0.9), batch)
        state, metrics = transform.update(state, streams, batch, jax.random.key(key + 1))
    return streams, state, metrics


def test_identity_leaves_streams_unchanged(batch):
    streams, state, metrics = run(identity(), batch)
    np.testing.assert_array_equal(streams["task"].reward, batch.reward)
    assert state == () and metrics == {}


def test_chain_flattens_and_drops_identities():
    a, b, c = scale(2.0), clip(-1.0, 1.0), normalize_rewards()
    names = ("scale", "clip", "normalize_rewards")
    assert chain(a, chain(b, c)) == chain(chain(a, b), c) == Chain((a, b, c), names=names)
    assert chain(identity(), a, identity()) == Chain((a,), names=("scale",))
    assert chain() == Chain(())
    with pytest.raises(TypeError, match="RewardTransform"):
        chain(a, lambda x: x)


def test_chain_applies_left_to_right(batch):
    streams, _, _ = run(chain(scale(3.0), clip(-1.0, 1.0)), batch)
    np.testing.assert_allclose(streams["task"].reward, np.clip(3 * np.asarray(batch.reward), -1, 1), rtol=1e-6)
    streams, _, _ = run(chain(clip(-1.0, 1.0), scale(3.0)), batch)
    np.testing.assert_allclose(streams["task"].reward, 3 * np.clip(np.asarray(batch.reward), -1, 1), rtol=1e-6)


TRANSFORMS = st.sampled_from(
    [
        identity(),
        scale(2.0),
        scale(-0.5),
        clip(-0.5, 0.5),
        normalize_rewards(),
        lift(lambda o, a, n, i: o[0], "bonus"),
        add_term(lambda o, a, n, i: n.sum(), coef=0.1),
    ]
)


@settings(max_examples=25, deadline=None)
@given(st.lists(TRANSFORMS, min_size=0, max_size=4, unique_by=id), st.integers(0, 3))
def test_chain_is_associative_and_identity_is_neutral(transforms, split):
    """Property: grouping never changes the output, and identities can be inserted anywhere."""
    batch = make_batch(4, 2)
    split = min(split, len(transforms))
    flat = chain(*transforms)
    grouped = chain(chain(*transforms[:split]), chain(*transforms[split:]))
    padded = chain(identity(), *transforms, identity())
    reference, _, _ = run(flat, batch, times=2)
    for other in (grouped, padded):
        out, _, _ = run(other, batch, times=2)
        assert sorted(out) == sorted(reference)
        for name in reference:
            np.testing.assert_array_equal(out[name].reward, reference[name].reward)


def test_lift_adds_a_stream_with_metadata(batch):
    t = lift(lambda o, a, n, i: n[0] - o[0], "progress", weight=0.5, discount=0.7, episodic=False)
    streams, _, _ = run(t, batch)
    np.testing.assert_allclose(streams["progress"].reward, batch.next_obs[..., 0] - batch.obs[..., 0])
    assert float(streams["progress"].weight) == 0.5
    assert float(streams["progress"].discount) == pytest.approx(0.7)
    assert streams["progress"].episodic is False
    # default discount copies the task stream's
    streams, _, _ = run(lift(lambda o, a, n, i: 1.0, "one"), batch)
    assert float(streams["one"].discount) == pytest.approx(0.9)


def test_lift_refuses_to_overwrite(batch):
    with pytest.raises(ValueError, match="already exists"):
        run(lift(lambda o, a, n, i: 1.0, "task"), batch)


def test_add_term_adds_to_existing_stream(batch):
    streams, _, _ = run(add_term(lambda o, a, n, i: a.astype(jnp.float32), coef=2.0), batch)
    np.testing.assert_allclose(streams["task"].reward, np.asarray(batch.reward) + 2 * np.asarray(batch.action))
    with pytest.raises(ValueError, match="no stream 'cost'"):
        run(add_term(lambda o, a, n, i: 1.0, to="cost"), batch)


def test_transform_from_functions_with_sweepable_hparams(batch):
    def apply(h, state, streams, b):
        task = streams["task"]
        return {**streams, "task": task.replace(reward=task.reward + h["shift"])}, state + 1

    def update(h, state, streams, b, key):
        return state, {"calls": jnp.float32(state)}

    t = transform_from_functions(init=lambda h, k, s: jnp.int32(0), apply=apply, update=update, hparams={"shift": 1.5})
    streams, state, metrics = run(t, batch, times=3)
    np.testing.assert_allclose(streams["task"].reward, np.asarray(batch.reward) + 1.5)
    assert int(state) == 3 and float(metrics["calls"]) == 3.0

    # the hyperparameter is a pytree leaf: vmap over it
    shifts = jnp.array([0.0, 1.0, 2.0])
    ts = t.replace(hparams={"shift": shifts})
    axes = t.replace(hparams={"shift": 0})

    def first_reward(tr):
        s, _ = tr.apply(jnp.int32(0), env_streams(batch, 0.9), batch)
        return s["task"].reward[0, 0]

    out = jax.vmap(first_reward, in_axes=(axes,))(ts)
    np.testing.assert_allclose(out, float(batch.reward[0, 0]) + np.asarray(shifts), rtol=1e-6)


def test_chain_metric_collisions_are_disambiguated(batch):
    t = chain(normalize_rewards(), normalize_rewards())
    _, _, metrics = run(t, batch)
    assert set(metrics) == {
        "normalize_rewards/normalize/task_return_std",
        "normalize_rewards_2/normalize/task_return_std",
    }


def test_base_class_is_identity(batch):
    class Nothing(RewardTransform):
        pass

    streams, _state, _metrics = run(Nothing(), batch)
    np.testing.assert_array_equal(streams["task"].reward, batch.reward)
    assert isinstance(identity(), Identity)


def test_chain_init_sees_streams_added_by_earlier_transforms():
    from jaxrl_rewards.core.types import TransformSpec
    from jaxrl_rewards.transforms import normalize_rewards
    from jaxrl_rewards.transforms.core import streams_after

    batch = make_batch(T=4, N=3)
    bonus = lift(lambda obs, action, next_obs, info: jnp.ones(()), name="bonus")
    spec = TransformSpec(None, None, 3, ("task",), jax.tree.map(lambda x: x[:1], batch))
    assert streams_after(bonus, bonus.init(jax.random.key(0), spec), spec) == ("bonus", "task")
    # normalising a stream that only exists after `bonus` would fail at init if the chain
    # handed every transform the env's streams
    both = chain(bonus, normalize_rewards(streams=("bonus",)))
    state = both.init(jax.random.key(0), spec)
    streams, _ = both.apply(state, env_streams(batch, 0.9), batch)
    assert set(streams) == {"bonus", "task"}
    with pytest.raises(Exception, match="bonus"):
        normalize_rewards(streams=("bonus",)).init(jax.random.key(0), spec)
