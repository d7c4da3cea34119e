"""Validation: de-biasing a noisy binary verifier (Wang, Liu & Li, 2020, perturbed rewards),
by a z-test on 65,536 samples."""

import jax
import jax.numpy as jnp
import numpy as np
from conftest import make_batch

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.transforms import binary_noise, chain, correct_binary_noise

RHO_FP, RHO_FN, P_TRUE = 0.2, 0.1, 0.3


def test_known_noise_rates_give_an_unbiased_corrected_reward():
    """Claim: with known false-positive / false-negative rates, (r~ - rho_FP) / (1 - rho_FP -
    rho_FN) is unbiased. Binary rewards with P(1) = 0.3 pass the library's binary_noise and then
    correct_binary_noise; the corrected mean is within 4 standard errors of the true mean (a
    two-sided z-test at ~6e-5 false-alarm rate), while the uncorrected noisy mean is off by its
    bias rho_FP (1 - p) - rho_FN p = 0.11, i.e. by more than 4 standard errors."""
    T, N = 128, 512
    rng = np.random.default_rng(0)
    true = (rng.uniform(size=(T, N)) < P_TRUE).astype(np.float32)
    batch = make_batch(T, N).replace(reward=jnp.asarray(true))
    streams = env_streams(batch, 0.9)
    spec = TransformSpec(None, None, N, tuple(streams), batch)
    outputs = {}
    for name, transform in (
        ("noisy", binary_noise(RHO_FP, RHO_FN)),
        ("corrected", chain(binary_noise(RHO_FP, RHO_FN), correct_binary_noise(RHO_FP, RHO_FN))),
    ):
        state = transform.init(jax.random.key(1), spec)
        outputs[name] = np.asarray(transform.apply(state, streams, batch)[0]["task"].reward, np.float64).ravel()
    n = true.size
    corrected = outputs["corrected"]
    z = (corrected.mean() - true.mean()) / (corrected.std() / np.sqrt(n))
    assert abs(z) < 4.0, z
    noisy = outputs["noisy"]
    bias = RHO_FP * (1 - true.mean()) - RHO_FN * true.mean()
    assert abs(noisy.mean() - true.mean() - bias) < 4.0 * noisy.std() / np.sqrt(n)
    assert abs(noisy.mean() - true.mean()) > 4.0 * noisy.std() / np.sqrt(n)
