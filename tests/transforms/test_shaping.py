"""Potential-based shaping, non-potential bonuses, learned potential, bilevel weight."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_vmap_equals_alone, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import SparseGridWorld
from jaxrl_rewards.envs.gridworld import GridWorldParams
from jaxrl_rewards.transforms import chain, identity, scale
from jaxrl_rewards.transforms.shaping import (
    bilevel_shaping,
    learned_potential,
    non_potential_shaping,
    potential_shaping,
    returns_to_go,
)

GAMMA = 0.9


def spec_for(batch, names=("task",)):
    return TransformSpec(None, None, batch.reward.shape[1], names, batch)


@functools.partial(jax.jit, static_argnames=("gamma",))
def apply_once(transform, batch, gamma=GAMMA):
    state = transform.init(jax.random.key(0), spec_for(batch))
    return transform.apply(state, env_streams(batch, gamma), batch)


@functools.partial(jax.jit, static_argnames=("times", "gamma"))
def apply_update(transform, batch, times=1, gamma=GAMMA):
    """init, then ``times`` x (apply, update); returns the last streams, state and metrics."""
    state = transform.init(jax.random.key(0), spec_for(batch))
    for i in range(times):
        streams, state = transform.apply(state, env_streams(batch, gamma), batch)
        state, metrics = transform.update(state, streams, batch, jax.random.key(i))
    return streams, state, metrics


def phi0(obs):
    return obs[0] * 2.0 + obs[1]


# ----------------------------------------------------------------------------- exact values


def test_potential_shaping_exact_values(batch):
    out, _ = apply_once(potential_shaping(phi0, coef=0.5), batch)
    obs, nxt = np.asarray(batch.obs), np.asarray(batch.next_obs)
    p, pn = obs[..., 0] * 2 + obs[..., 1], nxt[..., 0] * 2 + nxt[..., 1]
    expected = np.asarray(batch.reward) + 0.5 * (GAMMA * pn * (1 - np.asarray(batch.terminated)) - p)
    np.testing.assert_allclose(out["task"].reward, expected, rtol=1e-5, atol=1e-6)


def test_potential_shaping_as_new_stream(batch):
    out, _ = apply_once(potential_shaping(phi0, as_stream="shaping"), batch)
    np.testing.assert_array_equal(out["task"].reward, batch.reward)
    assert float(out["shaping"].discount) == pytest.approx(GAMMA)


def test_truncation_uses_the_true_final_observation():
    """At a truncation the term must use next_obs (true final obs), not obs[t+1] (the reset obs).
    This test fails for an implementation that shifts obs by one step."""
    T, N = 4, 1
    obs = jnp.asarray([[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 0.0]], [[1.0, 0.0]]])  # obs[2] is a reset obs
    next_obs = jnp.asarray([[[1.0, 0.0]], [[3.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]]])  # step 1 truncates at 3.0
    truncated = jnp.zeros((T, N), bool).at[1, 0].set(True)
    batch = Transition(
        obs, jnp.zeros((T, N), jnp.int32), next_obs, jnp.zeros((T, N)), jnp.zeros((T, N), bool), truncated
    )
    out, _ = apply_once(potential_shaping(lambda o: o[0]), batch)
    f = np.asarray(out["task"].reward)[:, 0]
    assert f[1] == pytest.approx(GAMMA * 3.0 - 1.0)  # true final obs
    assert f[1] != pytest.approx(GAMMA * 0.0 - 1.0)  # what the reset obs would give
    # episode start: step 2 starts from the reset obs, nothing from the old episode leaks in
    assert f[2] == pytest.approx(GAMMA * 1.0 - 0.0)
    # telescoping with bootstrapping: shaped return + gamma^L (V - Phi)(s_L) = return + gamma^L V(s_L) - Phi(s_0)
    shaped_episode = f[0] + GAMMA * f[1]
    assert shaped_episode == pytest.approx(GAMMA**2 * 3.0 - 0.0)


def test_termination_zeroes_the_next_potential():
    obs = jnp.ones((1, 1, 2))
    batch = Transition(
        obs, jnp.zeros((1, 1), jnp.int32), 5 * obs, jnp.zeros((1, 1)), jnp.ones((1, 1), bool), jnp.zeros((1, 1), bool)
    )
    out, _ = apply_once(potential_shaping(lambda o: o[0]), batch)
    assert float(out["task"].reward[0, 0]) == pytest.approx(-1.0)


def test_episode_sum_telescopes():
    batch = make_batch(6, 2, seed=3)
    out, _ = apply_once(potential_shaping(phi0), batch, gamma=1.0)
    obs, nxt = np.asarray(batch.obs), np.asarray(batch.next_obs)
    shaped = np.asarray(out["task"].reward) - np.asarray(batch.reward)
    # env 0 terminates at t=1: F_0 + F_1 = -Phi(s_0) + [Phi(s'_0) - Phi(s_1)]; with s_1 != s'_0 in the synthetic
    # batch the mid term is exactly what the formula gives
    p = lambda o: o[..., 0] * 2 + o[..., 1]
    assert shaped[0, 0] + shaped[1, 0] == pytest.approx(p(nxt[0, 0]) - p(obs[0, 0]) - p(obs[1, 0]), rel=1e-5)


# ----------------------------------------------------------------------------- value iteration


def value_iteration(P, R, gamma, terminal, iters=2000, tol=1e-12):
    """Q* for expected rewards R[s, a] (terminal states absorbing with value 0)."""
    V = np.zeros(R.shape[0])
    for _ in range(iters):
        Q = R + gamma * P @ V
        Vn = np.where(terminal, 0.0, Q.max(1))
        if np.max(np.abs(Vn - V)) < tol:
            V = Vn
            break
        V = Vn
    return R + gamma * P @ V


def shaped_reward_matrix(transform, env, mdp, gamma):
    """Expected shaped reward R'[s, a] = sum_s' P(s'|s,a) * shaped(s, a, s'), computed by the
    transform on a batch holding every (s, a, s') triple (one-hot observations)."""
    S, A = mdp.rewards.shape
    s, a, s2 = np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij")
    s, a, s2 = s.ravel(), a.ravel(), s2.ravel()
    eye = np.eye(S, dtype=np.float32)
    goal = np.flatnonzero(mdp.terminal)[0]
    reward = (s2 == goal).astype(np.float32) * (~mdp.terminal[s]) - 0.0
    batch = Transition(
        obs=jnp.asarray(eye[s])[:, None],
        action=jnp.asarray(a, jnp.int32)[:, None],
        next_obs=jnp.asarray(eye[s2])[:, None],
        reward=jnp.asarray(reward)[:, None],
        terminated=jnp.asarray(s2 == goal)[:, None],
        truncated=jnp.zeros((len(s), 1), bool),
    )
    out, _ = apply_once(transform, batch, gamma=gamma)
    shaped = np.asarray(out["task"].reward, np.float64)[:, 0].reshape(S, A, S)
    R = (mdp.transitions * shaped).sum(-1)
    R[mdp.terminal] = 0.0
    return R


ENV = SparseGridWorld(size=4)
MDP = ENV.tabular_mdp(GridWorldParams(max_steps_in_episode=100, slip_prob=0.2))


def greedy_sets(Q, tol=1e-6):
    return [frozenset(np.flatnonzero(q >= q.max() - tol)) for q in Q]


@jax.jit
def _shaped_by_value(batch):
    """Potential shaping of a batch whose observations ARE the potentials (one compile for all
    hypothesis examples)."""
    return apply_once.__wrapped__(potential_shaping(_first), batch, gamma=0.95)[0]["task"].reward


def _first(obs):
    return obs[0]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=16, max_size=16))
def test_potential_shaping_preserves_the_optimal_policy(values):
    """Property (Ng et al. 1999): for ANY potential, Q'* = Q* - Phi(s), so the optimal actions
    are the same (checked with exact value iteration on a stochastic 4x4 grid). The batch holds
    every (s, a, s') triple; its observations are the potential values of the states."""
    gamma = 0.95
    phi = np.asarray(values, np.float32)
    S, A = MDP.rewards.shape
    s, _a, s2 = (x.ravel() for x in np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij"))
    goal = np.flatnonzero(MDP.terminal)[0]
    batch = Transition(
        obs=jnp.asarray(phi[s])[:, None, None],
        action=jnp.zeros((len(s), 1), jnp.int32),
        next_obs=jnp.asarray(phi[s2])[:, None, None],
        reward=jnp.zeros((len(s), 1)),
        terminated=jnp.asarray(s2 == goal)[:, None],
        truncated=jnp.zeros((len(s), 1), bool),
    )
    F = np.asarray(_shaped_by_value(batch), np.float64)[:, 0].reshape(S, A, S)
    R_shaped = MDP.rewards + (MDP.transitions * F).sum(-1)
    R_shaped[MDP.terminal] = 0.0
    Q = value_iteration(MDP.transitions, MDP.rewards, gamma, MDP.terminal)
    Qs = value_iteration(MDP.transitions, R_shaped, gamma, MDP.terminal)
    live = ~MDP.terminal
    np.testing.assert_allclose(Qs[live], (Q - phi[:, None])[live], atol=1e-4)
    assert [g for g, t in zip(greedy_sets(Qs), live, strict=True) if t] == [
        g for g, t in zip(greedy_sets(Q), live, strict=True) if t
    ]


def test_non_potential_bonus_changes_the_optimal_policy():
    """Counterexample: +0.2 for every bump into a wall at the start cell (not a potential
    difference) makes looping at the start better than reaching the goal."""
    start = np.eye(16, dtype=np.float32)[0]
    bonus = non_potential_shaping(lambda o, a, n, i: 0.2 * (jnp.all(o == start) & jnp.all(n == start)))
    gamma = 0.95
    Q = value_iteration(MDP.transitions, MDP.rewards, gamma, MDP.terminal)
    Qb = value_iteration(MDP.transitions, shaped_reward_matrix(bonus, ENV, MDP, gamma), gamma, MDP.terminal)
    assert greedy_sets(Q)[0] <= {1, 2}  # right/down toward the goal
    assert greedy_sets(Qb)[0] <= {0, 3}  # up/left: bump into the wall forever
    # the same bonus written as a potential difference would have been harmless
    assert greedy_sets(Q)[0] != greedy_sets(Qb)[0]


# ----------------------------------------------------------------------------- learned / bilevel


def test_learned_potential_fits_returns_and_shapes():
    batch = make_batch(8, 4, seed=1)
    t = learned_potential(coef=1.0, learning_rate=1e-2, fit_steps=25, hidden_sizes=(16,))

    @jax.jit
    def run():
        state = t.init(jax.random.key(0), spec_for(batch))
        out, state = t.apply(state, env_streams(batch, GAMMA), batch)
        v, v_next = t.value(state, batch.obs), t.value(state, batch.next_obs)
        losses = []
        for i in range(3):
            state, metrics = t.update(state, out, batch, jax.random.key(i))
            losses.append(metrics["learned_potential/loss"])
        return out, v, v_next, jnp.stack(losses)

    out, v, v_next, losses = run()
    expected = np.asarray(batch.reward) + GAMMA * np.asarray(v_next) * (1 - np.asarray(batch.terminated)) - v
    np.testing.assert_allclose(out["task"].reward, expected, rtol=1e-5, atol=1e-5)
    assert losses[-1] < losses[0]


def grid_batch(right_wins: bool):
    """A batch on a corridor (obs = position - 6 <= 0, so a potential Phi = obs is at most the
    terminal value 0) where moving right precedes the task reward iff ``right_wins``."""
    rng = np.random.default_rng(0)
    T, N = 32, 8
    pos = rng.integers(0, 5, size=(T, N)).astype(np.float32) - 6.0
    step = rng.choice([-1.0, 1.0], size=(T, N))
    win = (step > 0) if right_wins else (step < 0)
    reward = (win & (rng.random((T, N)) < 0.5)).astype(np.float32)
    return Transition(
        obs=jnp.asarray(pos)[..., None],
        action=jnp.zeros((T, N), jnp.int32),
        next_obs=jnp.asarray(pos + step)[..., None],
        reward=jnp.asarray(reward),
        terminated=jnp.zeros((T, N), bool),
        truncated=jnp.zeros((T, N), bool),
    )


@pytest.mark.parametrize("helpful", [True, False])
def test_bilevel_weight_follows_the_task(helpful):
    """A potential rising to the right is helpful when moving right earns the task reward (the
    weight goes to its maximum) and misleading otherwise (the weight is switched off)."""
    t = bilevel_shaping(lambda o: o[0], init_weight=0.5, learning_rate=2.0, max_weight=1.0)
    batch = grid_batch(helpful)
    _, state, metrics = apply_update(t, batch, times=10, gamma=0.99)
    assert (float(metrics["bilevel/signal"]) > 0) == helpful
    if helpful:
        assert 0.6 < float(state.weight) <= 1.0
    else:
        assert float(state.weight) == 0.0
    if not helpful:  # at weight 0 the shaping is off exactly
        out, _ = t.apply(state, env_streams(batch, 0.99), batch)
        np.testing.assert_array_equal(out["task"].reward, batch.reward)


def test_bilevel_without_task_signal_keeps_its_weight():
    batch = grid_batch(True).replace(reward=jnp.zeros((32, 8)))
    _, state, _ = apply_update(bilevel_shaping(lambda o: o[0], init_weight=0.5), batch, gamma=0.99)
    assert float(state.weight) == 0.5


def test_returns_to_go_exact():
    r = jnp.asarray([[1.0], [2.0], [3.0]])
    d = jnp.asarray([[False], [True], [False]])
    np.testing.assert_allclose(returns_to_go(r, d, 0.5)[:, 0], [2.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- jit / vmap / chain / errors


def test_jit_and_vmap_over_coef(batch):
    t = potential_shaping(phi0, coef=1.0)
    eager, _ = apply_once(t, batch)
    state = t.init(jax.random.key(0), spec_for(batch))
    plain, _ = t.apply(state, env_streams(batch, GAMMA), batch)  # not jitted
    np.testing.assert_allclose(plain["task"].reward, eager["task"].reward, rtol=1e-6)
    coefs = jnp.asarray([0.0, 1.0, 2.0])
    out = jax.vmap(lambda c: apply_once(t.replace(coef=c), batch)[0]["task"].reward)(coefs)
    np.testing.assert_allclose(out[0], batch.reward, rtol=1e-6)
    np.testing.assert_allclose(out[2] - out[1], out[1] - out[0], rtol=1e-4, atol=1e-5)


def test_chain_identity_and_associativity(batch):
    a, b, c = potential_shaping(phi0), scale(2.0), bilevel_shaping(phi0, init_weight=0.3)
    ref, _ = apply_once(chain(a, b, c), batch)
    for t in (chain(chain(a, b), c), chain(a, chain(b, c)), chain(identity(), a, b, identity(), c)):
        out, _ = apply_once(t, batch)
        np.testing.assert_array_equal(out["task"].reward, ref["task"].reward)


def test_bad_input_is_rejected(batch):
    with pytest.raises(ConfigError, match="callable"):
        potential_shaping(3.0)
    with pytest.raises(ConfigError, match="finite"):
        potential_shaping(phi0, coef=float("nan"))
    with pytest.raises(ConfigError, match="learning_rate"):
        bilevel_shaping(phi0, learning_rate=0.0)
    with pytest.raises(ConfigError, match="fit_steps"):
        learned_potential(fit_steps=0)
    with pytest.raises(ValueError, match="no stream 'cost'"):
        apply_once(potential_shaping(phi0, to="cost"), batch)


def test_every_transform_in_vmap_equals_alone():
    """Each transform of this module run on a batch of 2 different batches under ``vmap`` gives
    the same streams as the 2 runs alone (one compile for all)."""
    batches = jax.tree.map(lambda *x: jnp.stack(x), make_batch(5, 3, seed=0), make_batch(5, 3, seed=1))

    transforms = (
        potential_shaping(phi0),
        non_potential_shaping(lambda o, a, n, i: n[0]),
        bilevel_shaping(phi0),
        learned_potential(),
    )
    assert_vmap_equals_alone(lambda t, b: apply_update(t, b)[0], transforms, batches)
