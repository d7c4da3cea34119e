"""Shared set-up and checks of the agent tests: seeds trained alone, again, and under ``vmap``.

Imported by the test modules of this folder (``from agent_runs import ...``; pytest puts the
folder on ``sys.path``). Not a test module itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import jax
import numpy as np


def train_runs(agent: ModuleType, config: Any) -> tuple[Any, list, tuple, tuple]:
    """Train ``agent.train`` (jitted) on two keys one at a time, on the first key again, and on
    both keys in one ``vmap``. Returns ``(config, alone, again, batched)``, each run a
    ``(state, metrics)`` pair (``batched``'s leaves with a leading seed axis ``[2, ...]``)."""
    keys = jax.random.split(jax.random.key(0), 2)
    single = jax.jit(agent.train)
    alone = [single(config, k) for k in keys]
    again = single(config, keys[0])
    batched = jax.jit(jax.vmap(agent.train, in_axes=(None, 0)))(config, keys)
    return config, alone, again, batched


def check_determinism_and_vmap(runs: tuple, names: Sequence[str], rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Same key -> bit-identical metrics; the two keys differ in ``names[0]``; each seed inside
    ``vmap`` equals the seed alone on ``names`` (to float32 rounding: ``rtol``, ``atol``)."""
    _config, alone, again, (_, batched) = runs
    for name, value in alone[0][1].items():
        np.testing.assert_array_equal(value, again[1][name], err_msg=name)
    assert not np.array_equal(alone[0][1][names[0]], alone[1][1][names[0]])
    for i, (_, metrics) in enumerate(alone):
        for name in names:
            np.testing.assert_allclose(metrics[name], batched[name][i], rtol=rtol, atol=atol, err_msg=name)
