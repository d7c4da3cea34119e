"""Exploration benchmark: intrinsic bonuses on our exploration environments (issue 6).

Run from the repository root with the main venv:

    python benchmarks/exploration.py                       # every experiment (resumable)
    python benchmarks/exploration.py --only deep_sea       # one experiment
    python benchmarks/exploration.py --force               # rerun finished experiments
    python benchmarks/exploration.py --quick               # smoke test, tiny sizes, temp dir

Every variant trains 8 seeds in ONE compiled call (``jax.jit(jax.vmap(ppo.train))``);
evaluation (greedy policy, inside the call) gives the final task return. A probe transform
chained after the bonus logs the env's ``info`` signals per iteration (treasure found,
success, time at the TV). Results: ``benchmarks/results/exploration.{json,md}`` and
``exploration_curves.png`` (saved after each experiment).

Experiments:

* ``deep_sea``: DeepSea size 20; PPO vs PPO + counts vs PPO + RND. A seed "reaches the
  treasure" when any training episode found it; "solves" when the final greedy policy does.
* ``key_door``: KeyDoorGrid 8x8 (key, locked door, sparse goal); success rates and curves.
* ``noisy_tv``: NoisyTVGrid 8x8 with a noise action; share of steps spent watching the TV
  for plain prediction error vs learning progress vs E3B (second half of training).
* ``contextual``: ContextualGrid 9x9, layout resampled per episode vs fixed: episodic counts
  (of the agent's cell, reset every episode), global counts (of the whole observation: cell and
  layout, never reset), and their product.
* ``reward_free``: SparseGridWorld 10x10 explored with a count bonus only (task reward
  scaled to 0) vs no bonus; coverage of the empirical model and the value of policies planned on
  it for 20 goals handed over afterwards (fraction of the optimal value).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from bench_machine import machine_info
from flax import struct

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.analysis.reward_free import coverage, empirical_model, planning_scores, reachable_states
from jaxrl_rewards.envs import SparseGridWorld, make
from jaxrl_rewards.experiments.paths import batch_config
from jaxrl_rewards.experiments.results import atomic_write_text
from jaxrl_rewards.transforms import RewardTransform, chain, scale
from jaxrl_rewards.transforms.intrinsic import (
    combine_bonuses,
    count_bonus,
    e3b_bonus,
    learning_progress_bonus,
    prediction_error_bonus,
    rnd_bonus,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
SEEDS = 8
CACHE_DIR = Path(tempfile.gettempdir()) / "jaxrl_rewards_exploration_cache"
_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[exploration {time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class InfoProbe(RewardTransform):
    """Logs the batch means of ``info`` signals as metrics (``probe/<key>``); streams unchanged."""

    keys: tuple[str, ...] = struct.field(pytree_node=False, default=())

    def update(self, state, streams, batch, key):
        return state, {f"probe/{k}": jnp.asarray(batch.info[k], jnp.float32).mean() for k in self.keys}


def run_variants(
    env, params, variants: dict[str, RewardTransform | None], probe: tuple[str, ...], sweep=None, **ppo_kw
):
    """Train every variant for SEEDS seeds (one vmapped call each); numpy metrics per variant,
    ``[S, ...]`` (or ``[L, S, ...]`` with ``sweep``: dotted config path -> L values, vmapped too)."""
    out = {}
    keys = jax.random.split(jax.random.key(0), SEEDS)
    for name, bonus in variants.items():
        transform = chain(*(t for t in (bonus, InfoProbe(keys=probe)) if t is not None))
        config = ppo.make_config(env, params, transform=transform, **ppo_kw)
        # raw metrics are cached per variant, so a crash while summarising loses no training
        tag = f"{env!r}_{name}_{config.trained_timesteps}_{sweep is not None}".replace(" ", "").replace("/", "-")
        cache = CACHE_DIR / f"{tag}.npz"
        if cache.exists():
            out[name] = dict(np.load(cache))
            log(f"{name}: cached ({cache})")
            continue
        start = time.perf_counter()
        train = jax.vmap(ppo.train, in_axes=(None, 0))
        if sweep is None:
            _, metrics = jax.jit(train)(config, keys)
        else:
            config, axes = batch_config(config, sweep)
            _, metrics = jax.jit(jax.vmap(train, in_axes=(axes, None)))(config, keys)
        metrics = {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}
        wall = time.perf_counter() - start
        log(f"{name}: {wall:.0f}s, final eval return {metrics['eval/return/task'][..., -1].round(2)}")
        metrics["wall_s"] = np.asarray(wall)
        metrics["steps_per_seed"] = np.asarray(config.trained_timesteps)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **metrics)
        out[name] = metrics
    return out


def curve(metrics: dict[str, np.ndarray], key: str) -> list[float]:
    """Mean over seeds of a per-iteration metric, ``[iterations]``."""
    return metrics[key].mean(0).round(4).tolist()


# --------------------------------------------------------------------------- experiments

PPO_SPARSE = dict(num_envs=16, num_steps=32, update_epochs=4, num_minibatches=4, learning_rate=1e-3, num_evals=10)


def deep_sea(quick: bool) -> dict[str, Any]:
    size = 6 if quick else 20
    steps = 20_000 if quick else 200_000
    env, params = make("DeepSea-v0", size=size)
    variants = {
        "ppo": None,
        "ppo+counts": count_bonus(beta=1.0),
        "ppo+rnd": rnd_bonus(),
    }
    runs = run_variants(env, params, variants, ("treasure",), total_timesteps=steps, **PPO_SPARSE)
    result = {"size": size, "steps_per_seed": int(runs["ppo"]["steps_per_seed"]), "variants": {}}
    for name, m in runs.items():
        found = m["transform/probe/treasure"] > 0  # [S, iterations]
        first = np.where(found.any(1), found.argmax(1), -1)
        solved = m["eval/return/task"][:, -1] > 0.5
        result["variants"][name] = {
            "reached_treasure": int(found.any(1).sum()),
            "first_iteration": first.tolist(),
            "final_greedy_solves": int(solved.sum()),
            "final_eval_return": m["eval/return/task"][:, -1].round(3).tolist(),
            "eval_curve": m["eval/return/task"].mean(0).round(3).tolist(),
            "treasure_rate_curve": curve(m, "transform/probe/treasure"),
            "intrinsic_curve": curve(m, "transform/intrinsic/bonus_mean") if "ppo+" in name else None,
            "wall_s": float(m["wall_s"]),
        }
    return result


def key_door(quick: bool) -> dict[str, Any]:
    size = 5 if quick else 8
    steps = 20_000 if quick else 250_000
    env, params = make("KeyDoor-v0", size=size)
    variants = {
        "ppo": None,
        "ppo+counts": count_bonus(beta=1.0, coef=0.5),
    }
    runs = run_variants(env, params, variants, ("success", "has_key"), total_timesteps=steps, **PPO_SPARSE)
    result = {"size": size, "steps_per_seed": int(runs["ppo"]["steps_per_seed"]), "variants": {}}
    for name, m in runs.items():
        solved = m["eval/return/task"][:, -1] > 0.5
        result["variants"][name] = {
            "final_greedy_solves": int(solved.sum()),
            "ever_reached_goal": int((m["transform/probe/success"] > 0).any(1).sum()),
            "final_eval_return": m["eval/return/task"][:, -1].round(3).tolist(),
            "eval_curve": m["eval/return/task"].mean(0).round(3).tolist(),
            "success_rate_curve": curve(m, "transform/probe/success"),
            "has_key_curve": curve(m, "transform/probe/has_key"),
            "wall_s": float(m["wall_s"]),
        }
    return result


def noisy_tv(quick: bool) -> dict[str, Any]:
    size = 4 if quick else 8
    steps = 20_000 if quick else 100_000
    env, params = make("NoisyTV-v0", size=size, noise_dim=16)
    variants = {
        "prediction_error": prediction_error_bonus(normalize=True),
        "learning_progress": learning_progress_bonus(normalize=True),
        "e3b": e3b_bonus(normalize=True),
    }
    runs = run_variants(env, params, variants, ("tv",), total_timesteps=steps, **PPO_SPARSE)
    result = {"size": size, "steps_per_seed": int(runs["e3b"]["steps_per_seed"]), "variants": {}}
    for name, m in runs.items():
        tv = m["transform/probe/tv"]
        half = tv.shape[1] // 2
        share = tv[:, half:].mean(1)
        result["variants"][name] = {
            "tv_share_second_half": share.round(3).tolist(),
            "tv_share_mean": float(share.mean()),
            "tv_share_std": float(share.std()),
            "tv_curve": curve(m, "transform/probe/tv"),
            "final_eval_return": m["eval/return/task"][:, -1].round(3).tolist(),
            "wall_s": float(m["wall_s"]),
        }
    return result


def contextual_indices(size: int):
    """Exact count indices for ContextualGrid observations ``[3 * size^2]`` (agent, walls, goal):
    the agent's cell (episodic counts: the layout is fixed within an episode) and the full
    observation (cell, goal, wall column, door row) for global counts."""
    s = size * size

    def cell(obs):
        return jnp.argmax(obs[:s])

    def layout_cell(obs):
        walls = obs[s : 2 * s].reshape(size, size)
        wall_col = jnp.argmax(walls.sum(0))
        door_row = jnp.argmin(walls[:, wall_col])
        return ((cell(obs) * s + jnp.argmax(obs[2 * s :])) * size + wall_col) * size + door_row

    return cell, layout_cell, s, s * s * size * size


def contextual(quick: bool) -> dict[str, Any]:
    size = 5 if quick else 9
    steps = 20_000 if quick else 100_000
    result = {"size": size, "variants": {}}
    env, params = make("ContextualGrid-v0", size=size)
    cell, layout_cell, cells, layouts = contextual_indices(size)
    variants = {
        "episodic": count_bonus(index=cell, num_states=cells, episodic_counts=True, coef=0.3),
        "global": count_bonus(index=layout_cell, num_states=layouts, coef=0.3),
        "combined": combine_bonuses(
            count_bonus(index=cell, num_states=cells, episodic_counts=True),
            count_bonus(index=layout_cell, num_states=layouts),
            mode="product",
            coef=0.3,
        ),
    }
    # both layouts in one compiled call per bonus: ``resample`` is an env-params leaf
    sweep = {"env_params.resample": [False, True]}
    runs = run_variants(env, params, variants, ("success",), sweep=sweep, total_timesteps=steps, **PPO_SPARSE)
    result["steps_per_seed"] = int(runs["global"]["steps_per_seed"])
    for name, m_all in runs.items():
        for i, layout in enumerate(("fixed", "resampled")):
            ret, success = m_all["eval/return/task"][i], m_all["transform/probe/success"][i]
            result["variants"][f"{layout}/{name}"] = {
                "final_eval_return": ret[:, -1].round(3).tolist(),
                "final_eval_mean": float(ret[:, -1].mean()),
                "eval_auc": float(ret.mean()),
                "goals_per_1k_steps_last_quarter": float(1000 * success[:, -success.shape[1] // 4 :].mean()),
                "eval_curve": ret.mean(0).round(3).tolist(),
                "wall_s": float(m_all["wall_s"]),
            }
    return result


def reward_free(quick: bool) -> dict[str, Any]:
    size = 5 if quick else 10
    steps = 10_000 if quick else 40_000
    env = SparseGridWorld(size=size)
    params = env.default_params
    mdp = env.tabular_mdp(params)
    model = empirical_model(lambda o: jnp.argmax(o), env.num_states, 4)
    reach = reachable_states(mdp.transitions, 0, mdp.terminal)
    goals = np.random.default_rng(0).choice(np.arange(1, env.num_states - 1), 20, replace=False)
    keys = jax.random.split(jax.random.key(0), SEEDS)
    result = {"size": size, "goals": goals.tolist(), "variants": {}}
    for name, bonus in {"no_bonus": None, "counts": count_bonus(beta=1.0)}.items():
        parts = [scale(0.0)] + ([bonus] if bonus is not None else []) + [model]
        config = ppo.make_config(env, params, transform=chain(*parts), total_timesteps=steps, **PPO_SPARSE)
        start = time.perf_counter()
        state, _ = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))(config, keys)
        counts = jax.device_get(state.transform_state[-1])
        covs, scores = [], []
        for s in range(SEEDS):
            seed_counts = jax.tree.map(lambda x, s=s: x[s], counts)
            covs.append(coverage(seed_counts, reach))
            scores.append(planning_scores(seed_counts, mdp.transitions, mdp.terminal, goals, 0, 0.95).mean())
        log(f"reward_free {name}: coverage {np.round(covs, 2)}, planning {np.round(scores, 2)}")
        result["steps_per_seed"] = config.trained_timesteps
        result["variants"][name] = {
            "coverage": np.round(covs, 3).tolist(),
            "coverage_mean": float(np.mean(covs)),
            "planning_score": np.round(scores, 3).tolist(),
            "planning_score_mean": float(np.mean(scores)),
            "wall_s": time.perf_counter() - start,
        }
    return result


EXPERIMENTS = {
    "deep_sea": deep_sea,
    "key_door": key_door,
    "noisy_tv": noisy_tv,
    "contextual": contextual,
    "reward_free": reward_free,
}


# --------------------------------------------------------------------------- report


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Exploration benchmark (issue 6)",
        "",
        "Produced by `python benchmarks/exploration.py`. PPO (16 envs x 32 steps, 4 epochs x 4 minibatches, "
        "lr 1e-3 annealed, 64x64 tanh MLP, gamma 0.99), 8 seeds per variant in one vmapped call. "
        f"Machine: {results.get('machine', {}).get('cpu_count')} CPU cores, **shared with other jobs** "
        "(7 agents working at the same time), so wall times are only indicative.",
        "",
    ]
    ds = results.get("deep_sea")
    if ds:
        lines += [
            f"## Deep sea, size {ds['size']} ({ds['steps_per_seed']:,} steps per seed)",
            "",
            "| variant | seeds reaching the treasure (any training episode) | final greedy policy solves | "
            "first iteration found (per seed, -1 never) |",
            "|---|---|---|---|",
        ]
        for name, v in ds["variants"].items():
            lines.append(
                f"| {name} | **{v['reached_treasure']}/8** | {v['final_greedy_solves']}/8 | {v['first_iteration']} |"
            )
        lines.append("")
    kd = results.get("key_door")
    if kd:
        lines += [
            f"## Key-door grid {kd['size']}x{kd['size']} ({kd['steps_per_seed']:,} steps per seed)",
            "",
            "| variant | final greedy policy solves | seeds that ever reached the goal | final eval returns |",
            "|---|---|---|---|",
        ]
        for name, v in kd["variants"].items():
            lines.append(
                f"| {name} | **{v['final_greedy_solves']}/8** | {v['ever_reached_goal']}/8 | {v['final_eval_return']} |"
            )
        lines += ["", "Curves (mean over seeds): `exploration_curves.png` and `exploration.json`.", ""]
    tv = results.get("noisy_tv")
    if tv:
        lines += [
            f"## Noisy TV grid {tv['size']}x{tv['size']} ({tv['steps_per_seed']:,} steps per seed)",
            "",
            "Share of steps spent watching the TV in the second half of training (uniform random policy: 0.20).",
            "",
            "| bonus | mean share ± std over 8 seeds | per seed |",
            "|---|---|---|",
        ]
        for name, v in tv["variants"].items():
            per_seed = ", ".join(f"{x:.3f}" for x in v["tv_share_second_half"])
            lines.append(f"| {name} | **{v['tv_share_mean']:.3f}** ± {v['tv_share_std']:.3f} | {per_seed} |")
        lines.append("")
    cg = results.get("contextual")
    if cg:
        lines += [
            f"## Contextual grid {cg['size']}x{cg['size']}: fixed vs resampled layout ({cg['steps_per_seed']:,} steps)",
            "",
            "| layout | bonus | final greedy return (mean of 8) | eval return averaged over training | "
            "training goals per 1k steps, last quarter |",
            "|---|---|---|---|---|",
        ]
        for name, v in cg["variants"].items():
            layout, bonus = name.split("/")
            lines.append(
                f"| {layout} | {bonus} | {v['final_eval_mean']:.3f} | {v['eval_auc']:.3f} | "
                f"{v['goals_per_1k_steps_last_quarter']:.2f} |"
            )
        lines.append("")
    rf = results.get("reward_free")
    if rf:
        lines += [
            f"## Reward-free exploration, SparseGridWorld {rf['size']}x{rf['size']} ({rf['steps_per_seed']:,} steps)",
            "",
            "Explore with the task reward scaled to 0, record N(s, a, s'), then plan (value iteration on the "
            "estimated MDP) for 20 goals given afterwards; score = value of the planned policy in the true MDP / "
            "optimal value (gamma 0.95).",
            "",
            "| exploration | state coverage (mean) | planning score (mean) |",
            "|---|---|---|",
        ]
        for name, v in rf["variants"].items():
            lines.append(f"| {name} | {v['coverage_mean']:.3f} | {v['planning_score_mean']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    panels = [
        ("deep_sea", "treasure_rate_curve", "deep sea: treasure per step"),
        ("key_door", "success_rate_curve", "key-door: goal per step"),
        ("noisy_tv", "tv_curve", "noisy TV: share of TV steps"),
        ("contextual", "eval_curve", "contextual: greedy return"),
    ]
    panels = [p for p in panels if p[0] in results]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5))
    axes = np.atleast_1d(axes)
    for ax, (exp, key, title) in zip(axes, panels, strict=True):
        for name, v in results[exp]["variants"].items():
            if key in v:
                ax.plot(v[key], label=name)
        ax.set_title(title)
        ax.set_xlabel("iteration" if key != "eval_curve" else "evaluation")
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    from jaxrl_rewards.experiments.results import atomic_write_bytes

    atomic_write_bytes(path, buf.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(EXPERIMENTS), action="append")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    out_dir = args.out_dir or (Path(tempfile.gettempdir()) / "jaxrl_rewards_bench_quick" if args.quick else RESULTS_DIR)
    json_path = out_dir / "exploration.json"
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results["machine"] = machine_info(shared="yes: 2 cores shared with the coordinator and other agents' jobs")
    for name in args.only or list(EXPERIMENTS):
        if name in results and not args.force:
            log(f"{name}: already done (use --force)")
            continue
        log(f"{name}: running")
        start = time.perf_counter()
        results[name] = EXPERIMENTS[name](args.quick)
        results[name]["experiment_wall_s"] = time.perf_counter() - start
        atomic_write_text(json_path, json.dumps(results, indent=1))
        atomic_write_text(out_dir / "exploration.md", render(results))
        plot(results, out_dir / "exploration_curves.png")
    print(render(results))


if __name__ == "__main__":
    main()
