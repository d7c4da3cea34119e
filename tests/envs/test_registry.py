"""Registry: names, make/reset/step of every non-brax env, errors, overrides, user envs."""

from __future__ import annotations

import inspect

import gymnax
import jax
import jax.numpy as jnp
import pytest

from jaxrl_rewards.envs import (
    SparseGridWorld,
    UnavailableEnvironmentError,
    UnknownEnvironmentError,
    env_info,
    make,
    register,
    registered_envs,
    unregister,
)
from jaxrl_rewards.envs.registry import OWN_ENV_MODULES

BRAX_NAMES = {
    "Ant-brax",
    "HalfCheetah-brax",
    "Hopper-brax",
    "Humanoid-brax",
    "HumanoidStandup-brax",
    "InvertedPendulum-brax",
    "InvertedDoublePendulum-brax",
    "Pusher-brax",
    "Reacher-brax",
    "Walker2d-brax",
}
# brax's swimmer calls jnp.clip(a_min=...), which the installed JAX no longer accepts.
SWIMMER_BROKEN = "a_min" not in inspect.signature(jnp.clip).parameters
GYMNAX_NAMES = set(gymnax.registered_envs) - {"MNISTBandit-bsuite"}
FAST_NAMES = [name for name in registered_envs() if not name.endswith("-brax")]


def test_registered_names_are_gymnax_brax_and_ours():
    names = registered_envs()
    assert len(names) == len(set(names))
    brax_names = BRAX_NAMES | (set() if SWIMMER_BROKEN else {"Swimmer-brax"})
    own_names = {"SparseGridWorld-v0"}
    for module in OWN_ENV_MODULES:
        assert module.ENVIRONMENTS, f"{module.__name__} registers nothing"
        own_names |= set(module.ENVIRONMENTS)
    assert set(names) == GYMNAX_NAMES | brax_names | own_names
    for name in own_names:
        assert env_info(name)["family"] == "jaxrl_rewards"
    assert len(GYMNAX_NAMES) == 25
    assert "MNISTBandit-bsuite" not in names


@pytest.mark.parametrize("name", FAST_NAMES)
def test_make_reset_step_returns_gymnax_six_tuple(name):
    env, params = make(name)
    obs_shape = env.observation_space(params).shape
    key_reset, key_action, key_step = jax.random.split(jax.random.PRNGKey(0), 3)
    obs, state = env.reset(key_reset, params)
    assert obs.shape == obs_shape
    action = env.action_space(params).sample(key_action)
    out = env.step(key_step, state, action, params)
    assert isinstance(out, tuple) and len(out) == 6
    next_obs, _, reward, terminated, truncated, info = out
    assert next_obs.shape == obs_shape
    assert jnp.shape(reward) == ()
    for flag in (terminated, truncated):
        assert flag.dtype == jnp.bool_ and flag.shape == ()
    assert info["final_observation"].shape == obs_shape
    assert bool(info["terminated"]) == bool(terminated)
    assert bool(info["truncated"]) == bool(truncated)

    summary = env_info(name)
    assert summary["name"] == name
    assert summary["obs_shape"] == obs_shape
    assert summary["family"] == ("gymnax" if name in GYMNAX_NAMES else "jaxrl_rewards")
    assert summary["action_kind"] in {"discrete", "continuous"}
    assert summary["description"]


def test_env_info_examples():
    assert env_info("CartPole-v1") == {
        "name": "CartPole-v1",
        "family": "gymnax",
        "action_kind": "discrete",
        "action_shape": (),
        "num_actions": 2,
        "obs_shape": (4,),
        "max_steps_in_episode": 500,
        "description": env_info("CartPole-v1")["description"],
    }
    pendulum = env_info("Pendulum-v1")
    assert (pendulum["action_kind"], pendulum["action_shape"]) == ("continuous", (1,))
    grid = env_info("SparseGridWorld-v0")
    assert (grid["family"], grid["obs_shape"], grid["num_actions"]) == ("jaxrl_rewards", (64,), 4)


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownEnvironmentError) as excinfo:
        make("CartPole-v2")
    message = str(excinfo.value)
    assert "'CartPole-v1'" in message and "registered_envs()" in message
    assert isinstance(excinfo.value, ValueError)


def test_lookup_is_exact_but_suggests_other_case():
    with pytest.raises(ValueError, match="'CartPole-v1'"):
        make("cartpole-v1")
    with pytest.raises(ValueError, match="'InvertedPendulum-brax'"):
        make("InvertedPendulum-Brax")
    with pytest.raises(ValueError, match="No close matches"):
        make("zzzzzzzz")


def test_mnist_bandit_raises_clear_error():
    with pytest.raises(UnavailableEnvironmentError, match="MNIST") as excinfo:
        make("MNISTBandit-bsuite")
    assert "download" in str(excinfo.value)
    with pytest.raises(UnavailableEnvironmentError):
        env_info("MNISTBandit-bsuite")


def test_swimmer_brax_unavailable_with_clear_error_when_jax_lacks_clip_a_min():
    if not SWIMMER_BROKEN:
        pytest.skip("installed JAX accepts jnp.clip(a_min=...)")
    assert "Swimmer-brax" not in registered_envs()
    with pytest.raises(UnavailableEnvironmentError, match="a_min"):
        make("Swimmer-brax")


def test_param_overrides_replace_default_fields():
    env, params = make("CartPole-v1", max_steps_in_episode=7, gravity=1.5)
    assert params.max_steps_in_episode == 7 and params.gravity == 1.5
    assert params.masscart == env.default_params.masscart
    _, grid_params = make("SparseGridWorld-v0", goal_reward=2.5, slip_prob=0.1)
    assert (grid_params.goal_reward, grid_params.slip_prob) == (2.5, 0.1)


def test_unknown_param_override_names_valid_fields():
    with pytest.raises(ValueError, match="not_a_field") as excinfo:
        make("CartPole-v1", not_a_field=1.0)
    assert "gravity" in str(excinfo.value) and "max_steps_in_episode" in str(excinfo.value)


def test_constructor_options_go_to_the_constructor():
    env, params = make("SparseGridWorld-v0", size=4, obs_mode="coords", max_steps_in_episode=9)
    assert (env.size, env.obs_mode, params.max_steps_in_episode) == (4, "coords", 9)
    env, params = make("DeepSea-bsuite", size=5)
    assert env.observation_space(params).shape == (5, 5)


def test_register_user_env_then_duplicate_raises():
    name = "TinyGrid-test"

    def factory(size: int = 3):
        env = SparseGridWorld(size)
        return env, env.default_params.replace(max_steps_in_episode=5)

    register(name, factory, description="a tiny grid")
    try:
        assert name in registered_envs()
        env, params = make(name, goal_reward=4.0)
        assert env.size == 3 and params.max_steps_in_episode == 5 and params.goal_reward == 4.0
        assert make(name, size=2)[0].size == 2
        assert env_info(name)["family"] == "user"
        with pytest.raises(ValueError, match="already registered"):
            register(name, factory)
    finally:
        unregister(name)
    assert name not in registered_envs()
    with pytest.raises(ValueError, match="already registered"):
        register("CartPole-v1", factory)
    with pytest.raises(ValueError, match="built in"):
        unregister("CartPole-v1")
