"""Quality diversity (agents/quality_diversity/): rollouts and descriptors by hand, repertoire
insertion and novelty against brute-force numpy references, the emitter's formula, errors before
compiling, determinism (same key same bits, vmap over seeds equals each seed alone), and a small
learning check: novelty search and MAP-Elites cover more of the maze than the reward-greedy ES."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import quality_diversity as qd
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import make

UP, RIGHT, DOWN, LEFT, STAY = 0, 1, 2, 3, 4
SEEDS = 4
SMALL = dict(population_size=16, num_generations=15, env_options={"obs_mode": "coords"})
# jitted once each: one compiled program is cheaper than many eager ops at the suite's -O0
INSERT = jax.jit(qd.insert)
NOVELTY = jax.jit(qd.novelty, static_argnums=3)
VARIATION = jax.jit(qd.iso_line_variation)


# --------------------------------------------------------------------------- shared compiled runs


@pytest.fixture(scope="module")
def map_elites_runs():
    """(config, keys [SEEDS], batched (state, metrics), single-run jitted function)."""
    config = qd.make_map_elites_config(**SMALL)
    keys = jax.random.split(jax.random.key(7), SEEDS)
    batched = jax.jit(jax.vmap(qd.run_map_elites, in_axes=(None, 0)))(config, keys)
    return config, keys, jax.device_get(batched), jax.jit(qd.run_map_elites)


@pytest.fixture(scope="module")
def novelty_runs():
    """(config, keys, (state, metrics) with leaves [2 weights (0 = novelty, 1 = greedy), SEEDS, ...])."""
    config = qd.make_novelty_config(**SMALL)
    keys = jax.random.split(jax.random.key(7), SEEDS)
    batched = config.replace(reward_weight=jnp.asarray([0.0, 1.0]))
    axes = jax.tree.map(lambda _: None, config).replace(reward_weight=0)
    run = jax.jit(jax.vmap(jax.vmap(qd.run_novelty_search, in_axes=(None, 0)), in_axes=(axes, None)))
    return config, keys, jax.device_get(run(batched, keys))


# --------------------------------------------------------------------------- rollout by hand


def tabular_policy(actions: dict[tuple[int, int], int], size: int = 7, default: int = STAY):
    """A linear policy on one-hot cells whose greedy action in cell (r, c) is ``actions[(r, c)]``."""
    w = np.zeros((size * size, 5), np.float32)
    w[:, default] = 1.0
    for (r, c), a in actions.items():
        w[r * size + c] = 0.0
        w[r * size + c, a] = 1.0
    return ({"w": jnp.asarray(w), "b": jnp.zeros(5, jnp.float32)},)


def test_rollout_return_descriptor_and_steps_by_hand():
    env, params = make("DeceptiveMaze-v0")  # one-hot observations
    detour = {(3, 3): LEFT, (3, 2): LEFT, (3, 1): LEFT, (3, 0): UP, (2, 0): UP, (1, 0): UP}
    detour |= {(0, 0): RIGHT, (0, 1): RIGHT, (0, 2): RIGHT}
    policies = jax.tree.map(lambda a, b: jnp.stack([a, b]), tabular_policy(detour), tabular_policy({}))
    for descriptor in ("final_position", "final_position_visits"):
        run = jax.jit(jax.vmap(lambda p, d=descriptor: qd.rollout(p, env, params, jax.random.key(0), 30, descriptor=d)))
        ret, desc, steps = jax.device_get(run(policies))
        # detour: 8 penalties -(4,5,6,5,4,3,2,1)/12, then +10 at the goal (0, 3); stay: 30 x -3/12
        np.testing.assert_allclose(ret, [10 - 30 / 12, -30 * 3 / 12], rtol=1e-6)
        np.testing.assert_array_equal(steps, [9, 30])
        np.testing.assert_allclose(desc[:, :2], [[3 / 6, 0.0], [3 / 6, 3 / 6]])  # (x, y) = (col, row) / 6
        if descriptor == "final_position_visits":
            np.testing.assert_allclose(desc[:, 2], [9 / 49, 1 / 49], rtol=1e-6)
        else:
            assert desc.shape == (2, 2)


def test_policy_is_an_argmax_mlp():
    params = qd.init_policy(jax.random.key(0), 3, 5, (4,))
    assert [p["w"].shape for p in params] == [(3, 4), (4, 5)]
    obs = jnp.asarray([0.1, -0.2, 0.3])
    w0, b0, w1, b1 = (np.asarray(params[i][k]) for i in (0, 1) for k in ("w", "b"))
    logits = np.tanh(np.asarray(obs) @ w0 + b0) @ w1 + b1
    np.testing.assert_allclose(qd.policy_logits(params, obs), logits, rtol=1e-5)
    assert int(qd.policy_action(params, obs)) == int(np.argmax(logits))


# --------------------------------------------------------------------------- repertoire vs numpy


def numpy_cells(desc, n):
    idx = np.clip(np.floor(desc * np.asarray(n)).astype(int), 0, np.asarray(n) - 1)
    return np.ravel_multi_index(tuple(idx.T), n)


def numpy_insert(fitness, descs, params, new_f, new_d, new_p, n):
    """Candidates one by one, in index order: replace iff strictly better (NaN never)."""
    fitness, descs, params = fitness.copy(), descs.copy(), params.copy()
    for f, d, p, c in zip(new_f, new_d, new_p, numpy_cells(new_d, n), strict=True):
        if not np.isnan(f) and f > fitness[c]:
            fitness[c], descs[c], params[c] = f, d, p
    return fitness, descs, params


def test_cell_index_matches_numpy():
    desc = np.random.default_rng(0).uniform(-0.2, 1.2, (50, 2)).astype(np.float32)
    np.testing.assert_array_equal(qd.cell_index(jnp.asarray(desc), (3, 4)), numpy_cells(desc, (3, 4)))
    assert int(qd.cell_index(jnp.asarray([1.0, 0.0]), (7, 7))) == 6 * 7  # x = 1 -> last column block


def test_insert_keeps_the_best_per_cell_with_duplicate_cells_in_a_batch():
    rng = np.random.default_rng(1)
    n = (3, 2)
    template = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    rep = qd.init_repertoire(n, 2, template)
    ref_f, ref_d, ref_p = np.full(6, -np.inf, np.float32), np.zeros((6, 2), np.float32), np.zeros((6, 3), np.float32)
    for batch in range(3):
        b = 20
        f = rng.integers(0, 4, b).astype(np.float32)  # many ties and many candidates per cell
        f[rng.integers(0, b)] = np.nan
        d = rng.uniform(0, 1, (b, 2)).astype(np.float32)
        p = rng.normal(size=(b, 3)).astype(np.float32)
        rep = INSERT(rep, {"w": jnp.asarray(p[:, :2]), "b": jnp.asarray(p[:, 2])}, jnp.asarray(f), jnp.asarray(d))
        ref_f, ref_d, ref_p = numpy_insert(ref_f, ref_d, ref_p, f, d, p, n)
        np.testing.assert_array_equal(rep.fitness, ref_f)
        np.testing.assert_array_equal(rep.descriptors, ref_d)
        np.testing.assert_array_equal(rep.params["w"], ref_p[:, :2])
        np.testing.assert_array_equal(rep.params["b"], ref_p[:, 2])
        assert batch or np.isfinite(ref_f).sum() >= 4
    metrics = qd.qd_metrics(rep, -1.0)
    filled = np.isfinite(ref_f)
    assert float(metrics["coverage"]) == pytest.approx(filled.mean())
    assert float(metrics["qd_score"]) == pytest.approx((ref_f[filled] + 1.0).sum())
    assert float(metrics["best_fitness"]) == ref_f[filled].max()


def test_same_cell_ties_go_to_the_first_and_equal_fitness_does_not_replace():
    rep = qd.init_repertoire(2, 1, jnp.zeros(()))
    rep = INSERT(rep, jnp.asarray([1.0, 2.0, 3.0]), jnp.asarray([5.0, 5.0, 4.0]), jnp.asarray([[0.1], [0.2], [0.3]]))
    assert rep.params.tolist() == [1.0, 0.0] and rep.fitness.tolist() == [5.0, -np.inf]
    rep = INSERT(rep, jnp.asarray([9.0]), jnp.asarray([5.0]), jnp.asarray([[0.4]]))
    assert rep.params.tolist() == [1.0, 0.0]  # equal fitness keeps the incumbent


# --------------------------------------------------------------------------- novelty vs numpy


def numpy_novelty(desc, archive, valid, k):
    out = []
    for i, b in enumerate(desc):
        others = [a for a, v in zip(archive, valid, strict=True) if v] + [c for j, c in enumerate(desc) if j != i]
        dist = np.sort([np.sqrt(((b - o) ** 2).sum()) for o in others])
        out.append(dist[:k].mean())
    return np.asarray(out)


@pytest.mark.parametrize(("batch", "slots", "valid", "k"), [(6, 5, [1, 1, 0, 1, 0], 3), (2, 3, [0, 1, 0], 3)])
def test_novelty_is_the_mean_knn_distance(batch, slots, valid, k):
    rng = np.random.default_rng(batch)
    desc = rng.uniform(size=(batch, 2)).astype(np.float32)
    archive = rng.uniform(size=(slots, 2)).astype(np.float32)
    valid = np.asarray(valid, bool)
    got = NOVELTY(jnp.asarray(desc), jnp.asarray(archive), jnp.asarray(valid), k)
    np.testing.assert_allclose(got, numpy_novelty(desc, archive, valid, k), rtol=1e-5)


def test_archive_is_a_ring_buffer():
    archive = jnp.zeros((4, 1))
    archive, count, nxt = qd.archive_insert(archive, jnp.int32(0), jnp.int32(0), jnp.asarray([[1.0], [2.0], [3.0]]))
    archive, count, nxt = qd.archive_insert(archive, count, nxt, jnp.asarray([[4.0], [5.0]]))
    assert archive[:, 0].tolist() == [5.0, 2.0, 3.0, 4.0] and int(count) == 4 and int(nxt) == 1


def test_iso_line_variation_formula():
    x = {"a": jnp.ones((3, 2)), "b": jnp.zeros((3,))}
    y = {"a": jnp.full((3, 2), 3.0), "b": jnp.ones((3,))}
    line = VARIATION(jax.random.key(0), x, y, 0.0, 0.5)
    # only the line term: child - x = 0.5 z (y - x), one z per child shared by the leaves
    z_a = (np.asarray(line["a"]) - 1.0) / (0.5 * 2.0)
    z_b = np.asarray(line["b"]) / 0.5
    np.testing.assert_allclose(z_a, np.repeat(z_b[:, None], 2, 1), rtol=1e-5)
    iso = VARIATION(jax.random.key(0), {"a": jnp.zeros((4000,))}, {"a": jnp.ones((4000,))}, 0.2, 0.0)
    assert float(jnp.std(iso["a"])) == pytest.approx(0.2, rel=0.05)


# --------------------------------------------------------------------------- errors before compiling


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: qd.make_map_elites_config(population_size=1), "population_size must be an integer >= 2"),
        (lambda: qd.make_map_elites_config(num_cells_per_dim=(0, 7)), "integers >= 1"),
        (lambda: qd.make_map_elites_config(num_cells_per_dim=(7, 7, 7)), "3 entries, the descriptor has 2"),
        (lambda: qd.init_repertoire(0, 2, jnp.zeros(())), "integers >= 1"),
        (lambda: qd.make_novelty_config(k=10, archive_size=4), "k=10 nearest neighbours cannot exceed archive_size=4"),
        (lambda: qd.make_novelty_config(reward_weight=1.5), "reward_weight"),
        (lambda: qd.make_map_elites_config("DeceptiveMaze-v1"), "unknown env 'DeceptiveMaze-v1'.*'DeceptiveMaze-v0'"),
        (lambda: qd.make_map_elites_config("CartPole-v1"), "no integer `size`"),
        (lambda: qd.make_map_elites_config(descriptor="final_pos"), "'final_position'"),
        (lambda: qd.make_map_elites_config(iso_sigma=-1.0), "iso_sigma must be >= 0"),
        (lambda: qd.make_map_elites_config(sigma=0.1), "unknown MapElitesConfig option"),
    ],
)
def test_bad_configs_raise_config_error(build, match):
    with pytest.raises(ConfigError, match=match):
        build()


def test_descriptor_shape_mismatch_is_caught_before_compiling():
    rep = qd.init_repertoire((3, 3), 2, {"w": jnp.zeros(2)})
    params, fitness = {"w": jnp.zeros((4, 2))}, jnp.zeros(4)
    with pytest.raises(ConfigError, match=r"shape \[batch, 2\].*got \(4, 3\)"):
        qd.insert(rep, params, fitness, jnp.zeros((4, 3)))
    with pytest.raises(ConfigError, match="descriptor dim is 2"):  # at trace time, inside jit
        jax.jit(qd.insert)(rep, params, fitness, jnp.zeros((4, 3)))
    with pytest.raises(ConfigError, match="fitness must have shape"):
        qd.insert(rep, params, jnp.zeros(5), jnp.zeros((4, 2)))
    with pytest.raises(ConfigError, match="must share D"):
        qd.novelty(jnp.zeros((3, 2)), jnp.zeros((4, 3)), jnp.ones(4, bool), 2)


# --------------------------------------------------------------------------- runs


def test_map_elites_metrics_are_consistent(map_elites_runs):
    config, _, (state, metrics), _ = map_elites_runs
    rep = state.repertoire
    filled = np.isfinite(rep.fitness)  # [S, C]
    np.testing.assert_allclose(metrics["coverage"][:, -1], filled.mean(1), rtol=1e-6)
    offset = float(config.fitness_offset)
    assert offset == -30.0  # horizon 30 x min reward -distance_coef
    qd_score = np.where(filled, np.maximum(rep.fitness - offset, 0.0), 0.0).sum(1)
    np.testing.assert_allclose(metrics["qd_score"][:, -1], qd_score, rtol=1e-5)
    for s in range(SEEDS):  # every elite sits in its own descriptor's cell
        cells = numpy_cells(np.asarray(rep.descriptors[s][filled[s]]), config.num_cells_per_dim)
        np.testing.assert_array_equal(cells, np.flatnonzero(filled[s]))
    for key in ("coverage", "qd_score", "best_fitness", "env_steps"):
        assert (np.diff(metrics[key], axis=1) >= 0).all(), key
    assert (metrics["env_steps"][:, -1] <= config.max_env_steps).all()
    assert metrics["coverage"].shape == (SEEDS, config.num_generations)


def bits(tree):
    """Leaves as numpy arrays (PRNG keys as their raw key data)."""

    def one(x):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        return np.asarray(x)

    return [one(x) for x in jax.tree.leaves(tree)]


def test_same_key_same_bits_and_vmap_equals_each_seed_alone(map_elites_runs):
    config, keys, batched, single = map_elites_runs
    first, again, second = (bits(single(config, keys[i])) for i in (0, 0, 1))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    for i, alone in enumerate((first, second)):
        for a, b in zip(alone, bits(batched), strict=True):
            np.testing.assert_array_equal(a, b[i])
    assert not np.array_equal(first[-1], second[-1]) and (first[-1] > 0).all()  # qd_score differs by seed


def test_novelty_search_covers_more_than_reward_greedy_es(novelty_runs, map_elites_runs):
    config, _, (state, metrics) = novelty_runs
    coverage = metrics["coverage"][:, :, -1]  # [2, S]: novelty, greedy
    assert coverage.shape == (2, SEEDS)
    assert coverage[0].mean() > coverage[1].mean() + 0.1, coverage
    me_coverage = map_elites_runs[2][1]["coverage"][:, -1]
    assert me_coverage.mean() > coverage[1].mean(), (me_coverage, coverage)
    # the archive filled as a ring buffer; selection keeps population_size members
    assert (state.archive_count == min(config.archive_size, config.archive_add * config.num_generations)).all()
    assert state.fitness.shape == (2, SEEDS, config.population_size)
    assert (metrics["env_steps"][..., -1] <= config.max_env_steps).all()
