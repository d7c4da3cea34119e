"""The one transform language (``transforms.registry``): the ``-t`` string parser, tables, and
building transforms with clear errors."""

import doctest
import inspect

import numpy as np
import pytest

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import registry
from jaxrl_rewards.transforms.core import Chain, Identity
from jaxrl_rewards.transforms.registry import (
    REGISTRY,
    build_transform,
    build_transforms,
    parse_transform,
    parse_value,
    transform_options,
    transform_table,
)


def test_the_module_docstrings_run():
    assert doctest.testmod(registry, raise_on_error=False).failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("normalize", {"name": "normalize"}),
        ("lagrangian:limits=[1.0,2.0]", {"name": "lagrangian", "limits": [1.0, 2.0]}),
        ("x:grid=[[1, 2], [3]],w=[0.5]", {"name": "x", "grid": [[1, 2], [3]], "w": [0.5]}),
        ("x:t={a = 1, b = [2, 3]},n=2", {"name": "x", "t": {"a": 1, "b": [2, 3]}, "n": 2}),
        ("x:s=\"a,b\",q='c,[d'", {"name": "x", "s": "a,b", "q": "c,[d"}),
        ("x: rule = pid , stream=cost_0,path=a/b.c", {"name": "x", "rule": "pid", "stream": "cost_0", "path": "a/b.c"}),
        ("x:on=true,lr=1e-3,k=-2,big=1_000", {"name": "x", "on": True, "lr": 1e-3, "k": -2, "big": 1000}),
        ("x:", {"name": "x"}),
    ],
)
def test_parse_transform_reads_toml_values_nested_lists_quoted_commas_and_bare_words(text, expected):
    assert parse_transform(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lagrangian:limits=(1.0,2.0)", r"option 'limits': cannot read '\(1\.0,2\.0\)'.*lists are written \[a, b\]"),
        ("lagrangian:limits=[1.0,2.0", r"unclosed bracket .*missing '\]'"),
        ("x:a=1],b=2", r"unbalanced '\]'"),
        ("x:a=[1},b=2", r"unbalanced '\}'"),
        ('x:s="abc', r"unclosed quote"),
        ("scale:factor", r"options look like key=value; got 'factor'"),
        ("scale:=1", r"options look like key=value"),
        ("scale:factor=1,factor=2", r"option 'factor' given twice"),
        (":factor=1", r"missing the name"),
        ("x:on=True", r"'True' is Python, not TOML; write true / false"),
        ("x:a=1 2", r"cannot read '1 2'"),
    ],
)
def test_bad_text_gives_a_clear_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_transform(text)


def test_parse_value_and_tables():
    assert parse_value(" 0.5 ") == 0.5 and parse_value("sgd") == "sgd" and parse_value("[]") == []
    assert transform_table("lagrangian:limits=[1.0,2.0]") == {"name": "lagrangian", "limits": [1.0, 2.0]}
    assert transform_table({"name": " scale ", "factor": 2}) == {"name": "scale", "factor": 2}
    with pytest.raises(ConfigError, match="needs a string 'name'"):
        transform_table({"factor": 2})
    with pytest.raises(ConfigError, match="a string or a table"):
        transform_table(3)


def test_string_and_table_build_the_same_transform():
    a = build_transform("lagrangian:limits=[1.0,2.0],rule=gradient,learning_rate=0.1")
    b = build_transform({"name": "lagrangian", "limits": [1.0, 2.0], "rule": "gradient", "learning_rate": 0.1})
    assert type(a) is type(b) and a.rule == b.rule == "gradient" and a.learning_rate == b.learning_rate == 0.1
    np.testing.assert_array_equal(a.limits, b.limits)
    np.testing.assert_array_equal(a.limits, np.float32([1.0, 2.0]))


def test_build_transforms_names_chain_members():
    assert isinstance(build_transforms([]), Identity)
    one = build_transforms(["scale:factor=0.5"])
    assert isinstance(one, Chain) and one.member_names == ("scale",) and one.transforms[0].factor == 0.5
    three = build_transforms(["scale:factor=2", {"name": "clip", "high": 2.0}, "scale:factor=3"])
    assert three.member_names == ("scale", "clip", "scale_2")


def test_misspelled_names_and_options_get_close_matches():
    with pytest.raises(ConfigError, match=r"unknown transform 'lagrangan' \(did you mean 'lagrangian'\?\)"):
        build_transform("lagrangan:limits=1.0")
    with pytest.raises(ConfigError, match=r"has no option 'limit' \(did you mean 'limits'\?\); its options: \["):
        build_transform("lagrangian:limit=1.0")
    with pytest.raises(ConfigError, match=r"transform 'lagrangian' needs option\(s\) \['limits'\]"):
        build_transform("lagrangian")  # a required option missing


def test_transform_options_are_the_factory_keywords_with_defaults():
    options = transform_options("clip")
    assert options == {"low": -1.0, "high": 1.0, "streams": ("task",)}
    assert transform_options("lagrangian")["limits"] is inspect.Parameter.empty
    for name in REGISTRY:
        assert isinstance(transform_options(name), dict)
