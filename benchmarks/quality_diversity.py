"""Quality diversity on a deceptive maze: MAP-Elites and novelty search against plain PPO, PPO +
counts and a reward-greedy ES, at the same environment-step budget (issue 18).

Env: ``DeceptiveMaze-v0`` 7x7 with coordinate observations (``obs_mode="coords"``, float32
``[2]``), horizon 30; the reward (minus the distance to the goal, +10 at the goal) leads into the
wall below the goal; the best return, 7.5, needs the 9-step detour around the wall.

Methods (``--seeds`` seeds each; every method sees the same budget ``B = (generations + 1) x
population x horizon`` env steps; QD methods count only the steps their episodes used, so they
use at most B; PPO trains ``B`` rounded down to whole iterations):

* ``map_elites``: 7x7 grid over the final position, iso+line-DD emitter (iso 0.1, line 0.1),
  greedy MLP policies (2 -> 16 -> 5, tanh), ``--population`` children per generation;
* ``novelty_search``: (mu + lambda) ES selecting by novelty (k = 8 nearest final positions in a
  256-slot archive + population), Gaussian mutation 0.1;
* ``greedy_es``: the same ES selecting by reward only (``reward_weight = 1``), the reward-greedy
  baseline; it and novelty search are one compiled call (the weight is a vmapped leaf);
* ``ppo`` and ``ppo+counts``: PPO (16 envs x 32 steps, 4 epochs x 4 minibatches, lr 1e-3, 64x64
  tanh) with an exact count bonus ``beta / sqrt(N(cell))`` (beta 1) weighted 0 (plain PPO: the
  bonus stream's advantage is multiplied by 0) or 1, in one compiled call.

Two scenarios (``--decoys``): without a decoy, and with ``decoy_reward = 5``: the bottom cell 3
steps below the start then ends the episode and pays 5 (return 3.75 against the goal's 7.5), a
second local optimum that is easy to find.

Measured the same way for every method, on the final positions of all episodes it ran (QD: every
evaluated policy; PPO: every finished training episode): ``coverage`` = fraction of the 49 cells
(walls included) reached at the end of some episode, ``reached goal`` = the goal cell is among
them, ``best return`` = best episode return, ``optimal`` = seeds whose best return is the optimum
7.5. PPO also reports its final greedy evaluation return.

    python benchmarks/quality_diversity.py            # full run (~3 min on 2 cores)
    python benchmarks/quality_diversity.py --quick    # smoke test (seconds)
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, seed_keys, write_report

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents import quality_diversity as qd
from jaxrl_rewards.core import struct
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.paths import batch_config
from jaxrl_rewards.transforms import RewardTransform, chain
from jaxrl_rewards.transforms.intrinsic import count_bonus

PPO_OPTIONS = dict(num_envs=16, num_steps=32, update_epochs=4, num_minibatches=4, learning_rate=1e-3, num_evals=4)
QUICK_PPO = dict(num_envs=4, num_steps=16, update_epochs=1, num_minibatches=1, hidden_sizes=(16,), num_evals=1)


class FinalCellProbe(RewardTransform):
    """Records, over a whole PPO run, the descriptor-grid cells of the final positions of finished
    training episodes (``info["pos"]`` on ``terminated or truncated``) and the best episode return
    of the raw reward; streams unchanged. State: ``(reached [size^2] bool, running return [N],
    best return)``."""

    size: int = struct.field(pytree_node=False, default=7)

    def init(self, key, spec):
        """Nothing reached, zero running returns, best ``-inf``."""
        num_envs = spec.example.reward.shape[1]
        return (jnp.zeros(self.size * self.size, bool), jnp.zeros(num_envs, jnp.float32), jnp.float32(-jnp.inf))

    def update(self, state, streams, batch, key):
        """Mark the final cells of the batch's episodes, carry the running returns across it."""
        reached, running, best = state
        pos = batch.info["pos"]  # [T, N, 2] row, col
        xy = jnp.stack([pos[..., 1], pos[..., 0]], -1).astype(jnp.float32) / (self.size - 1)
        cells = qd.cell_index(xy, (self.size, self.size))
        reached = reached.at[cells.reshape(-1)].max(batch.done.reshape(-1))

        def body(ret, step):
            reward, done = step
            ret = ret + reward
            return jnp.where(done, 0.0, ret), jnp.where(done, ret, -jnp.inf).max()

        running, ends = jax.lax.scan(body, running, (batch.reward, batch.done))
        best = jnp.maximum(best, ends.max())
        return (reached, running, best), {"probe/coverage": reached.mean(dtype=jnp.float32), "probe/best": best}


def goal_cell(env) -> int:
    """The descriptor-grid cell of the goal: :func:`qd.cell_index` of its final-position descriptor
    ``(col, row) / (size - 1)``, the same cells :class:`FinalCellProbe` and MAP-Elites use."""
    xy = jnp.asarray([env.goal[1], env.goal[0]], jnp.float32) / (env.size - 1)
    return int(qd.cell_index(xy, (env.size, env.size)))


def summary(coverage, goal, best, steps, wall_s, extra=None) -> dict:
    """Per-seed lists and means of one method's results."""
    coverage, goal, best = np.asarray(coverage, float), np.asarray(goal, bool), np.asarray(best, float)
    return {
        "coverage": coverage.round(4).tolist(),
        "coverage_mean": float(coverage.mean()),
        "reached_goal": goal.tolist(),
        "reached_goal_fraction": float(goal.mean()),
        "best_return": best.round(4).tolist(),
        "best_return_mean": float(best.mean()),
        "env_steps": np.asarray(steps).tolist(),
        "wall_s": wall_s,
        **(extra or {}),
    }


#: jitted runners by name, built once per process so that every scenario reuses their compiles
#: (the scenarios differ only in an env-param leaf)
_RUNNERS: dict = {}


def runner(name: str, build):
    """The jitted function ``build()`` made once under ``name``."""
    if name not in _RUNNERS:
        _RUNNERS[name] = build()
    return _RUNNERS[name]


def run_qd(args, env, params, keys) -> tuple[dict, dict]:
    """MAP-Elites, novelty search and the greedy ES; results and per-generation curves."""
    common = dict(population_size=args.population, num_generations=args.generations, hidden_sizes=(16,))
    goal = goal_cell(env)
    results, curves = {}, {}
    start = time.perf_counter()
    me_config = qd.make_map_elites_config(env, params, **common)
    run = runner("map_elites", lambda: jax.jit(jax.vmap(qd.run_map_elites, in_axes=(None, 0))))
    state, metrics = jax.block_until_ready(run(me_config, keys))
    wall = time.perf_counter() - start
    filled = np.asarray(state.repertoire.filled)
    results["map_elites"] = summary(
        filled.mean(1),
        filled[:, goal],
        metrics["best_fitness"][:, -1],
        metrics["env_steps"][:, -1],
        wall,
        {"qd_score": np.asarray(metrics["qd_score"][:, -1]).round(2).tolist()},
    )
    curves["map_elites"] = {k: np.asarray(v).mean(0).round(4).tolist() for k, v in metrics.items()}
    log(f"map_elites: {wall:.1f}s, coverage {filled.mean(1).round(2)}, goal {filled[:, goal].astype(int)}")

    start = time.perf_counter()
    ns_config = qd.make_novelty_config(env, params, **common)
    ns_config, axes = batch_config(ns_config, {"reward_weight": [0.0, 1.0]})
    run = runner(
        "novelty", lambda: jax.jit(jax.vmap(jax.vmap(qd.run_novelty_search, in_axes=(None, 0)), in_axes=(axes, None)))
    )
    state, metrics = jax.block_until_ready(run(ns_config, keys))
    wall = time.perf_counter() - start
    filled = np.asarray(state.repertoire.filled)  # [2, S, C]
    for i, name in enumerate(("novelty_search", "greedy_es")):
        results[name] = summary(
            filled[i].mean(1),
            filled[i, :, goal],
            metrics["best_fitness"][i, :, -1],
            metrics["env_steps"][i, :, -1],
            wall,
            {"qd_score": np.asarray(metrics["qd_score"][i, :, -1]).round(2).tolist()},
        )
        curves[name] = {k: np.asarray(v[i]).mean(0).round(4).tolist() for k, v in metrics.items()}
        log(f"{name}: coverage {filled[i].mean(1).round(2)}, goal {filled[i, :, goal].astype(int)}")
    return results, curves


@functools.cache
def cell_of(size: int):
    """``obs -> cell index`` of the coordinate observation ``(row, col) / (size - 1)``, one function
    per size (the count bonus keeps it as a static field, so every scenario's config is alike)."""

    def cell(obs):
        rc = jnp.round(obs * (size - 1)).astype(jnp.int32)
        return rc[0] * size + rc[1]

    return cell


def run_ppo(args, env, params, keys, budget: int) -> tuple[dict, dict]:
    """Plain PPO and PPO + counts (count weight 0 / 1, one compiled call)."""
    size = env.size
    transform = chain(count_bonus(beta=1.0, index=cell_of(size), num_states=size * size), FinalCellProbe(size=size))
    options = {**PPO_OPTIONS, **(QUICK_PPO if args.quick else {})}
    config = ppo.make_config(env, params, transform=transform, total_timesteps=budget, **options)
    config, axes = batch_config(config, {"transform.count_bonus.coef": [0.0, 1.0]})
    start = time.perf_counter()
    run = runner("ppo", lambda: jax.jit(jax.vmap(jax.vmap(ppo.train, in_axes=(None, 0)), in_axes=(axes, None))))
    state, metrics = jax.block_until_ready(run(config, keys))
    wall = time.perf_counter() - start
    reached, _, best = jax.device_get(state.transform_state[-1])  # [2, S, C], _, [2, S]
    goal = goal_cell(env)
    results, curves = {}, {}
    for i, name in enumerate(("ppo", "ppo+counts")):
        final_eval = np.asarray(metrics["eval/return/task"][i, :, -1])
        steps = [config.trained_timesteps] * len(keys)
        results[name] = summary(
            reached[i].mean(1),
            reached[i, :, goal],
            best[i],
            steps,
            wall,
            {"final_eval_return": final_eval.round(3).tolist()},
        )
        curves[name] = {"coverage": np.asarray(metrics["transform/probe/coverage"][i]).mean(0).round(4).tolist()}
        log(f"{name}: coverage {reached[i].mean(1).round(2)}, goal {reached[i, :, goal].astype(int)}, {wall:.0f}s")
    return results, curves


def scenario_name(decoy: float) -> str:
    """Label of a scenario: ``"no decoy"`` or ``"decoy 5"``."""
    return "no decoy" if decoy == 0 else f"decoy {decoy:g}"


def render(payload: dict) -> str:
    """Markdown report: one table per scenario and a reading of each."""
    a = payload["args"]
    optimum = payload["env"]["optimal_return"]
    lines = [
        "# Quality diversity on a deceptive maze (issue 18)",
        "",
        f"`DeceptiveMaze-v0` {payload['env']['size']}x{payload['env']['size']} (coordinate observations, horizon "
        f"{payload['env']['horizon']}; best possible return {optimum}), "
        f"{a['seeds']} seeds (0..{a['seeds'] - 1}) per method, budget {payload['budget']:,} env steps per seed "
        f"(QD: {a['generations']} generations x population {a['population']} + the initial population). "
        "Coverage, goal and best return are measured alike for all methods, on the final positions of all the "
        "episodes a method ran (module docstring of `benchmarks/quality_diversity.py`). `python "
        "benchmarks/quality_diversity.py` reproduces it.",
    ]
    for scenario, results in payload["results"].items():
        rows = []
        for name, r in results.items():
            rows.append(
                [
                    name,
                    f"{r['coverage_mean']:.3f}",
                    f"{sum(r['reached_goal'])}/{len(r['reached_goal'])}",
                    f"{sum(b >= optimum - 1e-3 for b in r['best_return'])}/{len(r['best_return'])}",
                    f"{r['best_return_mean']:.2f}",
                    f"{np.mean(r['qd_score']):.0f}" if "qd_score" in r else "-",
                    f"{np.mean(r['final_eval_return']):.2f}" if "final_eval_return" in r else "-",
                    f"{int(np.mean(r['env_steps'])):,}",
                    f"{r['wall_s']:.0f}",
                ]
            )
        lines += ["", f"## {scenario}", ""]
        lines += markdown_table(
            [
                "method",
                "coverage (mean)",
                "seeds reaching the goal",
                f"seeds with an optimal episode ({optimum})",
                "best return (mean)",
                "QD-score (mean)",
                "PPO final greedy return",
                "env steps (mean)",
                "wall s",
            ],
            rows,
            "lrrrrrrrr",
        )
    lines += [
        "",
        "QD-score: sum over filled cells of (return + 30), 30 = horizon x the largest per-step penalty. "
        "Seeds reaching the goal: some episode ended on the goal (for PPO, a training episode); an optimal "
        "episode is one that takes the 9-step detour.",
        "",
        "Wall times: `novelty_search` and `greedy_es` share one compiled call, as do `ppo` and `ppo+counts` "
        f"(compile included in the first scenario; the later ones reuse the compiled programs, the decoy being an "
        f"env-param leaf). Machine: {payload['machine'].get('cpu_count')} CPU cores, shared with other jobs. "
        f"Total {payload['wall_s']:.0f} s.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every method at the same budget; write ``quality_diversity.{json,md}``."""
    parser = make_parser("quality_diversity", __doc__)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--decoys", type=float, nargs="+", default=[0.0, 5.0], help="decoy rewards (0: none)")
    args = parse_args(parser, argv)
    if args.quick:
        args.seeds, args.generations, args.population = 2, 2, 4
    start = time.time()
    env, params = make("DeceptiveMaze-v0", obs_mode="coords")
    horizon = int(params.max_steps_in_episode)
    budget = (args.generations + 1) * args.population * horizon
    keys = seed_keys(args.seeds)
    results, curves = {}, {}
    for decoy in args.decoys:  # a param leaf: every scenario reuses the same compiled programs
        scenario = scenario_name(decoy)
        log(f"scenario: {scenario}")
        scenario_params = params.replace(decoy_reward=float(decoy))
        results[scenario], curves[scenario] = run_qd(args, env, scenario_params, keys)
        ppo_results, ppo_curves = run_ppo(args, env, scenario_params, keys, budget)
        results[scenario].update(ppo_results)
        curves[scenario].update(ppo_curves)
    payload = {
        "args": args_record(args),
        "env": {
            "name": "DeceptiveMaze-v0",
            "size": env.size,
            "horizon": horizon,
            "optimal_return": 7.5,
            "decoys": args.decoys,
        },
        "budget": budget,
        "results": results,
        "curves": curves,
        "wall_s": time.time() - start,
        "machine": machine_info(),
    }
    write_report(args.out, "quality_diversity", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
