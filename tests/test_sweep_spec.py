"""Sweep specs: parsing, planning, and bad specs failing before anything compiles."""

import numpy as np
import pytest
from conftest import TINY_PPO as TINY

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.backends.local import compile_count
from jaxrl_rewards.experiments.spec import load_spec, spec_from_dict
from jaxrl_rewards.experiments.sweep import (
    choose_chunk_size,
    grid_points,
    optuna_points,
    random_points,
    run_sweep,
)


def spec(**changes):
    base = {"name": "t", "seeds": 2, "config": TINY, "params": {"learning_rate": [1e-3, 3e-3]}}
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"params": {"learnin_rate": [1e-3]}},
            r"params\.learnin_rate: unknown parameter 'learnin_rate' \(did you mean 'learning_rate'",
        ),
        ({"params": {"transform.factor": [1.0]}}, r"params\.transform\.factor: unknown parameter.*valid paths"),
        ({"params": {"num_envs": [2, 4]}}, r"params\.num_envs: 'num_envs' is a static option"),
        (
            {
                "transform": [{"name": "lagrangian", "limits": [1.0, 2.0]}],
                "params": {"transform.lagrangian.limits": [1.0]},
                "env": "PointTwoHazards-v0",
            },
            r"params\.transform\.lagrangian\.limits: only scalar leaves can be swept \(shape \(2,\)\)",
        ),
        ({"transform": [{"nam": "scale"}]}, r"transform\[0\]: a transform table needs a string 'name'"),
        ({"transform": ["scale:factor=[1.0"]}, r"transform\[0\]: transform 'scale': unclosed bracket"),
        ({"transform": [{"name": "scale", "fator": 1.0}]}, r"has no option 'fator' \(did you mean 'factor'"),
        ({"config": {**TINY, "transform.scale.factor": 0.5}}, r"config .*unknown parameter 'transform\.scale\.factor'"),
        ({"params": {"learning_rate": []}}, r"params\.learning_rate: empty grid"),
        ({"params": {"learning_rate": ["fast"]}}, r"params\.learning_rate: expected numbers only, got 'fast'"),
        ({"params": {"learning_rate": 0.1}}, r"params\.learning_rate: expected a list"),
        ({"params": {"learning_rate": [True]}}, r"params\.learning_rate: expected numbers only"),
        ({"params": {"learning_rate": [-1.0]}}, r"params\.learning_rate: learning_rate must be > 0"),
        ({"params": {"gamma": {"low": 0.9, "high": 0.99}}}, r"params\.gamma: a grid needs a list"),
        ({"params": {"env_params.max_steps_in_episode": [10.5]}}, r"params\.env_params\.max_steps_in_episode: integer"),
        ({"seeds": "three"}, r"seeds: expected a count"),
        ({"seeds": 0}, r"seeds: need at least one seed"),
        ({"sedes": 3}, r"unknown key 'sedes' \(did you mean 'seeds'\?\); valid keys"),
        ({"search": {"method": "bayes"}}, r"search\.method: 'bayes' is not one of"),
        ({"search": {"chunk_size": "big"}}, r"search\.chunk_size: expected an int"),
        ({"search": {"method": "random"}}, r"search\.num_samples: method 'random' needs"),
        (
            {"search": {"method": "random", "num_samples": 2}, "params": {"gamma": {"low": 0.9}}},
            r"params\.gamma: a range",
        ),
        ({"config": {**TINY, "num_minibatches": 3}}, r"config of variant 'default'.*does not divide"),
        ({"transform": ["sharpen"]}, r"unknown transform 'sharpen'"),
        ({"variants": {"a": {"transfrom": ["scale"]}}}, r"unknown key in \[variants\.a\]: 'transfrom'"),
    ],
)
def test_bad_specs_fail_before_compiling_and_name_the_key(tmp_path, changes, message):
    before = compile_count(ppo)
    with pytest.raises(ConfigError, match=message):
        run_sweep(spec(**changes), tmp_path / "store", progress=False)
    assert compile_count(ppo) == before
    assert not (tmp_path / "store").exists()


def test_toml_round_trip_and_fingerprint(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "lr"\nseeds = [0, 5]\ntransform = ["scale:factor=0.5"]\n[config]\ntotal_timesteps = 128\n'
        '[search]\nmethod = "random"\nnum_samples = 3\nchunk_size = 4\n'
        '[params]\nlearning_rate = {low = 1e-4, high = 1e-2, log = true}\n"transform.scale.factor" = [0.5, 1.0]\n'
    )
    parsed = load_spec(path)
    assert parsed.seeds == (0, 5) and parsed.variants[0].transform == ({"name": "scale", "factor": 0.5},)
    assert spec_from_dict(parsed.to_dict()) == parsed
    rechunked = spec_from_dict({**parsed.to_dict(), "search": {**parsed.to_dict()["search"], "chunk_size": 8}})
    assert rechunked.fingerprint() == parsed.fingerprint()  # chunking does not change the runs
    reseeded = spec_from_dict({**parsed.to_dict(), "seeds": [0, 6]})
    assert reseeded.fingerprint() != parsed.fingerprint()
    with pytest.raises(ConfigError, match="not valid TOML"):
        path.write_text("name = ")
        load_spec(path)


def test_grid_and_random_points():
    assert grid_points({"a": [1, 2], "b": [3.0, 4.0]}) == [
        {"a": 1, "b": 3.0},
        {"a": 1, "b": 4.0},
        {"a": 2, "b": 3.0},
        {"a": 2, "b": 4.0},
    ]
    dist = {"lr": {"low": 1e-4, "high": 1e-2, "log": True, "int": False}, "n": {"low": 1, "high": 5, "log": False,
            "int": True}, "c": [0.1, 0.2]}  # fmt: skip
    first, second = random_points(dist, 50, 3), random_points(dist, 50, 3)
    assert first == second and first != random_points(dist, 50, 4)
    lrs = np.array([p["lr"] for p in first])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-2 and (np.log10(lrs) < -3).mean() > 0.3  # log-uniform
    assert {p["n"] for p in first} <= {1, 2, 3, 4, 5} and {p["c"] for p in first} == {0.1, 0.2}


def test_optuna_proposals_depend_only_on_finished_points():
    parsed = spec_from_dict(
        spec(search={"method": "optuna", "num_samples": 8}, params={"learning_rate": {"low": 1e-4, "high": 1e-2}})
    )
    finished = [({"learning_rate": 1e-3}, 10.0), ({"learning_rate": 5e-3}, 20.0)]
    first = optuna_points(parsed, finished, 3, chunk=1)
    assert first == optuna_points(parsed, finished, 3, chunk=1)
    assert all(1e-4 <= p["learning_rate"] <= 1e-2 for p in first)


def test_chunk_size_fits_memory_and_devices():
    config = ppo.make_config("CartPole-v1", **{**TINY, "hidden_sizes": (8,)})
    assert choose_chunk_size(ppo, config, 64, memory_bytes=1 << 40) == 64
    assert choose_chunk_size(ppo, config, 1000, memory_bytes=1 << 40, max_chunk_size=128) == 128
    small = choose_chunk_size(ppo, config, 64, memory_bytes=1 << 20)
    assert 1 <= small < 64
    assert choose_chunk_size(ppo, config, 64, memory_bytes=1 << 40, devices=[None] * 4, max_chunk_size=30) == 28


def _docstring_example() -> str:
    import textwrap

    from jaxrl_rewards.experiments import spec as spec_module

    doc = spec_module.__doc__
    block = doc.split("Example (``tests/test_sweep_spec.py`` runs it)::\n", 1)[1].split("\nEvery problem", 1)[0]
    return textwrap.dedent(block)


def test_the_module_docstring_example_is_a_valid_spec():
    from jaxrl_rewards.experiments.spec import check_spec

    tomllib = pytest.importorskip("tomllib")
    parsed = spec_from_dict(tomllib.loads(_docstring_example()))
    assert [v.label for v in parsed.variants] == ["scale + normalize", "scale only"]
    both, only = parsed.variants
    assert both.transform == ({"name": "scale", "factor": 0.5}, {"name": "normalize"})
    assert only.transform == ({"name": "scale", "factor": 0.1},)
    checked = check_spec(parsed)  # builds both configs and checks every [params] path
    config, dtypes = checked["scale only"]
    assert config.transform.member_names == ("scale",) and config.transform.transforms[0].factor == 0.1
    assert config.env_params.max_steps_in_episode == 200  # the dotted [config] key
    assert checked["scale + normalize"][0].transform.member_names == ("scale", "normalize")
    assert set(dtypes) == {"learning_rate", "transform.scale.factor"}


def test_table_and_string_transforms_are_one_canonical_form():
    tomllib = pytest.importorskip("tomllib")
    as_tables = tomllib.loads(
        '[[transform]]\nname = "lagrangian"\nlimits = [1.0, 2.0]\nrule = "pid"\n'
        '[[variants."two".transform]]\nname = "scale"\nfactor = 0.5\n[[variants."two".transform]]\nname = "clip"\n'
    )
    as_strings = {
        "transform": ["lagrangian:limits=[1.0, 2.0],rule=pid"],
        "variants": {"two": {"transform": ["scale:factor=0.5", "clip"]}},
    }
    a, b = spec_from_dict(as_tables), spec_from_dict(as_strings)
    assert a == b and a.fingerprint() == b.fingerprint()
    assert a.to_dict()["variants"]["two"]["transform"] == [{"name": "scale", "factor": 0.5}, {"name": "clip"}]
    single = spec_from_dict({"transform": {"name": "lagrangian", "limits": [1.0, 2.0], "rule": "pid"}})
    assert single.variants[0].transform == spec_from_dict({"transform": as_strings["transform"]}).variants[0].transform


def test_config_dotted_keys_set_array_leaves_in_both_toml_spellings():
    from jaxrl_rewards.experiments.spec import variant_config

    tomllib = pytest.importorskip("tomllib")
    head = 'env = "PointTwoHazards-v0"\n[[transform]]\nname = "lagrangian"\nlimits = [1.0, 2.0]\n[config]\n'
    for line in ('"transform.lagrangian.limits" = [3.0, 4.5]', "transform.lagrangian.limits = [3.0, 4.5]"):
        parsed = spec_from_dict(tomllib.loads(head + line + "\n"))
        config = variant_config(parsed, parsed.variants[0])
        np.testing.assert_array_equal(config.transform.transforms[0].limits, np.float32([3.0, 4.5]))
        assert config.transform.transforms[0].limits.dtype == np.float32
    parsed = spec_from_dict(tomllib.loads(head + '"transform.lagrangian.limits" = [3.0]\n'))
    with pytest.raises(ConfigError, match=r"transform\.lagrangian\.limits: expected shape \(2,\)"):
        variant_config(parsed, parsed.variants[0])


def test_top_level_transform_with_variants_is_a_named_run_of_its_own():
    raw = {"transform": ["normalize"], "variants": {"PPO + scale": {"transform": ["scale:factor=0.1"]}}}
    spec = spec_from_dict(raw)
    assert [v.label for v in spec.variants] == ["base", "PPO + scale"]
    assert spec.variants[0].transform == ({"name": "normalize"},)
    assert spec_from_dict(spec.to_dict()).to_dict() == spec.to_dict()  # the canonical form keeps it, once
    assert [v.label for v in spec_from_dict({**raw, "base": "PPO + normalize"}).variants] == [
        "PPO + normalize", "PPO + scale"]  # fmt: skip
    assert [v.label for v in spec_from_dict({**raw, "base": False}).variants] == ["PPO + scale"]
    repeated = {**raw, "variants": {**raw["variants"], "plain": {}}}  # a variant repeats the base: no extra run
    assert [v.label for v in spec_from_dict(repeated).variants] == ["PPO + scale", "plain"]
    with pytest.raises(ConfigError, match="base"):
        spec_from_dict({**raw, "base": "PPO + scale"})
