"""Transforms by name: the registry and the one transform language of the CLI, sweep specs and
the bandit CLI.

A transform is written either as a **TOML table** (sweep specs)::

    [[transform]]
    name = "lagrangian"
    limits = [1.0, 2.0]

or as the same table **in one string** (the CLI's ``-t``)::

    lagrangian:limits=[1.0,2.0],mode=pid

``name`` alone, or ``name:key=value,key=value``: each value is a TOML value (numbers, quoted
strings, ``true``/``false``, arrays ``[...]`` and inline tables ``{...}``, nested freely), and a
bare word such as ``pid`` is read as a string. Commas inside brackets, braces or quotes do not
separate options. Both forms become the same ``{"name": ..., **options}`` dict, which
``build_transform`` turns into a transform; unknown names and options are errors that list the
valid ones and the closest matches.

``build_transforms(entries)`` chains several entries into one ``Chain`` whose members are
named by their registry names (``transform.<name>.<field>`` addresses a leaf, see
``jaxrl_rewards.experiments.paths``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxrl_rewards.core.validation import ConfigError, close_matches
from jaxrl_rewards.envs import GridDistancePotential
from jaxrl_rewards.transforms.basic import clip, normalize_rewards, scale
from jaxrl_rewards.transforms.bounding import (
    centered_sigmoid,
    clip_process,
    clip_to_range,
    decoupled_normalize,
    delta_reward,
)
from jaxrl_rewards.transforms.constraints.lagrangian import lagrangian
from jaxrl_rewards.transforms.constraints.thresholds import threshold_weights
from jaxrl_rewards.transforms.core import Chain, RewardTransform, identity, unique_names
from jaxrl_rewards.transforms.gates import capped_count
from jaxrl_rewards.transforms.intrinsic import (
    count_bonus,
    e3b_bonus,
    icm_bonus,
    learning_progress_bonus,
    prediction_error_bonus,
    rnd_bonus,
)
from jaxrl_rewards.transforms.learned.outcome import outcome_reward
from jaxrl_rewards.transforms.noise import binary_noise, correct_binary_noise, delay_rewards, gaussian_noise, sign_flip
from jaxrl_rewards.transforms.shaping import learned_potential, potential_shaping
from jaxrl_rewards.transforms.teacher import grid_teacher

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def grid_distance_shaping(size: int = 8, coef: float = 1.0) -> RewardTransform:
    """Potential shaping toward the goal of ``SparseGridWorld-v0`` (``Phi`` = minus the
    normalised Manhattan distance, :class:`jaxrl_rewards.envs.GridDistancePotential`): the
    command-line form of ``potential_shaping(GridDistancePotential(size), coef)``."""

    return potential_shaping(GridDistancePotential(size), coef)


#: name -> (factory, one-line description), for ``jaxrl-rewards list`` and the CLI's --transform.
REGISTRY = {
    "identity": (identity, "leave every stream unchanged"),
    "scale": (scale, "multiply selected streams by a factor"),
    "clip": (clip, "clip selected streams to [low, high]"),
    "normalize": (normalize_rewards, "divide by the running std of the discounted return, per stream"),
    "centered_sigmoid": (centered_sigmoid, "2*sigmoid((r - running mean or baseline) / T) - 1"),
    "decoupled_normalize": (decoupled_normalize, "standardise each stream separately before weighting"),
    "clip_to_range": (clip_to_range, "map [low, high] onto [out_low, out_high] and clip"),
    "delta": (delta_reward, "Delta process reward r_t - r_{t+1} within episodes (telescopes; last step 0 or r_T)"),
    "clip_process": (clip_process, "Clip process reward min(r - eta, 0): more steps never pay"),
    "capped_count": (capped_count, "positive rewards pay only the first k times per episode"),
    "sign_flip": (sign_flip, "flip the reward's sign with probability p (optionally unbiased)"),
    "binary_noise": (binary_noise, "false-positive / false-negative noise on binary rewards"),
    "correct_binary_noise": (correct_binary_noise, "unbiased correction (r - rho_fp) / (1 - rho_fp - rho_fn)"),
    "gaussian_noise": (gaussian_noise, "additive N(0, std^2) reward noise"),
    "delay": (delay_rewards, "pay the accumulated reward every k steps or at episode end"),
    "grid_distance_shaping": (grid_distance_shaping, "potential shaping toward SparseGridWorld's goal (distance)"),
    "grid_teacher": (grid_teacher, "teacher reward r + gamma V*(s') - V*(s) from SparseGridWorld's exact V*"),
    "outcome_reward": (outcome_reward, "implicit step rewards fitted so their episode sum predicts the outcome label"),
    "learned_potential": (learned_potential, "potential shaping with a value net fitted in update"),
    "lagrangian": (lagrangian, "Lagrange multipliers (SGD / PID / augmented) pricing cost streams against limits"),
    "threshold_weights": (threshold_weights, "push reward components only until they reach their thresholds"),
    "count": (count_bonus, "intrinsic stream beta/sqrt(N(s')): exact or SimHash counts, global or episodic"),
    "rnd": (rnd_bonus, "Random Network Distillation bonus stream (normalised, non-episodic)"),
    "icm": (icm_bonus, "ICM forward-model error on inverse-dynamics features"),
    "e3b": (e3b_bonus, "E3B elliptical episodic bonus on inverse-dynamics embeddings"),
    "prediction_error": (prediction_error_bonus, "forward-model prediction-error bonus"),
    "learning_progress": (learning_progress_bonus, "noise-robust learning-progress bonus"),
}

TransformEntry = str | Mapping[str, Any]


_CLOSING = {"[": "]", "{": "}", "(": ")"}


def _split_options(text: str) -> list[str]:
    """Split ``k=v,k=v`` at the commas outside brackets, braces and quotes; ``ConfigError`` for
    unbalanced brackets or an unclosed quote."""
    parts, stack, quote, start = [], [], "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in _CLOSING:
            stack.append(_CLOSING[char])
        elif char in "]})":
            if not stack or stack.pop() != char:
                raise ConfigError(f"unbalanced {char!r} at position {i} in {text!r}")
        elif char == "," and not stack:
            parts.append(text[start:i])
            start = i + 1
    if quote:
        raise ConfigError(f"unclosed quote {quote} in {text!r}")
    if stack:
        raise ConfigError(f"unclosed bracket in {text!r} (missing {''.join(reversed(stack))!r})")
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_value(text: str, where: str = "value") -> Any:
    """One option value: a TOML value (``1e-3``, ``[1.0, 2.0]``, ``"text"``, ``true``, ``{a = 1}``),
    or a bare word (letters, digits, ``_-./``), read as a string.

    >>> parse_value("[1.0, 2.0]"), parse_value("pid"), parse_value("true"), parse_value("'a,b'")
    ([1.0, 2.0], 'pid', True, 'a,b')

    Raises ``ConfigError`` naming ``where`` for text that is neither (``(1, 2)``, ``[1,``) and
    for Python spellings TOML does not have (``True``, ``False``, ``None``)."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if text in ("True", "False", "None"):
        raise ConfigError(f"{where}: {text!r} is Python, not TOML; write true / false (there is no None)")
    if text and all(c.isalnum() or c in "_-./" for c in text):
        return text  # a bare word: pid, sgd, task, cost_0
    hint = " (lists are written [a, b])" if text.startswith("(") else ""
    raise ConfigError(f"{where}: cannot read {text!r} as a number, string, boolean, list or table{hint}")


def parse_transform(text: str) -> dict[str, Any]:
    """``"name"`` or ``"name:key=value,..."`` -> ``{"name": name, key: value, ...}`` (see the
    module docstring).

    >>> parse_transform("lagrangian:limits=[1.0,2.0],mode=pid")
    {'name': 'lagrangian', 'limits': [1.0, 2.0], 'mode': 'pid'}

    Raises ``ConfigError`` on malformed text (no name, an option without ``=``, a repeated
    option, unbalanced brackets or quotes, an unreadable value)."""
    if not isinstance(text, str):
        raise ConfigError(f"a transform must be a string like 'scale:factor=0.5'; got {type(text).__name__}")
    name, _, options = text.partition(":")
    entry: dict[str, Any] = {"name": name.strip()}
    if not entry["name"]:
        raise ConfigError(f"transform {text!r}: missing the name before ':' (available: {sorted(REGISTRY)})")
    try:
        items = _split_options(options)
    except ConfigError as err:
        raise ConfigError(f"transform {entry['name']!r}: {err}") from None
    options = parse_assignments(items, f"transform {entry['name']!r}")
    if "name" in options:
        raise ConfigError(f"transform {entry['name']!r}: option 'name' given twice")
    return {**entry, **options}


def parse_assignments(items: Sequence[str], where: str) -> dict[str, Any]:
    """``["key=value", ...]`` -> ``{key: value}``, each value read by :func:`parse_value`: the one
    reader of assignments (transform options here, the CLI's ``--set`` and ``--env-param``).

    >>> parse_assignments(["limits=[1.0, 2.0]", "rule=pid"], "--set")
    {'limits': [1.0, 2.0], 'rule': 'pid'}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{where}: options look like key=value; got {item.strip()!r}")
        if key in out:
            raise ConfigError(f"{where}: option {key!r} given twice")
        out[key] = parse_value(value, f"{where} option {key!r}")
    return out


def transform_options(name: str) -> dict[str, Any]:
    """The options of a registered transform and their defaults (``inspect.Parameter.empty``
    when required): the keyword parameters of its factory."""
    factory = _entry(name)[0]
    return {
        p.name: p.default
        for p in inspect.signature(factory).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _accepts_any_keyword(factory: Callable) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(factory).parameters.values())


def _entry(name: str) -> tuple[Callable[..., RewardTransform], str]:
    if name not in REGISTRY:
        raise ConfigError(
            f"unknown transform {name!r}{close_matches(name, list(REGISTRY))}; available: {sorted(REGISTRY)}"
        )
    return REGISTRY[name]


def transform_table(entry: TransformEntry) -> dict[str, Any]:
    """The table form ``{"name": ..., **options}`` of an entry (a string is parsed, a table
    checked and copied): the canonical form sweep specs store.

    >>> transform_table("scale:factor=0.5") == transform_table({"name": "scale", "factor": 0.5})
    True
    """
    if isinstance(entry, str):
        return parse_transform(entry)
    if isinstance(entry, Mapping):
        if "name" not in entry or not isinstance(entry["name"], str):
            raise ConfigError(f"a transform table needs a string 'name'; got {dict(entry)!r}")
        return {"name": entry["name"].strip(), **{k: v for k, v in entry.items() if k != "name"}}
    raise ConfigError(f"a transform is a string or a table with a 'name'; got {type(entry).__name__}")


def build_transform(entry: TransformEntry) -> RewardTransform:
    """A transform from its string form or its table (``ConfigError`` for unknown names or
    options, with close matches and the valid options)."""
    options = transform_table(entry)
    name = options.pop("name").strip()
    factory, _ = _entry(name)
    if not _accepts_any_keyword(factory):
        valid = list(transform_options(name))
        for key in options:
            if key not in valid:
                raise ConfigError(
                    f"transform {name!r} has no option {key!r}{close_matches(key, valid)}; its options: {valid}"
                )
    required = [k for k, v in transform_options(name).items() if v is inspect.Parameter.empty and k not in options]
    if required:
        raise ConfigError(f"transform {name!r} needs option(s) {required}, e.g. '{name}:{required[0]}=...'")
    try:
        return factory(**options)
    except TypeError as err:
        raise ConfigError(f"transform {name!r}: {err}") from None


def entry_name(entry: TransformEntry) -> str:
    """The registry name of an entry (string or table)."""
    return transform_table(entry)["name"].strip()


def build_transforms(entries: Sequence[TransformEntry]) -> RewardTransform:
    """Several entries as one transform: ``identity()`` for none, otherwise a ``Chain`` whose
    members carry their registry names (repeats numbered ``_2``, ``_3``...)."""
    entries = list(entries)
    if not entries:
        return identity()
    transforms = tuple(build_transform(e) for e in entries)
    return Chain(transforms=transforms, names=unique_names([entry_name(e) for e in entries]))


__all__ = [
    "REGISTRY",
    "TransformEntry",
    "build_transform",
    "build_transforms",
    "close_matches",
    "entry_name",
    "grid_distance_shaping",
    "parse_assignments",
    "parse_transform",
    "parse_value",
    "transform_options",
    "transform_table",
]
