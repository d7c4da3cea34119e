"""A run inside ``vmap`` is bit-identical to the run alone on CPU, so a sweep's results do not
depend on how its runs are grouped into compiled calls (issue 20 item 2; README, "Determinism").

Expected values are the runs alone (``jit(train)``), compared with ``np.array_equal`` to the
same runs as members of ``jit(vmap_exact(train))`` at batch 1, 2 and 4 (the library's batching:
``core.batching.vmap_exact`` is ``jax.vmap`` except that a batch of one runs as the function
alone, since XLA rounds a size-1 ``vmap`` differently), and a sweep at chunk size 1 to the same
sweep at chunk size 4.

The guarantee is about the library's default XLA flags, so this module runs in a subprocess at
those flags (``tests/test_vmap_determinism_default_flags.py``) and is skipped in the suite's own
process, which compiles at LLVM -O0 (``tests/conftest.py``; -O0 fuses and rounds differently).
"""

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SUITE_XLA_FLAG, TINY_PPO, TINY_SWEEP

from jaxrl_rewards.agents import dqn, ppo, pqn, sac
from jaxrl_rewards.core import determinism
from jaxrl_rewards.core.batching import vmap_exact
from jaxrl_rewards.experiments.backends.local import batch_runs
from jaxrl_rewards.experiments.sweep import run_sweep

pytestmark = pytest.mark.skipif(
    SUITE_XLA_FLAG in os.environ.get("XLA_FLAGS", "").split(),
    reason="runs at the default XLA flags in test_vmap_determinism_default_flags.py",
)

SMALL = {"num_envs": 2, "hidden_sizes": (8,), "num_evals": 2, "eval_episodes": 1, "eval_max_steps": 20}
AGENTS = {
    "ppo": (ppo, "CartPole-v1", {"total_timesteps": 128, "num_steps": 16, "num_minibatches": 2, "update_epochs": 2}),
    "pqn": (pqn, "CartPole-v1", {"total_timesteps": 128, "num_steps": 16}),
    "dqn": (dqn, "CartPole-v1", {"total_timesteps": 64, "num_steps": 8, "learning_starts": 16, "buffer_size": 64}),
    "sac": (sac, "Pendulum-v1", {"total_timesteps": 64, "num_steps": 8, "learning_starts": 16, "buffer_size": 64}),
}
SIZES = (1, 2, 4)


def _leaves(out):
    """Final params and every metric of ``train``'s ``(state, metrics)``, as numpy arrays."""
    state, metrics = out
    return [np.asarray(x) for x in jax.tree.leaves((state.params, metrics))]


def _assert_member_equals_alone(alone, batched, index, label):
    for a, b in zip(alone, batched, strict=True):
        assert np.array_equal(a, b[index], equal_nan=True), f"{label}: member {index} differs from its run alone"


@pytest.fixture(scope="module", params=list(AGENTS))
def agent_runs(request):
    agent, env, overrides = AGENTS[request.param]
    config = agent.make_config(env, **SMALL, **overrides)
    keys = jax.vmap(jax.random.key)(jnp.arange(max(SIZES), dtype=jnp.uint32))
    single = jax.jit(agent.train)
    alone = [_leaves(single(config, keys[i])) for i in range(max(SIZES))]
    batched_train = jax.jit(vmap_exact(agent.train, in_axes=(None, 0)))
    batched = {size: _leaves(batched_train(config, keys[:size])) for size in SIZES}
    return request.param, alone, batched


def test_a_run_inside_vmap_is_bit_identical_to_the_run_alone(agent_runs):
    name, alone, batched = agent_runs
    for size, members in batched.items():
        for i in range(size):
            _assert_member_equals_alone(alone[i], members, i, f"{name} at batch {size}")
    assert not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(alone[0], alone[1], strict=True))  # keys matter


def test_swept_config_leaves_inside_vmap_equal_each_config_alone():
    """Sweeps batch config leaves, not only keys: every learning rate of a batched config trains
    as that learning rate alone (the unswept leaves are shared, ``in_axes`` None, as a sweep
    chunk runs them: ``experiments.backends.local.batch_runs``)."""
    agent, env, overrides = AGENTS["ppo"]
    config = agent.make_config(env, **SMALL, **overrides)
    rates = [1e-3, 3e-3, 1e-2, 3e-2]
    batched_config, axes = batch_runs(config, [{"learning_rate": r} for r in rates], {"learning_rate": np.float32})
    keys = jax.vmap(jax.random.key)(jnp.zeros(len(rates), jnp.uint32))
    batched = _leaves(jax.jit(vmap_exact(agent.train, in_axes=(axes, 0)))(batched_config, keys))
    single = jax.jit(agent.train)
    for i, rate in enumerate(rates):
        alone = _leaves(single(config.replace(learning_rate=np.float32(rate)), keys[i]))
        _assert_member_equals_alone(alone, batched, i, f"learning_rate={rate}")


def test_sweep_results_do_not_depend_on_the_chunk_size(tmp_path):
    """The same spec at chunk size 1 (four compiled calls of one run) and 4 (one call of four
    runs) writes the same results, bit for bit (only the chunk index differs)."""
    frames = {}
    for size in (1, 4):
        spec = {**TINY_SWEEP, "config": TINY_PPO, "search": {"chunk_size": size}}
        result = run_sweep(spec, tmp_path / f"chunk{size}", progress=False)
        assert result.chunks_run == math.ceil(result.frame["run"].nunique() / size)
        frame = result.frame.drop(columns="chunk").sort_values(["run", "iteration"]).reset_index(drop=True)
        frames[size] = frame
    assert frames[1].columns.equals(frames[4].columns)
    for column in frames[1].columns:
        a, b = frames[1][column].to_numpy(), frames[4][column].to_numpy()
        same = np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f" else np.array_equal(a, b)
        assert same, f"column {column!r} differs between chunk sizes 1 and 4"


def test_importing_the_package_made_this_process_batch_exact():
    assert determinism.batch_exact()
    assert determinism.FLAG in os.environ["XLA_FLAGS"].split()


def test_configure_adds_the_flag_once_and_leaves_user_choices_alone():
    env = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    assert determinism.configure(env, initialized=False, machine="x86_64")
    assert env["XLA_FLAGS"] == f"--xla_cpu_enable_fast_math=false {determinism.FLAG}"
    assert determinism.configure(env, initialized=False, machine="x86_64")
    assert env["XLA_FLAGS"].count("xla_cpu_max_isa") == 1
    assert not determinism.configure({"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}, initialized=False, machine="x86_64")
    opted_out = {determinism.OPT_OUT: "0"}
    assert not determinism.configure(opted_out, initialized=False, machine="x86_64") and "XLA_FLAGS" not in opted_out
    late = {}
    assert not determinism.configure(late, initialized=True, machine="x86_64") and "XLA_FLAGS" not in late
    arm = {}
    assert not determinism.configure(arm, initialized=False, machine="aarch64") and "XLA_FLAGS" not in arm
