"""What a training run returns: per-iteration training metrics and evaluation metrics, kept apart.

``RunMetrics(train, eval)`` holds two dicts of arrays: ``train`` (per-iteration curves such as
``loss/policy``, ``train/episode_return``, ``transform/...``, ``timesteps``; ``[num_iterations]``
after ``merge_segments``) and ``eval`` (per-evaluation curves such as ``return/task``, ``length``,
``timesteps``; ``[num_evals]``). It is a pytree (so it flows through ``jit``, ``vmap`` and
``lax.scan``) and a read-only mapping over **flat names**: training names as they are, evaluation
names prefixed ``eval/`` (the names the results store, plots and tables use). Code that needs the
split reads ``.train`` / ``.eval``; code that writes tables reads ``metrics["eval/return/task"]``.

>>> import jax.numpy as jnp
>>> m = RunMetrics(train={"loss/policy": jnp.zeros(3)}, eval={"return/task": jnp.ones(2)})
>>> sorted(m)
['eval/return/task', 'loss/policy']
>>> m["eval/return/task"].shape, "eval/return/task" in m
((2,), True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jax

EVAL_PREFIX = "eval/"


@jax.tree_util.register_pytree_with_keys_class
class RunMetrics(Mapping):
    """Training and evaluation metrics of a run (see the module docstring).

    Attributes:
        train: name -> array of per-iteration values.
        eval: name -> array of per-evaluation values (names without the ``eval/`` prefix).
    """

    __slots__ = ("eval", "train")

    def __init__(self, train: Mapping[str, Any], eval: Mapping[str, Any]) -> None:
        self.train = dict(train)
        self.eval = dict(eval)

    # ----------------------------------------------------------------- mapping over flat names
    def __getitem__(self, name: str) -> Any:
        if name.startswith(EVAL_PREFIX) and name[len(EVAL_PREFIX) :] in self.eval:
            return self.eval[name[len(EVAL_PREFIX) :]]
        return self.train[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.train
        for name in self.eval:
            yield EVAL_PREFIX + name

    def __len__(self) -> int:
        return len(self.train) + len(self.eval)

    def __repr__(self) -> str:
        return f"RunMetrics(train={sorted(self.train)}, eval={sorted(self.eval)})"

    def flat(self) -> dict[str, Any]:
        """A plain dict of flat names -> arrays (``eval/`` prefix on evaluation names)."""
        return dict(self.items())

    # ----------------------------------------------------------------- pytree
    def tree_flatten_with_keys(self):
        children = [(jax.tree_util.DictKey("train"), self.train), (jax.tree_util.DictKey("eval"), self.eval)]
        return children, None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux
        train, evaluation = children
        return cls(train=train, eval=evaluation)


__all__ = ["EVAL_PREFIX", "RunMetrics"]
