"""jaxrl_rewards.core.struct: pytree dataclasses whose tree structures tell classes apart, so a
jitted call never runs the executable compiled for another class (see the module docstring)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil

import jax
import jax.numpy as jnp
import pytest

import jaxrl_rewards
import jaxrl_rewards.agents
import jaxrl_rewards.envs
from jaxrl_rewards.bandits.algorithms import epsilon_greedy, ucb1
from jaxrl_rewards.core import struct


class Pair(struct.PyTreeNode):
    a: jax.Array
    b: jax.Array
    name: str = struct.field(pytree_node=False, default="pair")


def test_library_nodes_with_the_same_layout_have_different_structures():
    """EpsilonGreedy and UCB1 both hold one float leaf and the static ``uses_cost=False``; flax's
    registration gave them equal PyTreeDefs (the CI failure), ours must not."""
    assert jax.tree.structure(epsilon_greedy(0.2)) != jax.tree.structure(ucb1(1.0))
    assert jax.tree.structure(epsilon_greedy(0.2)) == jax.tree.structure(epsilon_greedy(0.5))


def test_jit_dispatch_never_runs_another_classes_executable():
    """64 classes with identical layouts through one jitted function, twice over: every call must
    return its own class's constant. With flax.struct registration 4-136 of such calls came back
    wrong per process (30-300 classes, measured 2026-12-03)."""
    classes = [type(f"Node{i}", (struct.PyTreeNode,), {"__annotations__": {"x": jax.Array}, "k": i}) for i in range(64)]

    @jax.jit
    def tag(node):
        return node.x + type(node).k

    got = [int(tag(cls(x=jnp.int32(0)))) for _ in range(2) for cls in classes]
    assert got == [cls.k for _ in range(2) for cls in classes]


def test_leaves_paths_static_fields_and_round_trip():
    node = Pair(a=jnp.float32(1.0), b=jnp.arange(3), name="x")
    paths, treedef = jax.tree_util.tree_flatten_with_path(node)
    assert [p for p, _ in paths] == [(jax.tree_util.GetAttrKey("a"),), (jax.tree_util.GetAttrKey("b"),)]
    assert treedef != jax.tree.structure(Pair(a=1.0, b=2.0, name="y"))  # static fields are structure
    back = jax.tree.unflatten(treedef, [v for _, v in paths])
    assert type(back) is Pair and back.name == "x" and float(back.a) == 1.0
    doubled = jax.tree.map(lambda v: v * 2, node)
    assert type(doubled) is Pair and doubled.b.tolist() == [0, 2, 4] and doubled.name == "x"


def test_frozen_replace_kw_only_and_pickle():
    node = Pair(a=1.0, b=2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.a = 3.0  # type: ignore[misc]
    assert node.replace(b=5.0) == Pair(a=1.0, b=5.0)

    class KwOnly(struct.PyTreeNode, kw_only=True):
        first: float = 0.0
        second: float

    assert KwOnly(second=2.0).first == 0.0
    with pytest.raises(TypeError):
        KwOnly(1.0, 2.0)  # type: ignore[misc]

    @struct.dataclass
    class Decorated:
        v: jax.Array

    assert jax.tree.leaves(Decorated(v=jnp.ones(2)))[0].shape == (2,)
    assert pickle.loads(pickle.dumps(node)) == node


def test_unflatten_does_not_run_post_init():
    """Leaves may be tracers, ``None`` or ``object()`` placeholders inside jax transforms, so
    unflattening must not run validation in ``__post_init__``."""

    class Checked(struct.PyTreeNode):
        v: float

        def __post_init__(self):
            if not isinstance(self.v, float):
                raise TypeError("v must be a float")

    treedef = jax.tree.structure(Checked(v=1.0))
    assert jax.tree.unflatten(treedef, [None]).v is None
    assert float(jax.jit(lambda c: c.v * 2)(Checked(v=1.5))) == 3.0


def test_no_library_class_is_registered_through_flax_struct():
    """Every dataclass the package defines is registered by jaxrl_rewards.core.struct."""
    offenders, names = [], []
    for package in (jaxrl_rewards, jaxrl_rewards.agents, jaxrl_rewards.envs):
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    assert len(names) > 100 and "jaxrl_rewards.agents.ppo" in names and "jaxrl_rewards.envs.registry" in names
    for name in names:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and "_flax_dataclass" in cls.__dict__:
                offenders.append(f"{cls.__module__}.{cls.__qualname__}")
    assert not offenders, offenders
