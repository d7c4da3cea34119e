"""The 'write your own agent' example: a short module that satisfies the Agent protocol, can be
registered, learns CartPole and takes any transform."""

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxrl_rewards.agents import AGENTS, Agent, check_agent, get_agent, register_agent
from jaxrl_rewards.experiments.runner import train_seeds
from jaxrl_rewards.transforms import lift

PATH = Path(__file__).resolve().parents[2] / "examples" / "minimal_agent.py"


def load():
    spec = importlib.util.spec_from_file_location("minimal_agent_example", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_is_short():
    # the whole protocol (8 names), a config, a state, one iteration and the __main__ demo
    assert len(PATH.read_text().splitlines()) < 120


def test_example_satisfies_the_protocol_and_registers():
    example = load()
    assert check_agent(example) is example and isinstance(example, Agent)
    try:
        register_agent("reinforce_example", example)
        assert get_agent("reinforce_example") is example
    finally:
        AGENTS.pop("reinforce_example", None)


def test_example_runs_through_the_library_runner():
    example = load()
    config = example.make_config("CartPole-v1", num_envs=2, num_steps=8, total_timesteps=32, num_evals=2)
    run = train_seeds(example, config, 2, progress=False)
    returns = np.asarray(run.metrics["train/episode_return"])
    assert returns.shape == (2, 2) and np.asarray(run.metrics["eval/return/task"]).shape == (2, 2)


@pytest.mark.slow
def test_example_learns_cartpole_with_a_transform():
    example = load()
    # an extra stream with weight 0 leaves the scalarized reward unchanged
    config = example.make_config("CartPole-v1", transform=lift(lambda o, a, n, i: 1.0, "alive", weight=0.0))
    _, metrics = jax.jit(example.train)(config, jax.random.key(0))
    returns = np.asarray(metrics["train/episode_return"])
    assert returns.shape == (40,)
    assert returns[-5:].mean() > 3 * max(returns[:5].mean(), 10.0)
