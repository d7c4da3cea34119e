"""PPO's shared update (feed-forward and recurrent): bootstrapping, the clipped objective and the
minibatch epochs against direct numpy references; recurrent PPO reports PPO's metrics."""

from types import SimpleNamespace

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrl_rewards.agents import recurrent_ppo
from jaxrl_rewards.agents.ppo_update import Minibatch, bootstrap, clipped_loss, estimate, run_epochs
from jaxrl_rewards.core.types import Transition


def test_bootstrap_per_stream_episodic_flag():
    values = jnp.arange(6.0).reshape(3, 1, 2)  # [T=3, N=1, K=2]
    final = 100.0 + values
    last = jnp.array([[7.0, 8.0]])
    term = jnp.array([[False], [True], [False]])
    trunc = jnp.array([[False], [False], [True]])
    batch = Transition(obs=0, action=0, next_obs=0, reward=0, terminated=term, truncated=trunc)
    next_v, nonterm, cont = bootstrap(values, final, last, batch, (True, False))
    # stream 0 (episodic): V' = V(final obs), stops at terminations and at every episode end
    np.testing.assert_array_equal(next_v[:, 0, 0], [100.0, 102.0, 104.0])
    np.testing.assert_array_equal(nonterm[:, 0, 0], [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(cont[:, 0, 0], [1.0, 0.0, 0.0])
    # stream 1 (not episodic): V' = next step's value, then the envs' last value; never stops
    np.testing.assert_array_equal(next_v[:, 0, 1], [3.0, 5.0, 8.0])
    np.testing.assert_array_equal(nonterm[:, 0, 1], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(cont[:, 0, 1], [1.0, 1.0, 1.0])


CONFIG = SimpleNamespace(clip_eps=0.2, vf_coef=0.5, ent_coef=0.01, advantage="gae", gae_lambda=0.9)


def _minibatch(mask=None):
    rng = np.random.default_rng(0)
    b = 6
    return (
        Minibatch(
            obs=None,
            action=jnp.asarray(rng.integers(0, 3, b)),
            log_prob=jnp.asarray(np.log(rng.uniform(0.2, 0.5, b)), jnp.float32),
            advantage=jnp.asarray(rng.normal(size=b), jnp.float32),
            value=jnp.asarray(rng.normal(size=(b, 2)), jnp.float32),
            target=jnp.asarray(rng.normal(size=(b, 2)), jnp.float32),
            mask=mask,
        ),
        jnp.asarray(rng.normal(size=(b, 3)), jnp.float32),
        jnp.asarray(rng.normal(size=(b, 2)), jnp.float32),
    )


def _np_loss(mb, logits, value, eps=0.2):
    logits = np.asarray(logits, np.float64)
    logp_all = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    logp = logp_all[np.arange(len(logits)), np.asarray(mb.action)]
    ratio = np.exp(logp - np.asarray(mb.log_prob))
    adv = np.asarray(mb.advantage, np.float64)
    clipped = np.clip(ratio, 1 - eps, 1 + eps)
    if mb.mask is None:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy = -np.minimum(ratio * adv, clipped * adv).mean()
    else:
        m = np.asarray(mb.mask)
        policy = -(m * np.minimum(ratio * adv, clipped * adv)).sum() / max(m.sum(), 1.0)
    old_v, target, value = np.asarray(mb.value), np.asarray(mb.target), np.asarray(value)
    v_clip = old_v + np.clip(value - old_v, -eps, eps)
    value_loss = 0.5 * np.maximum((value - target) ** 2, (v_clip - target) ** 2).mean(0).sum()
    entropy = -(np.exp(logp_all) * logp_all).sum(-1).mean()
    kl = ((ratio - 1) - np.log(ratio)).mean()
    return policy + 0.5 * value_loss - 0.01 * entropy, policy, value_loss, kl, (np.abs(ratio - 1) > eps).mean()


def test_clipped_loss_matches_numpy_with_and_without_a_mask():
    for mask in (None, jnp.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])):
        mb, logits, value = _minibatch(mask)
        total, aux = clipped_loss(CONFIG, distrax.Categorical(logits=logits), value, mb)
        expected = _np_loss(mb, logits, value)
        got = (total, aux["loss/policy"], aux["loss/value"], aux["loss/approx_kl"], aux["loss/clip_fraction"])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_clipped_loss_averages_values_over_all_leading_axes():
    """Recurrent minibatches are [T, n, K]: the value loss is the same as on the flat [T * n, K]."""
    mb, logits, value = _minibatch()
    seq = jax.tree.map(lambda x: x.reshape((2, 3, *x.shape[1:])), mb)
    _, flat_aux = clipped_loss(CONFIG, distrax.Categorical(logits=logits), value, mb)
    _, seq_aux = clipped_loss(CONFIG, distrax.Categorical(logits=logits.reshape(2, 3, 3)), value.reshape(2, 3, 2), seq)
    np.testing.assert_allclose(seq_aux["loss/value"], flat_aux["loss/value"], rtol=1e-6)


def test_run_epochs_takes_one_step_per_minibatch_and_reports_grad_norms():
    config = SimpleNamespace(update_epochs=3)
    targets = jnp.array([1.0, -2.0])
    loss = lambda p, mb: ((p - mb) ** 2, {"loss/x": p})
    (params, _), aux = run_epochs(
        config, optax.sgd(0.25), loss, jnp.float32(0.0), optax.sgd(0.25).init(0.0), jax.random.key(0), lambda k: targets
    )
    p, norms = 0.0, []
    for _ in range(3):
        for t in (1.0, -2.0):
            grad = 2 * (p - t)
            norms.append(abs(grad))
            p -= 0.25 * grad
    np.testing.assert_allclose(params, p, rtol=1e-6)
    assert aux["loss/grad_norm"].shape == (3, 2)
    np.testing.assert_allclose(np.asarray(aux["loss/grad_norm"]).ravel(), norms, rtol=1e-6)


def test_estimate_dispatches_on_the_config():
    values = jnp.zeros((2, 1, 1))
    batch = Transition(
        obs=0, action=0, next_obs=0, reward=0, terminated=jnp.zeros((2, 1), bool), truncated=jnp.zeros((2, 1), bool)
    )
    rewards = jnp.ones((2, 1, 1))
    args = (batch, rewards, jnp.ones(1), jnp.array([0.5]), (True,), values, values, values[0])
    mc = estimate(SimpleNamespace(advantage="monte_carlo"), *args)
    np.testing.assert_allclose(mc.combined[:, 0], [1.5, 1.0])  # 1 + 0.5 * 1, then 1 (bootstrap V = 0)
    gae0 = estimate(SimpleNamespace(advantage="gae", gae_lambda=0.0), *args)
    np.testing.assert_allclose(gae0.combined[:, 0], [1.0, 1.0])  # TD errors


def test_recurrent_ppo_reports_ppos_update_metrics():
    config = recurrent_ppo.make_config(
        "MemoryChain-bsuite",
        num_envs=4,
        num_steps=8,
        total_timesteps=4 * 8 * 2,
        num_evals=1,
        num_minibatches=2,
        eval_episodes=2,
    )
    _, metrics = jax.jit(recurrent_ppo.train)(config, jax.random.key(0))
    for name in ("loss/policy", "loss/value", "loss/entropy", "loss/approx_kl", "loss/clip_fraction", "loss/grad_norm"):
        assert metrics[name].shape == (2,) and np.all(np.isfinite(metrics[name])), name
    assert np.all(np.asarray(metrics["loss/grad_norm"]) > 0)
    assert np.all((np.asarray(metrics["loss/clip_fraction"]) >= 0) & (np.asarray(metrics["loss/clip_fraction"]) <= 1))
