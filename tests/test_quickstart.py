"""The built-in quickstart sweep is a valid spec whose variants build (no compile here; the
full run is the README's first command, about 75 s on 2 cores)."""

from jaxrl_rewards.experiments.quickstart import ENV, ENV_OPTIONS, STEPS, VARIANTS, quickstart_spec
from jaxrl_rewards.experiments.spec import check_spec
from jaxrl_rewards.transforms import RewardTransform


def test_quickstart_spec_has_every_variant_on_the_sparse_grid():
    spec = quickstart_spec()
    assert [v.label for v in spec.variants] == list(VARIANTS)
    assert spec.env == ENV and spec.seeds == tuple(range(8))
    for variant in spec.variants:
        assert dict(variant.env_options) == ENV_OPTIONS
        assert variant.config["total_timesteps"] == STEPS


def test_quickstart_variants_validate_and_carry_their_transforms():
    checked = check_spec(quickstart_spec(seeds=2, steps=8192))
    assert set(checked) == set(VARIANTS)
    configs = {label: config for label, (config, _) in checked.items()}
    assert all(isinstance(c.transform, RewardTransform) for c in configs.values())
    shaping, rnd = configs["PPO + distance shaping"].transform, configs["PPO + RND"].transform
    assert shaping.member_names == ("grid_distance_shaping",) and rnd.member_names == ("rnd",)  # one-member chains
    assert type(shaping.transforms[0]).__name__ == "PotentialShaping"
    assert type(rnd.transforms[0]).__name__ == "RNDBonus"
    assert checked["PPO + count bonus"][0].transform.transforms[0].beta == 0.05
    assert configs["PPO"].env.size == ENV_OPTIONS["size"]


def test_quickstart_spec_stores_its_transforms_as_tables():
    variants = quickstart_spec().to_dict()["variants"]
    assert variants["PPO"]["transform"] == []
    assert variants["PPO + distance shaping"]["transform"] == [{"name": "grid_distance_shaping", "size": 16}]
    assert variants["PPO + count bonus"]["transform"] == [{"name": "count", "beta": 0.05}]


def test_quickstart_on_another_env_uses_that_envs_presets():
    spec = quickstart_spec(env="CartPole-v1", steps=1000)
    assert spec.env == "CartPole-v1" and not dict(spec.variants[0].env_options)
    assert spec.variants[0].config == {"total_timesteps": 1000, "num_evals": 10}


def test_quickstart_help_states_the_defaults_it_runs():
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app
    from jaxrl_rewards.experiments.quickstart import ENV_OPTIONS, STEPS

    text = " ".join(CliRunner().invoke(app, ["quickstart", "--help"], terminal_width=200).output.split())
    assert f"{ENV_OPTIONS['size']}x{ENV_OPTIONS['size']} SparseGridWorld-v0" in text and f"{STEPS:,}" in text
