"""KL penalty toward a reference policy and the χ² occupancy penalty."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.agents import dqn, ppo
from jaxrl_rewards.agents.policies import reference_from_ppo
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import regularization as reg


def _batch(log_prob=None, T=4, N=3, seed=0, obs=None):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(T, N, 2)).astype(np.float32) if obs is None else obs
    info = {} if log_prob is None else {"policy_log_prob": jnp.asarray(log_prob, jnp.float32)}
    return Transition(
        obs=jnp.asarray(obs),
        action=jnp.asarray(rng.integers(0, 4, size=obs.shape[:2]), jnp.int32),
        next_obs=jnp.asarray(obs),
        reward=jnp.zeros(obs.shape[:2], jnp.float32),
        terminated=jnp.zeros(obs.shape[:2], bool),
        truncated=jnp.zeros(obs.shape[:2], bool),
        info=info,
    )


def test_kl_penalty_exact_with_function_reference_entropy_and_in_place():
    log_pi = np.log(np.full((4, 3), 0.7))
    batch = _batch(log_pi)
    streams = env_streams(batch, 0.99)
    ref = lambda obs, action: jnp.full(action.shape, np.log(0.25), jnp.float32)
    out, _ = reg.kl_penalty(ref, coef=0.3).apply((), streams, batch)
    np.testing.assert_allclose(out["kl_penalty"].reward, -(np.log(0.7) - np.log(0.25)), rtol=1e-6)
    assert float(out["kl_penalty"].weight) == pytest.approx(0.3)
    ent, _ = reg.kl_penalty(None, coef=0.1).apply((), streams, batch)
    np.testing.assert_allclose(ent["kl_penalty"].reward, -np.log(0.7), rtol=1e-6)  # entropy bonus
    inplace, _ = reg.kl_penalty(ref, coef=0.5, to="task").apply((), streams, batch)
    assert "kl_penalty" not in inplace
    np.testing.assert_allclose(inplace["task"].reward, -0.5 * (np.log(0.7) - np.log(0.25)), rtol=1e-6)
    # a batch without the behaviour log-prob is an error, not a silent 0
    with pytest.raises(ConfigError, match=r"policy_log_prob.*as PPO does"):
        reg.kl_penalty(ref).apply((), streams, _batch())


def test_kl_penalty_needs_an_agent_that_records_the_behaviour_log_prob():
    tiny = dict(num_envs=2, num_steps=8, total_timesteps=16, num_evals=1, transform=reg.kl_penalty(None))
    # PPO's example batch carries policy_log_prob, so its stream layout traces
    state = ppo.init(ppo.make_config("CartPole-v1", **tiny), jax.random.key(0))
    assert int(state.iteration) == 0
    config = dqn.make_config("CartPole-v1", **{**tiny, "num_steps": 1, "learning_starts": 0})
    with pytest.raises(ConfigError, match="DQN, PQN and SAC"):
        dqn.init(config, jax.random.key(0))


def test_ppo_reference_gives_zero_kl_against_itself():
    config = ppo.make_config("CartPole-v1", num_envs=2, num_steps=8, total_timesteps=160, num_evals=1)
    state = ppo.init(config, jax.random.key(0))
    reference = reference_from_ppo(config, state)
    obs = jax.random.normal(jax.random.key(1), (5, 2, 4))
    action = jnp.zeros((5, 2), jnp.int32)
    own = ppo.actor_network(config).apply(state.params["actor"], obs).log_prob(action)
    np.testing.assert_allclose(reference.log_prob(obs, action), own, rtol=1e-6)
    batch = Transition(
        obs, action, obs, jnp.zeros((5, 2)), jnp.zeros((5, 2), bool), jnp.zeros((5, 2), bool), {"policy_log_prob": own}
    )
    out, _ = reg.kl_penalty(reference).apply((), env_streams(batch, 0.99), batch)
    np.testing.assert_allclose(out["kl_penalty"].reward, 0.0, atol=1e-6)


def test_occupancy_penalty_learns_the_density_ratio_and_applies_the_chi2_formula():
    # reference visits obs near (+2, 0); the policy near (-2, 0)
    rng = np.random.default_rng(0)
    ref_obs = (rng.normal(size=(256, 2)) * 0.3 + [2.0, 0.0]).astype(np.float32)
    samples = reg.ReferenceSamples(obs=jnp.asarray(ref_obs), action=jnp.asarray(rng.integers(0, 4, 256), jnp.int32))
    pol_obs = (rng.normal(size=(16, 8, 2)) * 0.3 + [-2.0, 0.0]).astype(np.float32)
    batch = _batch(obs=pol_obs, T=16, N=8)
    spec = TransformSpec(
        spaces.Box(-5, 5, (2,)), spaces.Discrete(4), 8, ("task",), jax.tree.map(lambda x: x[:1], batch)
    )
    penalty = reg.occupancy_penalty(
        samples, coef=0.2, num_updates=100, minibatch_size=64, hidden_sizes=(16,), learning_rate=1e-2
    )
    state = penalty.init(jax.random.key(0), spec)
    state, metrics = jax.jit(penalty.update)(state, env_streams(batch, 0.99), batch, jax.random.key(1))
    assert float(metrics["occupancy/mean_ratio"]) > 10.0  # policy states are over-visited
    out, _ = penalty.apply(state, env_streams(batch, 0.99), batch)
    log_w = penalty.log_ratio(state, batch.obs, batch.action)
    np.testing.assert_allclose(out["occupancy_penalty"].reward, -2.0 * (np.exp(log_w) - 1.0), rtol=1e-5)
    assert float(out["occupancy_penalty"].reward.mean()) < 0.0
    assert float(out["occupancy_penalty"].weight) == pytest.approx(0.2)
    ref_batch = _batch(obs=ref_obs[:48].reshape(16, 3, 2), T=16, N=3)
    assert float(penalty.log_ratio(state, ref_batch.obs, ref_batch.action).mean()) < 0.0


def test_bad_input():
    with pytest.raises(ConfigError, match="reference"):
        reg.kl_penalty(reference=3.0)
    with pytest.raises(ConfigError, match="coef"):
        reg.kl_penalty(coef=-1.0)
    bad = reg.ReferenceSamples(obs=jnp.zeros((5, 2)), action=jnp.zeros((4,), jnp.int32))
    with pytest.raises(ConfigError, match="share M"):
        reg.occupancy_penalty(bad)
    ok = reg.ReferenceSamples(obs=jnp.zeros((4, 2)), action=jnp.zeros((4,), jnp.int32))
    with pytest.raises(ConfigError, match="divergence"):
        reg.occupancy_penalty(ok, divergence="tv")
