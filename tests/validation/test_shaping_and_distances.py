"""Validation: potential-based shaping (Ng et al., 1999) and the EPIC / STARC reward distances
(Gleave et al., 2021; Skalse et al., 2023), at float precision against numpy value iteration."""

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.analysis import distances
from jaxrl_rewards.transforms.shaping import shaping_term

S, A, GAMMA = 6, 3, 0.9


def q_iteration(transitions, reward, gamma, sweeps=800):
    """Optimal Q of a tabular MDP with reward R[S, A, S'] by numpy value iteration."""
    q = np.zeros(transitions.shape[:2])
    for _ in range(sweeps):
        q = np.einsum("sax,sax->sa", transitions, reward + gamma * q.max(1)[None, None, :])
    return q


def test_potential_shaping_keeps_optimal_policies_and_an_arbitrary_bonus_does_not():
    """Claim (Ng et al., 1999): F = gamma Phi(s') - Phi(s) leaves optimal policies unchanged
    (exactly: Q'* = Q* - Phi(s)); an arbitrary bonus does not. F comes from the library's
    ``shaping_term``; Q* from numpy value iteration."""
    rng = np.random.default_rng(0)
    transitions = rng.dirichlet(np.ones(S), size=(S, A))
    reward = rng.normal(size=(S, A, S))
    phi = 5.0 * rng.normal(size=S)
    phi_s = jnp.asarray(np.broadcast_to(phi[:, None, None], (S, A, S)), jnp.float32)
    phi_next = jnp.asarray(np.broadcast_to(phi[None, None, :], (S, A, S)), jnp.float32)
    shaping = np.asarray(shaping_term(phi_s, phi_next, jnp.zeros((S, A, S), bool), GAMMA), np.float64)
    q, q_shaped = q_iteration(transitions, reward, GAMMA), q_iteration(transitions, reward + shaping, GAMMA)
    np.testing.assert_allclose(q_shaped, q - phi[:, None], atol=1e-5)  # float32 shaping term
    np.testing.assert_array_equal(q_shaped.argmax(1), q.argmax(1))
    # a bonus on each state's worst action (not a potential difference) changes the optimal policy
    worst = q.argmin(1)
    bonus = np.zeros((S, A, S))
    bonus[np.arange(S), worst, :] = 2.0 * (q.max() - q.min()) + 1.0
    assert np.any(q_iteration(transitions, reward + bonus, GAMMA).argmax(1) != q.argmax(1))


def test_shaping_telescopes_with_phi_zero_on_termination_only():
    """Claim: Phi = 0 on termination, never on truncation. Along an episode the discounted sum of
    F telescopes to -Phi(s_0) when it terminates and to gamma^T Phi(s_T) - Phi(s_0) when it is
    truncated."""
    rng = np.random.default_rng(1)
    phi = rng.normal(size=6)  # Phi(s_0..s_5) along one trajectory of T = 5 steps
    discount = GAMMA ** np.arange(5)
    for terminated, expected in ((True, -phi[0]), (False, GAMMA**5 * phi[5] - phi[0])):
        term = np.zeros(5, bool)
        term[-1] = terminated
        f = np.asarray(shaping_term(jnp.asarray(phi[:-1]), jnp.asarray(phi[1:]), jnp.asarray(term), GAMMA))
        np.testing.assert_allclose(discount @ f, expected, rtol=1e-5, atol=1e-6)


def test_epic_and_starc_are_zero_for_shaped_scaled_rewards_and_epic_is_a_pseudometric():
    """Claim (Gleave et al., 2021; Skalse et al., 2023): EPIC and STARC are 0 for a reward and its
    potential-shaped, positively scaled version (here to 1e-12, float precision), and EPIC obeys
    the triangle inequality (a Pearson distance of canonical rewards)."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        reward = rng.normal(size=(S, A, S))
        phi = rng.normal(size=S) * 10.0
        other = rng.uniform(0.1, 100.0) * (reward + GAMMA * phi[None, None, :] - phi[:, None, None])
        assert distances.epic_distance(reward, other, GAMMA) < 1e-12
        assert distances.starc_distance(reward, other, GAMMA) < 1e-12
        a, b, c = (rng.normal(size=(S, A, S)) for _ in range(3))
        d_ab, d_bc, d_ac = (distances.epic_distance(x, y, GAMMA) for x, y in ((a, b), (b, c), (a, c)))
        assert d_ac <= d_ab + d_bc + 1e-12
