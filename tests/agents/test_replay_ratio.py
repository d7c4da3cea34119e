"""Adaptive replay ratio (``agents.replay_ratio``): the FAU against a hand computation, the
switch rule on a hand-made FAU sequence, DQN's gradient-step counts, and config errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import dqn
from jaxrl_rewards.agents.replay_ratio import ReplayRatioState, active_fraction, dynamic_updates, next_ratio_state
from jaxrl_rewards.core.networks import MultiStreamQNetwork
from jaxrl_rewards.core.validation import ConfigError


@pytest.mark.parametrize("layer_norm", [False, True])
def test_active_fraction_counts_positive_hidden_preactivations(layer_norm):
    net = MultiStreamQNetwork(num_actions=3, num_streams=2, hidden_sizes=(5, 4), layer_norm=layer_norm)
    x = jax.random.normal(jax.random.key(0), (7, 6))
    params = net.init(jax.random.key(1), x)
    p = jax.tree.map(np.asarray, params)["params"]["NormedMLP_0"]

    def norm(z, i):  # flax LayerNorm: (z - mean) / sqrt(var + 1e-6) * scale + bias
        if not layer_norm:
            return z
        ln = p[f"LayerNorm_{i}"]
        mu, var = z.mean(-1, keepdims=True), z.var(-1, keepdims=True)
        return (z - mu) / np.sqrt(var + 1e-6) * ln["scale"] + ln["bias"]

    z1 = norm(np.asarray(x) @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"], 0)
    z2 = norm(np.maximum(z1, 0) @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"], 1)
    expected = ((z1 > 0).sum() + (z2 > 0).sum()) / (7 * 5 + 7 * 4)  # the head is not counted
    assert float(active_fraction(net, params, x)) == pytest.approx(expected, abs=1e-7)


def test_switch_happens_at_the_first_check_whose_fau_is_within_tolerance():
    # checks every 2 iterations once learning: iteration 0 not learning, then FAU 0.9, 0.6, 0.55
    faus = {0: 0.1, 1: 0.0, 2: 0.9, 3: 0.0, 4: 0.6, 5: 0.0, 6: 0.55, 7: 0.0, 8: 0.1}
    state, highs, refs = ReplayRatioState.create(), [], []
    for it, fau in faus.items():
        state = next_ratio_state(state, jnp.float32(fau), jnp.int32(it), 2, jnp.float32(0.1), jnp.bool_(it > 0))
        highs.append(bool(state.high))
        refs.append(float(state.reference))
    # |0.6 - 0.9| = 0.3 >= 0.1; |0.55 - 0.6| = 0.05 < 0.1 -> high from iteration 6 on, for good
    assert highs == [False] * 6 + [True] * 3
    assert refs == pytest.approx([2.0, 2.0, 0.9, 0.9, 0.6, 0.6, 0.55, 0.55, 0.1])


def test_dynamic_updates_runs_a_traced_number_of_steps_per_run():
    def step(c, k):
        return c + 1.0, (c, 2.0 * c)

    counts = jnp.array([0, 1, 3])
    carry, loss, aux = jax.jit(jax.vmap(lambda n: dynamic_updates(step, jnp.float32(0.0), jax.random.key(0), n)))(
        counts
    )
    np.testing.assert_array_equal(carry, [0.0, 1.0, 3.0])
    np.testing.assert_allclose(loss, [0.0, 0.0, 1.0])  # mean of 0, 1, 2
    np.testing.assert_allclose(aux, [0.0, 0.0, 2.0])


def _config(**overrides):
    base = dict(
        num_envs=2,
        buffer_size=64,
        batch_size=8,
        learning_starts=8,
        hidden_sizes=(16,),
        total_timesteps=2 * 12,
        num_evals=1,
        eval_episodes=1,
        eval_max_steps=10,
        num_updates=1,
        max_num_updates=3,
        rr_check_every=2,
    )
    return dqn.make_config("CartPole-v1", **{**base, **overrides})


def test_dqn_takes_num_updates_then_max_num_updates_steps():
    # 2 envs: the buffer holds 8 items after iteration 3 (0-based); checks at iterations 4, 6, ...
    # tolerance 1: the first check only sets the reference (2.0 before), the second switches
    metrics = jax.jit(dqn.train)(_config(rr_tolerance=1.0), jax.random.key(0))[1]
    updates = np.asarray(metrics["train/updates"])
    np.testing.assert_array_equal(updates, [0, 0, 0, 1, 1, 1, 3, 3, 3, 3, 3, 3])
    fau = np.asarray(metrics["train/active_fraction"])
    assert np.all((fau >= 0) & (fau <= 1)) and np.all(np.isfinite(np.asarray(metrics["loss/td"])))


def test_dqn_with_zero_tolerance_never_switches():
    metrics = jax.jit(dqn.train)(_config(rr_tolerance=0.0), jax.random.key(0))[1]
    np.testing.assert_array_equal(np.asarray(metrics["train/updates"]), [0, 0, 0] + [1] * 9)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"max_num_updates": 1}, "max_num_updates must be 0"),
        ({"max_num_updates": -2}, "max_num_updates must be 0"),
        ({"rr_check_every": 0}, "rr_check_every"),
        ({"rr_tolerance": 1.5}, "rr_tolerance"),
    ],
)
def test_bad_adaptive_replay_ratio_options_are_named(overrides, match):
    with pytest.raises(ConfigError, match=match):
        _config(**overrides)
