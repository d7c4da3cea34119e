"""Every transform checks its hyperparameters' *values* in ``validate()``, so a swept value (a
spec's ``[params]``, ``batch_config``, ``config.replace``) is rejected before anything
compiles, with the field named; the factories call the same ``validate()``.

Nothing here trains or compiles: ``check_spec`` / ``agent.validate`` only.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TINY_PPO

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.validation import ConfigError, check_count, check_ordered
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.options import configure
from jaxrl_rewards.experiments.paths import batch_config
from jaxrl_rewards.experiments.spec import check_spec, spec_from_dict
from jaxrl_rewards.transforms import chain
from jaxrl_rewards.transforms.basic import clip
from jaxrl_rewards.transforms.credit import auxiliary_trust, redistribute_outcome
from jaxrl_rewards.transforms.gates import capped_count, coverage, gate, multiplicative
from jaxrl_rewards.transforms.learned.adversarial import ExpertData, gail_reward
from jaxrl_rewards.transforms.learned.annotator import annotator_bonus
from jaxrl_rewards.transforms.learned.regularization import kl_penalty
from jaxrl_rewards.transforms.noise import binary_noise
from jaxrl_rewards.transforms.objectives import conditioned_scalarization, dynamic_weights, static_weights
from jaxrl_rewards.transforms.shaping import bilevel_shaping, potential_shaping
from jaxrl_rewards.transforms.teacher import teacher_reward

INF, NAN = math.inf, math.nan

# (transform as in a spec, swept path, a valid value, an invalid value, the message's start)
SPEC_CASES = [
    (["scale:factor=1.0"], "transform.scale.factor", 0.5, INF, "scale: factor must be finite"),
    (["clip:low=-1.0,high=1.0"], "transform.clip.low", 0.0, 2.0, "clip: low must not exceed high"),
    (["normalize"], "transform.normalize.eps", 1e-6, 0.0, "normalize_rewards: eps must be > 0"),
    (["normalize"], "transform.normalize.clip", 5.0, -1.0, "normalize_rewards: clip must be > 0"),
    (["centered_sigmoid"], "transform.centered_sigmoid.temperature", 2.0, 0.0,
     "centered_sigmoid: temperature must be > 0"),
    (["decoupled_normalize"], "transform.decoupled_normalize.eps", 1e-6, -1.0, "decoupled_normalize: eps must be > 0"),
    (["clip_to_range:low=0.0,high=1.0"], "transform.clip_to_range.high", 2.0, 0.0,
     "clip_to_range: high must exceed low"),
    (["clip_process"], "transform.clip_process.eta", 0.5, NAN, "clip_process: eta must be finite"),
    (["capped_count"], "transform.capped_count.max_count", 3, 0, "capped_count: max_count must be a whole number >= 1"),
    (["sign_flip:p=0.1"], "transform.sign_flip.p", 0.2, 1.5, "sign_flip: p must lie in [0.0, 1.0]"),
    (["binary_noise:rho_fp=0.1,rho_fn=0.5"], "transform.binary_noise.rho_fp", 0.2, 0.6,
     "binary_noise: rho_fp + rho_fn must be < 1"),
    (["correct_binary_noise:rho_fp=0.1,rho_fn=0.1"], "transform.correct_binary_noise.rho_fn", 0.3, 1.2,
     "correct_binary_noise: rho_fn must lie in [0.0, 1.0]"),
    (["gaussian_noise:std=0.1"], "transform.gaussian_noise.std", 0.0, -0.1, "gaussian_noise: std must be >= 0"),
    (["learned_potential"], "transform.learned_potential.learning_rate", 1e-2, 0.0,
     "learned_potential: learning_rate must be > 0"),
    (["count"], "transform.count.coef", 0.5, -1.0, "coef"),
    (["outcome_reward"], "transform.outcome_reward.l2", 0.0, -1e-3, "outcome_reward: l2 must be >= 0"),
    (["outcome_reward"], "transform.outcome_reward.learning_rate", 0.5, 0.0,
     "outcome_reward: learning_rate must be > 0"),
]  # fmt: skip


def _spec(transform, path, values):
    return spec_from_dict(
        {"name": "v", "seeds": 1, "config": TINY_PPO, "transform": transform, "params": {path: values}}
    )


@pytest.mark.parametrize(("transform", "path", "good", "bad", "message"), SPEC_CASES)
def test_a_bad_swept_transform_value_is_rejected_by_check_spec(transform, path, good, bad, message):
    check_spec(_spec(transform, path, [good]))  # a valid value passes
    with pytest.raises(ConfigError) as err:
        check_spec(_spec(transform, path, [good, bad]))  # one bad value among the swept ones
    text = str(err.value)
    assert text.startswith(f"params.{path}:") and message in text, text


def _feature(obs, action):
    return jnp.zeros(2)


EXPERT = ExpertData(obs=jnp.zeros((4, 2)), action=jnp.zeros((4,), jnp.int32), next_obs=jnp.zeros((4, 2)),
                    terminated=jnp.zeros((4,), bool))  # fmt: skip


# (a transform built in Python, the leaf's path, a valid value, an invalid value, the message's start)
PYTHON_CASES = [
    (gate("cost"), "transform.step_gate.threshold", 1.0, NAN, "gate: threshold must be finite"),
    (gate("cost", per="episode"), "transform.episode_gate.threshold", -1.0, INF, "gate: threshold must be finite"),
    (multiplicative(("cost",), (0.5,)), "transform.multiplicative.factors.0", 0.9, 1.5,
     "multiplicative: factors ('cost') must lie in [0.0, 1.0]"),
    (coverage(lambda obs: 0, 4), "transform.coverage.bonus", 2.0, INF, "coverage: bonus must be finite"),
    (capped_count(max_count=2), "transform.capped_count.max_count", 1, 2.5,
     "capped_count: max_count must be a whole number >= 1"),
    (redistribute_outcome(_feature, 2), "transform.redistribute_outcome.ridge", 0.1, 0.0,
     "redistribute_outcome: ridge must be > 0"),
    (auxiliary_trust("aux"), "transform.auxiliary_trust.max_weight", 2.0, -1.0,
     "auxiliary_trust: max_weight must be > 0"),
    (static_weights({"task": 1.0}), "transform.static_weights.weights.0", 0.5, NAN,
     "static_weights: weight of 'task' must be finite"),
    (dynamic_weights(("task",)), "transform.dynamic_weights.rate", 0.5, 2.0,
     "dynamic_weights: rate must lie in [0.0, 1.0]"),
    (dynamic_weights(("a", "b"), "least_satisfied", targets=(1.0, 1.0)), "transform.dynamic_weights.scales.1", 2.0,
     0.0, "dynamic_weights: scales ('b') must be > 0"),
    (conditioned_scalarization(("a", "b")), "transform.conditioned_scalarization.scales.0", 2.0, 0.0,
     "conditioned_scalarization: scales ('a') must be > 0"),
    (conditioned_scalarization(("a", "b"), "chebyshev", utopia=(1.0, 1.0)),
     "transform.conditioned_scalarization.utopia.1", 0.0, INF,
     "conditioned_scalarization: utopia ('b') must be finite"),
    (potential_shaping(lambda obs: 0.0, gamma=0.9), "transform.potential_shaping.gamma", 0.5, -1.0,
     "potential_shaping: gamma must be >= 0"),
    (bilevel_shaping(lambda obs: 0.0), "transform.bilevel_shaping.max_weight", 2.0, 0.0,
     "bilevel_shaping: max_weight must be > 0"),
    (bilevel_shaping(lambda obs: 0.0), "transform.bilevel_shaping.baseline_ridge", 1e-3, 0.0,
     "bilevel_shaping: baseline_ridge must be > 0"),
    (teacher_reward([0.0, 1.0], gamma=0.9), "transform.teacher_reward.gamma", 0.5, 1.5,
     "teacher_reward: gamma must lie in [0.0, 1.0]"),
    (teacher_reward([0.0, 1.0]), "transform.teacher_reward.coef", 2.0, NAN, "teacher_reward: coef must be finite"),
    (kl_penalty(coef=0.1), "transform.k_l_penalty.coef", 0.0, -0.1, "kl_penalty: coef must be >= 0"),
    (annotator_bonus(lambda obs: 1.0), "transform.annotator_bonus.learning_rate", 0.1, 0.0,
     "annotator_bonus: learning_rate must be > 0"),
    (gail_reward(EXPERT), "transform.adversarial_reward.gp_coef", 0.0, -1.0,
     "adversarial_reward: gp_coef must be >= 0"),
    (gail_reward(EXPERT), "transform.adversarial_reward.gamma", 0.9, 1.1,
     "adversarial_reward: gamma must lie in [0.0, 1.0]"),
]  # fmt: skip


@pytest.fixture(scope="module")
def cartpole():
    return make("CartPole-v1")


def _config(cartpole, transform):
    env, params = cartpole
    options = {**TINY_PPO, "total_timesteps": 320, "num_evals": 10}
    return ppo.make_config(env, params, transform=chain(transform), **options)


@pytest.mark.parametrize(("transform", "path", "good", "bad", "message"), PYTHON_CASES)
def test_a_bad_batched_transform_value_is_rejected_by_the_agents_validate(
    cartpole, transform, path, good, bad, message
):
    """What ``check_spec`` does for each swept path, for transforms that only Python can build
    (they take callables): the config batched with the values, then ``agent.validate``."""
    config = _config(cartpole, transform)
    ppo.validate(batch_config(config, {path: [good, good]})[0])
    with pytest.raises(ConfigError, match=None) as err:
        ppo.validate(batch_config(config, {path: [good, bad]})[0])
    assert message in str(err.value), str(err.value)


def test_config_replace_with_a_bad_concrete_value_is_rejected(cartpole):
    config = _config(cartpole, clip(-1.0, 1.0))
    bad = config.replace(transform=config.transform.replace(transforms=(clip(-1.0, 1.0).replace(low=np.float32(3.0)),)))
    with pytest.raises(ConfigError, match="clip: low must not exceed high"):
        ppo.validate(bad)
    with pytest.raises(ConfigError, match="binary_noise: rho_fp \\+ rho_fn must be < 1"):
        binary_noise(np.array([0.1, 0.7]), 0.4)  # the factory runs the same validate(), arrays too


def test_check_ordered_and_check_count_work_element_by_element():
    check_ordered(np.array([0.0, 1.0]), np.array([1.0, 1.0]), "x")
    with pytest.raises(ConfigError, match="x, got low"):
        check_ordered(np.array([0.0, 1.0]), np.array([1.0, 1.0]), "x", strict=True)
    with pytest.raises(ConfigError, match="do not match"):
        check_ordered(np.zeros(2), np.zeros(3), "x")
    check_count(np.array([1, 7]), "n")
    check_count(3.0, "n")
    for bad in (np.array([1, 0]), 1.5, -2, NAN):
        with pytest.raises(ConfigError, match="n must"):
            check_count(bad, "n")


def test_a_list_for_a_scalar_option_is_rejected_before_tracing(cartpole):
    env, params = cartpole
    with pytest.raises(ConfigError, match=r"--set learning_rate: expected a single number .* got \[0.1\] \(list\)"):
        configure(ppo, env, params, "CartPole-v1", {**TINY_PPO, "learning_rate": [0.1]}, where="--set")
    config = configure(ppo, env, params, "CartPole-v1", {**TINY_PPO, "learning_rate": 0.1}, where="--set")
    assert config.learning_rate == 0.1
