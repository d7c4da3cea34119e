"""The 'write your own agent' example: under 80 lines, learns CartPole, takes any transform."""

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms import lift

PATH = Path(__file__).resolve().parents[2] / "examples" / "minimal_agent.py"


def load():
    spec = importlib.util.spec_from_file_location("minimal_agent_example", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_is_under_80_lines():
    assert len(PATH.read_text().splitlines()) < 80


@pytest.mark.slow
def test_example_learns_cartpole_with_a_transform():
    example = load()
    env, params = make("CartPole-v1")
    # an extra stream with weight 0 leaves the scalarized reward unchanged
    transform = lift(lambda o, a, n, i: 1.0, "alive", weight=0.0)
    _, returns = jax.jit(example.train, static_argnums=(0,))(env, params, transform, jax.random.key(0))
    returns = np.asarray(returns)
    assert returns.shape == (40,)
    assert returns[-5:].mean() > 3 * max(returns[:5].mean(), 10.0)
