"""Validation: the KL-regularised optimum is the exponential tilt, it beats best-of-N at equal KL,
and entropy regularisation removes the policy cliff; all through the library's ``kl_penalty``
stream, against numpy closed forms.

On a one-step problem with K actions the library's ``kl_penalty(reference, coef=beta, to="task")``
turns the reward into the soft reward ``r(a) - beta (log pi(a) - log pi_ref(a))``; its
expectation under ``pi`` is the regularised objective ``J_beta(pi) = E_pi r - beta KL(pi || pi_ref)``.
The batch is ``[T=1, N=K]``: column ``a`` holds action ``a``, so ``J`` is ``sum_a pi(a) soft(a)``.
"""

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import Transition
from jaxrl_rewards.transforms.learned import kl_penalty

K = 6


def soft_reward(reward, pi, log_ref, beta):
    """The library's task reward after ``kl_penalty(coef=beta, to="task")`` on a one-step batch
    where column ``a`` took action ``a`` under ``pi``; float64 ``[K]``. ``log_ref=None`` is the
    entropy bonus (``reference=None``)."""
    actions = jnp.arange(K, dtype=jnp.int32)[None]
    batch = Transition(
        obs=jnp.zeros((1, K, 1)),
        action=actions,
        next_obs=jnp.zeros((1, K, 1)),
        reward=jnp.asarray(reward, jnp.float32)[None],
        terminated=jnp.ones((1, K), bool),
        truncated=jnp.zeros((1, K), bool),
        info={"policy_log_prob": jnp.asarray(np.log(pi), jnp.float32)[None]},
    )
    ref = None if log_ref is None else (lambda obs, a: jnp.asarray(log_ref, jnp.float32)[a])
    out, _ = kl_penalty(ref, coef=beta, to="task").apply((), env_streams(batch, 0.99), batch)
    return np.asarray(out["task"].reward[0], np.float64)


def tilt(log_ref, reward, beta):
    """Closed form pi*(a) = pi_ref(a) exp(r(a) / beta) / Z (numpy, float64)."""
    z = log_ref + reward / beta
    return np.exp(z - np.logaddexp.reduce(z))


def best_of_n(ref, reward, n):
    """Best-of-n of pi_ref over distinct rewards: P(a) = F(r_a)^n - F(r_a^-)^n with F the
    reference CDF of the reward (numpy)."""
    order = np.argsort(reward)
    cdf = np.cumsum(ref[order])
    below = np.concatenate([[0.0], cdf[:-1]])
    out = np.empty(K)
    out[order] = cdf**n - below**n
    return out


def kl(p, q):
    return float(np.sum(p * (np.log(p) - np.log(q))))


def test_kl_penalised_optimum_is_the_tilt_and_beats_best_of_n_at_equal_kl():
    """Claim (Korbak, Perez & Buckley 2022; Rafailov et al. 2023, DPO's closed form; Beirami et
    al. 2024 and Gui et al. 2024 on best-of-N): maximising E_pi r - beta KL(pi || pi_ref) gives
    pi* ∝ pi_ref exp(r / beta) with value beta log Z; best-of-N's KL to pi_ref is at most
    log N - (N - 1) / N, and at the same KL the tilt earns at least best-of-N's reward.

    Checked: under the closed-form tilt the library's soft reward is the same for every action
    (= beta log Z to 1e-5: the first-order condition of the strictly concave objective on the
    simplex); J_beta(tilt) = beta log Z >= J_beta(pi) for 2,000 random Dirichlet policies and for
    best-of-N. With beta solved (bisection) so that KL(tilt) = KL(best-of-N), that last
    inequality is E_tilt r >= E_BoN r, asserted directly as well."""
    rng = np.random.default_rng(0)
    ref = rng.dirichlet(np.ones(K))
    log_ref = np.log(ref)
    reward = rng.normal(size=K)
    for beta in (0.3, 1.0, 3.0):
        pi = tilt(log_ref, reward, beta)
        soft = soft_reward(reward, pi, log_ref, beta)
        log_z = np.logaddexp.reduce(log_ref + reward / beta)
        np.testing.assert_allclose(soft, beta * log_z, atol=1e-5)
        others = rng.dirichlet(np.ones(K), size=2000)
        j_others = np.array([p @ soft_reward(reward, p, log_ref, beta) for p in others[:20]])
        # the library's soft reward is exact, so the rest can use its closed form r - beta log(p / ref)
        np.testing.assert_allclose(
            j_others, [p @ (reward - beta * np.log(p / ref)) for p in others[:20]], rtol=1e-5, atol=1e-5
        )
        j_all = np.einsum("bk,bk->b", others, reward - beta * np.log(others / ref))
        assert pi @ soft >= j_all.max() - 1e-6
    for n in (2, 4, 16):
        bon = best_of_n(ref, reward, n)
        kl_bon = kl(bon, ref)
        assert kl_bon <= np.log(n) - (n - 1) / n + 1e-12
        lo, hi = 1e-3, 1e3  # KL(tilt_beta) falls as beta grows
        for _ in range(200):
            mid = np.sqrt(lo * hi)
            lo, hi = (mid, hi) if kl(tilt(log_ref, reward, mid), ref) > kl_bon else (lo, mid)
        beta = np.sqrt(lo * hi)
        pi = tilt(log_ref, reward, beta)
        assert abs(kl(pi, ref) - kl_bon) < 1e-9
        j_tilt = pi @ soft_reward(reward, pi, log_ref, beta)
        j_bon = bon @ soft_reward(reward, bon, log_ref, beta)
        assert j_tilt >= j_bon - 1e-5
        assert pi @ reward >= bon @ reward - 1e-9


def test_entropy_regularisation_removes_the_policy_cliff():
    """Claim (Xu et al. 2025, "The policy cliff"; Ahmed et al. 2019 on entropy and the
    optimisation landscape): the reward-to-optimal-policy map of an unregularised objective is
    discontinuous where optimal actions (nearly) tie, so a tiny reward change flips the policy;
    with an entropy bonus of weight beta the optimum is softmax(r / beta), which moves by at most
    ||dr||_inf / (2 beta) in total variation.

    Checked: with two tied best actions, a 1e-6 reward change moves the greedy policy by total
    variation 1; softmax(r / beta) is the optimum of the library's entropy-bonus reward
    (``kl_penalty(None)``, i.e. log pi_ref = 0: the soft reward r - beta log pi is the same for
    every action, = beta log sum_a exp(r_a / beta)), and over 500 random
    perturbations its total variation stays within ||dr||_inf / (2 beta)."""
    rng = np.random.default_rng(1)
    reward = np.array([1.0, 1.0, 0.2, -0.5, 0.0, 0.7])
    bump = np.zeros(K)
    bump[1] = 1e-6
    greedy = lambda r: np.eye(K)[np.argmax(r)]
    assert 0.5 * np.abs(greedy(reward - bump) - greedy(reward + bump)).sum() == 1.0
    uniform_log_ref = np.zeros(K)  # log pi_ref = 0: kl_penalty(None) is the entropy bonus
    for beta in (0.05, 0.5):
        pi = tilt(uniform_log_ref, reward, beta)
        np.testing.assert_allclose(pi, np.exp(reward / beta) / np.exp(reward / beta).sum(), rtol=1e-12)
        soft = soft_reward(reward, pi, None, beta)
        np.testing.assert_allclose(soft, beta * np.logaddexp.reduce(reward / beta), atol=1e-5)
        for _ in range(500):
            delta = rng.normal(size=K) * 10.0 ** rng.uniform(-6, 0)
            tv = 0.5 * np.abs(tilt(uniform_log_ref, reward + delta, beta) - pi).sum()
            assert tv <= np.abs(delta).max() / (2 * beta) + 1e-12
