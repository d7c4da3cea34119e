"""The Agent protocol: every registered agent satisfies it, ``check_agent`` names what is wrong,
``register_agent`` / ``get_agent`` work; the config mixins declare shared fields once."""

import dataclasses
import types

import pytest

from jaxrl_rewards.agents import (
    AGENTS,
    Agent,
    check_agent,
    dqn,
    get_agent,
    ppo,
    pqn,
    recurrent_ppo,
    register_agent,
    sac,
)
from jaxrl_rewards.agents.config import (
    AgentConfig,
    EpsilonGreedyConfig,
    OnPolicyConfig,
    ReplayConfig,
    check_options,
    resolve_env,
    static,
)
from jaxrl_rewards.core.validation import ConfigError

CONFIGS = {
    "ppo": ppo.PPOConfig,
    "dqn": dqn.DQNConfig,
    "pqn": pqn.PQNConfig,
    "sac": sac.SACConfig,
    "recurrent_ppo": recurrent_ppo.RecurrentPPOConfig,
}
MIXINS = (OnPolicyConfig, ReplayConfig, EpsilonGreedyConfig)


def fields(cls):
    return {f.name: f for f in dataclasses.fields(cls)}


def is_leaf(field):
    return field.metadata.get("pytree_node", True)


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_registered_agent_satisfies_the_protocol(name):
    agent = AGENTS[name]
    assert check_agent(agent) is agent
    assert isinstance(agent, Agent)
    assert agent.DESCRIPTION.strip() and "\n" not in agent.DESCRIPTION
    # presets only name fields of the agent's config
    for env, options in agent.PRESETS.items():
        assert set(options) <= set(fields(CONFIGS[name])), (env, set(options) - set(fields(CONFIGS[name])))


def test_registry_covers_every_agent_config():
    assert set(CONFIGS) == set(AGENTS)
    assert all(issubclass(cls, AgentConfig) for cls in CONFIGS.values())


def fake_agent(**changes):
    functions = {
        "make_config": lambda env="CartPole-v1", env_params=None, **overrides: None,
        "validate": lambda config: config,
        "init": lambda config, key: None,
        "train_segment": lambda config, state: (state, {}),
        "train": lambda config, key: (None, {}),
        "merge_segments": lambda metrics: metrics,
    }
    module = types.ModuleType("fake_agent")
    for name, value in {**functions, "PRESETS": {}, "DESCRIPTION": "A fake agent.", **changes}.items():
        if value is not None:
            setattr(module, name, value)
    return module


def test_check_agent_accepts_a_complete_module():
    module = fake_agent()
    assert check_agent(module) is module


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train": None}, r"missing function train\(config, key\)"),
        ({"init": lambda config: None}, r"init: cannot be called with \(config, key\)"),
        ({"make_config": lambda env, env_params: None}, r"make_config: must accept \*\*overrides"),
        ({"PRESETS": [("CartPole-v1", {})]}, "PRESETS must be a dict"),
        ({"DESCRIPTION": "two\nlines"}, "DESCRIPTION must be one non-empty line"),
        ({"DESCRIPTION": None}, "DESCRIPTION must be one non-empty line"),
    ],
)
def test_check_agent_names_the_problem_and_the_protocol(changes, message):
    with pytest.raises(ConfigError, match=message) as info:
        check_agent(fake_agent(**changes), "fake")
    assert "'fake'" in str(info.value) and "train_segment(config, state)" in str(info.value)


def test_register_agent_checks_and_refuses_taken_names():
    module = fake_agent()
    try:
        assert register_agent("fake", module) is module
        assert get_agent("fake") is module
        with pytest.raises(ConfigError, match="already registered"):
            register_agent("fake", module)
    finally:
        AGENTS.pop("fake", None)
    with pytest.raises(ConfigError, match="does not satisfy"):
        register_agent("broken", fake_agent(train=None))
    assert "broken" not in AGENTS


def test_get_agent_lists_the_agents():
    with pytest.raises(ValueError, match=r"unknown agent 'nope'.*'dqn'.*'ppo'"):
        get_agent("nope")


# --------------------------------------------------------------------------- config mixins


@pytest.mark.parametrize("mixin", MIXINS)
def test_mixins_only_add_fields(mixin):
    """A mixin that redeclared a base field would lose its default to the base's through a
    second mixin (dataclass fields are collected along the MRO)."""
    own = set(mixin.__annotations__)
    assert own and not own & set(fields(AgentConfig))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_inherited_fields_keep_their_kind(name):
    """Redeclaring a field to change its default must keep it static or a leaf as declared."""
    cls = CONFIGS[name]
    for base in (AgentConfig, *MIXINS):
        if issubclass(cls, base):
            for field_name, field in fields(base).items():
                assert is_leaf(fields(cls)[field_name]) == is_leaf(field), (name, field_name)


def test_shared_hyperparameters_are_leaves_and_sizes_static_in_every_agent():
    for cls in CONFIGS.values():
        f = fields(cls)
        assert all(is_leaf(f[n]) for n in ("env_params", "transform", "learning_rate", "gamma", "max_grad_norm"))
        assert not any(is_leaf(f[n]) for n in ("env", "num_envs", "num_steps", "total_timesteps", "hidden_sizes"))


def test_mixins_are_shared_by_the_agents_that_need_them():
    assert issubclass(dqn.DQNConfig, ReplayConfig) and issubclass(dqn.DQNConfig, EpsilonGreedyConfig)
    assert issubclass(pqn.PQNConfig, OnPolicyConfig) and issubclass(pqn.PQNConfig, EpsilonGreedyConfig)
    assert issubclass(ppo.PPOConfig, OnPolicyConfig) and issubclass(sac.SACConfig, ReplayConfig)
    # agent defaults on top of the mixins'
    assert fields(dqn.DQNConfig)["eps_fraction"].default == 0.5
    assert fields(pqn.PQNConfig)["eps_fraction"].default == 0.2
    assert fields(sac.SACConfig)["tau"].default == 0.005 and fields(dqn.DQNConfig)["tau"].default == 1.0


def test_schedule_properties():
    config = ppo.make_config("CartPole-v1", num_envs=4, num_steps=8, total_timesteps=200, num_evals=2)
    # 200 // 32 = 6 iterations -> 3 per evaluation
    assert (config.steps_per_iteration, config.iterations_per_eval, config.num_iterations) == (32, 3, 6)
    assert config.trained_timesteps == 192 and config.batch_size == 32
    assert config.num_updates_per_run == 6 * config.update_epochs * config.num_minibatches


def test_static_marks_a_field_static():
    field = static(3)
    assert field.default == 3 and field.metadata["pytree_node"] is False


@pytest.mark.parametrize(
    ("agent", "override", "message"),
    [
        (pqn, {"num_minibatches": 5}, "does not divide"),
        (dqn, {"learning_starts": -1}, "learning_starts must be a non-negative integer"),
        (dqn, {"buffer_size": 0}, "buffer_size must be a positive integer"),
        (dqn, {"eps_end": 1.5}, "eps_end"),
        (dqn, {"max_grad_norm": 0.0}, "max_grad_norm must be > 0"),
        (dqn, {"target_update_every": 0}, "target_update_every must be a positive integer"),
        (pqn, {"gamma": 1.5}, "gamma"),
        (sac, {"tau": 2.0}, "tau"),
        (pqn, {"hidden_sizes": ()}, "hidden_sizes"),
    ],
)
def test_mixin_checks_run_for_every_agent_that_uses_them(agent, override, message):
    env = "Pendulum-v1" if agent is sac else "CartPole-v1"
    with pytest.raises(ConfigError, match=message):
        agent.make_config(env, **override)


def test_check_options_lists_valid_options():
    with pytest.raises(ConfigError, match=r"unknown DQN option\(s\) \['buffer'\]; valid options: .*'buffer_size'"):
        check_options(dqn.DQNConfig, {"buffer": 3}, "DQN")


def test_resolve_env_applies_the_preset_and_fills_names():
    env, params, options = resolve_env("Pendulum-v1", None, ppo.PRESETS, {"num_envs": 2, "hidden_sizes": [8]})
    assert options["num_envs"] == 2 and options["num_steps"] == 256  # override on top of the preset
    assert options["env_name"] == "Pendulum-v1" and options["hidden_sizes"] == (8,)
    assert options["eval_max_steps"] == 200 and hasattr(env, "step") and params is not None
