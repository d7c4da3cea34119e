"""The transform contracts: argument order of ``update``, static stream kinds, ``validate``."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents import ppo
from jaxrl_rewards.core.streams import check_streams, env_streams, spec_kinds, streams_of_kind
from jaxrl_rewards.core.types import STREAM_KINDS, Stream, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import (
    RewardTransform,
    chain,
    count_bonus,
    lagrangian,
    lift,
    potential_shaping,
    rnd_bonus,
    scale,
    threshold_weights,
    transform_from_functions,
)
from jaxrl_rewards.transforms.learned import kl_penalty, preference_reward_model
from jaxrl_rewards.transforms.registry import build_transform, transform_options

T, N = 4, 2
PREFS = preference_reward_model(replace_target=False, segment_length=2, hidden_sizes=(4,))


def make_batch(cost_dims=2, components=True, true_reward=True, obs_dim=3):
    info = {}
    if cost_dims:
        info["cost"] = jnp.ones((T, N, cost_dims)) if cost_dims > 1 else jnp.ones((T, N))
    if components:
        info["rewards"] = {"speed": jnp.ones((T, N)), "energy": -jnp.ones((T, N))}
    if true_reward:
        info["true_reward"] = jnp.zeros((T, N))
    obs = jnp.arange(T * N * obs_dim, dtype=jnp.float32).reshape(T, N, obs_dim) / 10.0
    return Transition(
        obs=obs,
        action=jnp.zeros((T, N), jnp.int32),
        next_obs=obs + 0.1,
        reward=jnp.ones((T, N)),
        terminated=jnp.zeros((T, N), bool).at[-1, 0].set(True),
        truncated=jnp.zeros((T, N), bool),
        info=info,
    )


def spec_of(batch, names=None):
    example = jax.tree.map(lambda x: x[:1], batch)
    names = tuple(sorted(env_streams(example, 0.99))) if names is None else names
    return TransformSpec(None, None, N, names, example)


def test_env_streams_carry_their_kinds():
    streams = env_streams(make_batch(), 0.99)
    kinds = {name: s.kind for name, s in streams.items()}
    assert kinds == {
        "task": "task",
        "cost_0": "cost",
        "cost_1": "cost",
        "reward_speed": "component",
        "reward_energy": "component",
        "true_reward": "true_reward",
    }
    assert streams_of_kind(streams, "cost") == ("cost_0", "cost_1")
    assert streams_of_kind(streams, "intrinsic") == ()
    assert env_streams(make_batch(cost_dims=1), 0.99)["cost"].kind == "cost"
    with pytest.raises(ValueError, match="unknown stream kind 'costs'"):
        streams_of_kind(streams, "costs")


def test_kind_is_static_and_default_other():
    s = Stream(reward=jnp.zeros((T, N)))
    assert s.kind == "other"
    leaves, treedef = jax.tree.flatten(s.replace(kind="cost"))
    assert len(leaves) == 3  # reward, weight, discount: kind is not a leaf
    assert jax.tree.unflatten(treedef, leaves).kind == "cost"
    with pytest.raises(ValueError, match="kind 'bonus'"):
        check_streams({"x": s.replace(kind="bonus")}, (T, N))
    assert set(STREAM_KINDS) >= {"task", "cost", "component", "intrinsic", "other"}


def test_spec_kinds_read_from_the_example_or_given():
    batch = make_batch()
    spec = spec_of(batch, names=("cost_0", "cost_1", "extra", "task"))
    assert spec_kinds(spec) == {"cost_0": "cost", "cost_1": "cost", "extra": "other", "task": "task"}
    given = spec._replace(kinds=("cost", "task", "cost", "task"))
    assert spec_kinds(given)["extra"] == "cost"


@pytest.mark.parametrize(
    "transform, name, kind",
    [
        (rnd_bonus(embed_dim=4, hidden_sizes=(8,), num_updates=1), "intrinsic", "intrinsic"),
        (count_bonus(index="simhash", hash_bits=4), "intrinsic", "intrinsic"),
        (potential_shaping(lambda o: o.sum(), as_stream="shaped"), "shaped", "shaping"),
        (lift(lambda o, a, o2, i: 1.0, "bonus"), "bonus", "other"),
        (lift(lambda o, a, o2, i: 1.0, "bonus", kind="intrinsic"), "bonus", "intrinsic"),
        (
            preference_reward_model(replace_target=False, segment_length=2, hidden_sizes=(4,)),
            "learned_reward",
            "learned",
        ),
    ],
)
def test_added_streams_have_kinds(transform, name, kind):
    batch = make_batch()
    spec = spec_of(batch)
    state = transform.init(jax.random.key(0), spec)
    out, _ = transform.apply(state, env_streams(batch, 0.99), batch)
    assert out[name].kind == kind
    assert out["task"].kind == "task"  # untouched streams keep theirs


def test_penalty_stream_kind():
    batch = make_batch()
    batch = batch.replace(info={**batch.info, "policy_log_prob": jnp.zeros((T, N))})
    out, _ = kl_penalty().apply((), env_streams(batch, 0.99), batch)
    assert out["kl_penalty"].kind == "penalty"


def test_lagrangian_finds_cost_streams_by_kind_not_name():
    batch = make_batch(cost_dims=0, components=False)
    streams = env_streams(batch, 0.99)
    # a stream named like a cost is not constrained unless its kind is "cost" ...
    streams["cost_like"] = Stream(reward=jnp.ones((T, N)), kind="other")
    streams["hazard"] = Stream(reward=2 * jnp.ones((T, N)), kind="cost")
    t = lagrangian(1.0, lambda_init=0.5)
    spec = spec_of(batch)._replace(
        streams=tuple(sorted(streams)), kinds=tuple(streams[n].kind for n in sorted(streams))
    )
    state = t.init(jax.random.key(0), spec)
    out, state = t.apply(state, streams, batch)
    np.testing.assert_allclose(out["hazard"].weight, -0.5 / 1.5, rtol=1e-6)
    np.testing.assert_allclose(out["cost_like"].weight, 1.0 / 1.5, rtol=1e-6)
    _, metrics = t.update(state, out, batch, jax.random.key(1))
    assert "lagrangian/lambda/hazard" in metrics and "lagrangian/lambda/cost_like" not in metrics


def test_chain_passes_kinds_to_later_members():
    # the Lagrangian after a member that adds a cost-kind stream sees it in init (via the spec)
    batch = make_batch(cost_dims=0, components=False)
    adds_cost = lift(lambda o, a, o2, i: o2.sum(), "hazard", weight=0.0, kind="cost")
    t = chain(adds_cost, lagrangian(1.0))
    state = t.init(jax.random.key(0), spec_of(batch))
    out, state = t.apply(state, env_streams(batch, 0.99), batch)
    assert out["hazard"].kind == "cost" and float(out["hazard"].weight) == 0.0
    assert state[1].lam.shape == (1,)


def test_update_takes_streams_before_batch():
    params = list(inspect.signature(RewardTransform.update).parameters)
    assert params == ["self", "state", "streams", "batch", "key"]
    seen = {}

    def update(h, state, streams, batch, key):
        seen["streams"], seen["batch"] = type(streams), type(batch)
        return state + 1, {"mean_reward": batch.reward.mean() + h}

    t = transform_from_functions(init=lambda h, k, s: jnp.int32(0), update=update, hparams=jnp.float32(1.0))
    both = chain(scale(2.0), t)
    batch = make_batch()
    state = both.init(jax.random.key(0), spec_of(batch))
    out, state = both.apply(state, env_streams(batch, 0.99), batch)
    state, metrics = both.update(state, out, batch, jax.random.key(1))
    assert seen == {"streams": dict, "batch": Transition}
    assert int(state[1]) == 1 and float(metrics["mean_reward"]) == 2.0


def test_new_order_transform_trains_in_an_agent():

    class CountUpdates(RewardTransform):
        def init(self, key, spec):
            return jnp.int32(0)

        def update(self, state, streams, batch, key):
            assert isinstance(streams, dict) and isinstance(batch, Transition)
            return state + 1, {"updates": state + 1, "task_mean": streams["task"].reward.mean()}

    cfg = ppo.make_config(
        "CartPole-v1",
        transform=CountUpdates(),
        num_envs=2,
        num_steps=8,
        total_timesteps=64,
        num_evals=1,
        num_minibatches=1,
        update_epochs=1,
    )
    _, metrics = jax.jit(ppo.train)(cfg, jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(metrics["transform/updates"]).ravel(), np.arange(1, 5))


def test_validate_errors_name_the_field_and_choices():
    with pytest.raises(
        ConfigError, match=r"lagrangian: rule must be one of \['gradient', 'pid', 'augmented', 'switch'\]"
    ):
        lagrangian(1.0).replace(rule="adam").validate()
    with pytest.raises(ConfigError, match="lagrangian: alpha_p must lie in"):
        lagrangian(1.0, alpha_p=1.5)
    with pytest.raises(ConfigError, match="option 'lr' is now called 'learning_rate'"):
        lagrangian(1.0, lr=0.1)
    with pytest.raises(ConfigError, match=r"unknown option 'kpp'.*did you mean 'kp'"):
        lagrangian(1.0, kpp=0.1)
    with pytest.raises(ConfigError, match="rnd_bonus: update_proportion"):
        rnd_bonus(update_proportion=2.0)
    with pytest.raises(ConfigError, match="lift: kind must be one of"):
        lift(lambda o, a, o2, i: 0.0, "x", kind="bonus")
    with pytest.raises(ConfigError, match="threshold_weights: learning_rate must be >= 0"):
        threshold_weights(1.0, ("reward_a",), learning_rate=-1.0)


def test_validate_checks_batched_values_and_skips_tracers():
    t = lagrangian(1.0)
    assert t.replace(limits=jnp.array([0.5, 1.0, 2.0])).validate() is not None  # a sweep over one limit
    with pytest.raises(ConfigError, match="limits must be >= 0"):
        t.replace(limits=jnp.array([0.5, -1.0])).validate()
    with pytest.raises(ConfigError, match="lambda_init must be >= 0"):
        chain(scale(2.0), t.replace(lambda_init=jnp.array([0.1, -0.1]))).validate()
    jax.jit(lambda lr: t.replace(learning_rate=lr).validate().learning_rate)(jnp.float32(-1.0))  # traced: skipped


def test_agent_validate_calls_transform_validate():

    cfg = ppo.make_config("CartPole-v1", num_envs=2, num_steps=8, total_timesteps=64, num_evals=1, num_minibatches=1)
    with pytest.raises(ConfigError, match="rnd_bonus: obs_clip must be > 0"):
        ppo.validate(cfg.replace(transform=rnd_bonus().replace(obs_clip=0.0)))


def test_factories_show_the_class_fields():
    opts = transform_options("lagrangian")
    assert opts["learning_rate"] == 0.05 and opts["rule"] == "pid" and "sense" not in opts
    assert transform_options("threshold_weights")["rule"] == "gradient"
    assert transform_options("rnd")["normalize"] is True and transform_options("e3b")["episodic"] is True
    assert "tau" not in transform_options("prediction_error") and "tau" in transform_options("learning_progress")
    two = build_transform({"name": "lagrangian", "limits": [1.0, 2.0], "learning_rate": 0.2})
    assert two.learning_rate == 0.2 and two.limits.shape == (2,)
