"""Factories built from a transform class's fields: a hyperparameter is declared once.

A transform's dataclass fields are its hyperparameters, with their defaults; its checks live
in ``RewardTransform.validate``. A factory such as ``lagrangian(limits, **options)`` only
normalises its arguments and calls :func:`build`, which rejects unknown options (naming the
valid ones) and validates the result. :func:`factory_signature` gives such a factory the
signature of the class's fields, so ``inspect.signature`` (the registry's option list, the
CLI's ``list`` command, editors) shows every option and its default.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from jaxrl_rewards.core.validation import ConfigError, close_matches

T = TypeVar("T")


def field_defaults(cls: type) -> dict[str, Any]:
    """``name -> default`` of a dataclass's fields (``inspect.Parameter.empty`` when none)."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = inspect.Parameter.empty
    return out


def check_choice(value: Any, choices: Sequence[Any], field: str, who: str) -> None:
    """``ConfigError`` ``"<who>: <field> must be one of [...], got <value>"`` unless ``value``
    is one of ``choices``."""
    if value not in tuple(choices):
        raise ConfigError(f"{who}: {field} must be one of {list(choices)}, got {value!r}")


def build(
    cls: Callable[..., T],
    who: str,
    options: Mapping[str, Any],
    exclude: Sequence[str] = (),
    renamed: Mapping[str, str] | None = None,
) -> T:
    """``cls(**options).validate()``, after checking every option is a field of ``cls`` (and
    not in ``exclude``): an unknown one is a ``ConfigError`` naming it, the closest field
    names and every valid option; an old name in ``renamed`` (``old -> new``) names its new one."""
    valid = [name for name in field_defaults(cls) if name not in exclude]
    for key in options:
        if key in (renamed or {}):
            raise ConfigError(f"{who}: option {key!r} is now called {renamed[key]!r}")
        if key not in valid:
            raise ConfigError(f"{who}: unknown option {key!r}{close_matches(key, valid)}; its options: {valid}")
    return cls(**options).validate()


def factory_signature(
    cls: type,
    positional: Sequence[str] = (),
    exclude: Sequence[str] = (),
    defaults: Mapping[str, Any] | None = None,
    required: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
) -> inspect.Signature:
    """The signature of a factory that takes ``cls``'s fields: ``positional`` first (positional
    or keyword, in that order), every other field keyword-only, with the class defaults
    overridden by ``defaults``; ``required`` fields have no default; ``exclude`` are left out;
    ``rename`` gives a positional field the factory's own argument name."""
    base = {**field_defaults(cls), **(defaults or {})}
    rename = dict(rename or {})
    params = []
    for name in positional:
        default = inspect.Parameter.empty if name in required else base[name]
        params.append(
            inspect.Parameter(rename.get(name, name), inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
    for name, default in base.items():
        if name in positional or name in exclude:
            continue
        default = inspect.Parameter.empty if name in required else default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.Signature(params, return_annotation=cls.__name__)


__all__ = ["build", "check_choice", "factory_signature", "field_defaults"]
