"""EqualByConfig: env instances compare by class and constructor options (one jit cache per config)."""

from __future__ import annotations

import pytest

from jaxrl_rewards.envs.base import EqualByConfig
from jaxrl_rewards.envs.constrained.cartpole import ConstrainedCartPole
from jaxrl_rewards.envs.exploration.key_door import KeyDoorGrid
from jaxrl_rewards.envs.gridworld import SparseGridWorld


class _Plain(EqualByConfig):
    pass


class _Sized(EqualByConfig):
    config_fields = ("size", "mode")

    def __init__(self, size: int, mode: str = "a") -> None:
        self.size, self.mode = size, mode


def test_instances_without_options_are_all_equal_and_hash_alike():
    assert _Plain() == _Plain() and hash(_Plain()) == hash(_Plain())
    assert ConstrainedCartPole() == ConstrainedCartPole()
    assert len({ConstrainedCartPole(), ConstrainedCartPole()}) == 1


@pytest.mark.parametrize(
    ("a", "b", "equal"), [((3, "a"), (3, "a"), True), ((3, "a"), (4, "a"), False), ((3, "a"), (3, "b"), False)]
)
def test_instances_compare_by_their_config_fields(a, b, equal):
    assert (_Sized(*a) == _Sized(*b)) is equal
    assert (hash(_Sized(*a)) == hash(_Sized(*b))) is equal


def test_different_classes_are_never_equal_and_shipped_envs_use_their_options():
    assert _Plain() != _Sized(3)
    assert SparseGridWorld(size=5) == SparseGridWorld(size=5) != SparseGridWorld(size=6)
    assert KeyDoorGrid(size=5) != KeyDoorGrid(size=7)
