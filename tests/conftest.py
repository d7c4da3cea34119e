"""Shared test helpers: tiny synthetic batches; one XLA compilation cache for the test run.

The suite is dominated by XLA compiles, and many tests compile the same programs (the same tiny
configs in several files, CLI subprocesses). JAX's persistent compilation cache in ``.jax_cache/``
at the repository root (git-ignored, so a fresh clone starts empty) lets every pytest worker and
every subprocess reuse them. Cached executables are the same binaries, so results are unchanged
(``tests/test_golden.py`` checks the bits).

The suite compiles at LLVM optimisation level 0 (``SUITE_XLA_FLAG``): its programs are tiny and
compile-bound, and -O0 cuts XLA:CPU's compile time by about a third (measured 2026-12-02, quiet
2-core machine: PPO 6.1 -> 4.8 s, DQN 5.0 -> 3.5 s, SAC 7.2 -> 4.7 s) for 2.5-3x slower running
code. It rounds differently in the last bits from the default -O2 users get, so every in-suite
comparison compares runs compiled alike, and ``tests/test_golden.py`` computes its runs in a
subprocess at the default flags. ``JAXRL_REWARDS_SUITE_O0=0`` turns it off.

Nothing is left in the system temp directory: Ray's session folders go to a per-process
``RAY_TMPDIR`` removed at exit, and a ``MUJOCO_LOG.TXT`` that MuJoCo writes into the working
directory or the temp directory during the run is removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

#: LLVM -O0 for the suite's compiles (see the module docstring)
SUITE_XLA_FLAG = "--xla_backend_optimization_level=0"
_SUITE_O0 = os.environ.get("JAXRL_REWARDS_SUITE_O0", "1") != "0"
if _SUITE_O0 and SUITE_XLA_FLAG not in os.environ.get("XLA_FLAGS", "").split():
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SUITE_XLA_FLAG}".strip()

import jax  # noqa: E402  (XLA_FLAGS must be set before JAX creates its CPU client)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxrl_rewards.core.types import Transition  # noqa: E402

_CACHE = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")  # subprocesses read these at import
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)

# short path: Ray's unix sockets live under it (107-character limit)
_RAY_TMP = tempfile.mkdtemp(prefix="jr-ray-")
os.environ.setdefault("RAY_TMPDIR", _RAY_TMP)
_MUJOCO_LOGS = [p / "MUJOCO_LOG.TXT" for p in (Path.cwd(), Path(tempfile.gettempdir()))]
_MUJOCO_LOGS = [p for p in _MUJOCO_LOGS if not p.exists()]  # only the ones this run creates


@atexit.register
def _remove_leftovers() -> None:
    shutil.rmtree(_RAY_TMP, ignore_errors=True)
    for log in _MUJOCO_LOGS:
        log.unlink(missing_ok=True)


def default_flags_env() -> dict[str, str]:
    """``os.environ`` for a subprocess that compiles at the library's default XLA flags:
    ``XLA_FLAGS`` without :data:`SUITE_XLA_FLAG`, and the suite's -O0 turned off."""
    flags = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if f != SUITE_XLA_FLAG)
    return {**os.environ, "XLA_FLAGS": flags, "JAXRL_REWARDS_SUITE_O0": "0"}


def make_batch(T: int = 5, N: int = 3, seed: int = 0, info: dict | None = None, obs_dim: int = 2) -> Transition:
    """A deterministic synthetic [T, N] batch with some episode ends."""
    rng = np.random.default_rng(seed)
    terminated = np.zeros((T, N), bool)
    truncated = np.zeros((T, N), bool)
    terminated[min(1, T - 1), 0] = True
    truncated[min(3, T - 1), min(1, N - 1)] = True
    return Transition(
        obs=jnp.asarray(rng.normal(size=(T, N, obs_dim)), jnp.float32),
        action=jnp.asarray(rng.integers(0, 2, size=(T, N)), jnp.int32),
        next_obs=jnp.asarray(rng.normal(size=(T, N, obs_dim)), jnp.float32),
        reward=jnp.asarray(rng.normal(size=(T, N)), jnp.float32),
        terminated=jnp.asarray(terminated),
        truncated=jnp.asarray(truncated),
        info=info or {},
    )


def pytest_collection_modifyitems(config, items) -> None:
    """A benchmark's ``--quick`` smoke test (``bench_smoke``) belongs to the slow set too."""
    for item in items:
        if item.get_closest_marker("bench_smoke") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def batch() -> Transition:
    return make_batch()


#: The smallest PPO config the sweep / logging / backend tests share (one compile between them).
TINY_PPO = {
    "total_timesteps": 64,
    "num_envs": 2,
    "num_steps": 16,
    "num_minibatches": 1,
    "update_epochs": 1,
    "hidden_sizes": [8],
    "num_evals": 2,
    "eval_episodes": 1,
    "eval_max_steps": 20,
}

#: A 2 learning rates x 2 seeds sweep of TINY_PPO in chunks of 2 runs.
TINY_SWEEP = {
    "name": "tiny",
    "seeds": 2,
    "config": TINY_PPO,
    "search": {"chunk_size": 2},
    "params": {"learning_rate": [1e-3, 3e-2], "transform.scale.factor": [1.0]},
    "transform": ["scale:factor=1.0"],
}


def assert_vmap_equals_alone(run_one, transforms, batches) -> None:
    """For each transform, ``run_one(transform, batch) -> streams`` under ``vmap`` over the
    leading axis of ``batches`` gives the same stream rewards and weights as each batch run
    alone (all transforms traced into one compiled call)."""
    size = jax.tree.leaves(batches)[0].shape[0]

    @jax.jit
    def both():
        out = []
        for t in transforms:
            batched = jax.vmap(lambda b, t=t: run_one(t, b))(batches)
            alone = [run_one(t, jax.tree.map(lambda x, i=i: x[i], batches)) for i in range(size)]
            out.append((batched, alone))
        return out

    for batched, alone in both():
        for i in range(size):
            for name in alone[i]:
                np.testing.assert_allclose(batched[name].reward[i], alone[i][name].reward, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(batched[name].weight[i], alone[i][name].weight, rtol=1e-5, atol=1e-6)
