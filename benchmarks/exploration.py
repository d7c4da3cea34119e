"""Exploration benchmark: intrinsic bonuses on our exploration environments (issue 6).

Over 400 lines: five small exploration experiments that share one PPO setup, one info probe and
one report (resumable per experiment); the shared machinery is in ``harness``.

Run from the repository root with the main venv:

    python benchmarks/exploration.py                       # every experiment (resumable)
    python benchmarks/exploration.py --only deep_sea       # one experiment
    python benchmarks/exploration.py --force               # rerun finished experiments
    python benchmarks/exploration.py --quick               # smoke test, tiny sizes, temp dir

Every variant trains 8 seeds through the library's runner (``experiments.runner.train_seeds``;
the contextual grid's two layouts are one batched call, ``harness.train_batched``);
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

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from harness import (
    QUICK_PPO,
    compile_training,
    log,
    machine_info,
    make_parser,
    parse_args,
    read_json,
    train_batched,
    train_runs,
    write_figure,
    write_report,
)
from matplotlib.figure import Figure

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.analysis.reward_free import coverage, empirical_model, planning_scores, reachable_states
from jaxrl_rewards.core import struct
from jaxrl_rewards.envs import SparseGridWorld, make
from jaxrl_rewards.experiments.paths import batch_config
from jaxrl_rewards.transforms import RewardTransform, chain, scale
from jaxrl_rewards.transforms.intrinsic import (
    combine_bonuses,
    count_bonus,
    e3b_bonus,
    learning_progress_bonus,
    prediction_error_bonus,
    rnd_bonus,
)

SEEDS = 8
CACHE_DIR = Path(tempfile.gettempdir()) / "jaxrl_rewards_exploration_cache"
#: what ``main`` sets for a ``--quick`` run: no metrics cache, 2 seeds, the first 2 variants, tiny PPO
_RUN: dict[str, Any] = {"cache": CACHE_DIR, "seeds": SEEDS, "max_variants": None, "ppo": {}}
QUICK_EXPERIMENTS = ("deep_sea",)


class InfoProbe(RewardTransform):
    """Logs the batch means of ``info`` signals as metrics (``probe/<key>``); streams unchanged."""

    keys: tuple[str, ...] = struct.field(pytree_node=False, default=())

    def update(self, state, streams, batch, key):
        """Per-iteration batch means of the probed ``info`` keys; state unchanged."""
        return state, {f"probe/{k}": jnp.asarray(batch.info[k], jnp.float32).mean() for k in self.keys}


def run_variants(
    env, params, variants: dict[str, RewardTransform | None], probe: tuple[str, ...], sweep=None, **ppo_kw
):
    """Train every variant for SEEDS seeds (one vmapped call each); numpy metrics per variant,
    ``[S, ...]`` (or ``[L, S, ...]`` with ``sweep``: dotted config path -> L values, vmapped too)."""
    out = {}
    seeds, cache_dir = _RUN["seeds"], _RUN["cache"]
    ppo_kw = {**ppo_kw, **_RUN["ppo"]}
    for name, bonus in list(variants.items())[: _RUN["max_variants"]]:
        transform = chain(*(t for t in (bonus, InfoProbe(keys=probe)) if t is not None))
        config = ppo.make_config(env, params, transform=transform, **ppo_kw)
        # raw metrics are cached per variant, so a crash while summarising loses no training
        tag = f"{env!r}_{name}_{config.trained_timesteps}_{sweep is not None}".replace(" ", "").replace("/", "-")
        cache = None if cache_dir is None else cache_dir / f"{tag}.npz"
        if cache is not None and cache.exists():
            out[name] = dict(np.load(cache))
            log(f"{name}: cached ({cache})")
            continue
        start = time.perf_counter()
        if sweep is None:
            metrics = train_runs(ppo, config, seeds, label=name).metrics
        else:
            config, axes = batch_config(config, sweep)
            _, metrics = train_batched(ppo, config, axes, seeds)
            metrics = {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}
        wall = time.perf_counter() - start
        log(f"{name}: {wall:.0f}s, final eval return {metrics['eval/return/task'][..., -1].round(2)}")
        metrics["wall_s"] = np.asarray(wall)
        metrics["steps_per_seed"] = np.asarray(config.trained_timesteps)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **metrics)
        out[name] = metrics
    return out


def curve(metrics: dict[str, np.ndarray], key: str) -> list[float]:
    """Mean over seeds of a per-iteration metric, ``[iterations]``."""
    return metrics[key].mean(0).round(4).tolist()


# --------------------------------------------------------------------------- experiments

PPO_SPARSE = dict(num_envs=16, num_steps=32, update_epochs=4, num_minibatches=4, learning_rate=1e-3, num_evals=10)


def deep_sea(quick: bool) -> dict[str, Any]:
    """DeepSea: seeds reaching the treasure and final greedy solves per variant."""
    size = 6 if quick else 20
    steps = 640 if quick else 200_000
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
    """Key-door grid: final greedy solves, goal reached during training, curves."""
    size = 5 if quick else 8
    steps = 640 if quick else 250_000
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
    """Noisy TV grid: share of steps spent at the TV in the second half of training."""
    size = 4 if quick else 8
    steps = 640 if quick else 100_000
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
    """Contextual grid: episodic / global / combined counts, fixed vs resampled layout."""
    size = 5 if quick else 9
    steps = 640 if quick else 100_000
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
    """Reward-free exploration: coverage and planning scores of the empirical model."""
    size = 5 if quick else 10
    steps = 640 if quick else 40_000
    env = SparseGridWorld(size=size)
    params = env.default_params
    mdp = env.tabular_mdp(params)
    model = empirical_model(lambda o: jnp.argmax(o), env.num_states, 4)
    reach = reachable_states(mdp.transitions, 0, mdp.terminal)
    goals = np.random.default_rng(0).choice(np.arange(1, env.num_states - 1), 20, replace=False)
    seeds = _RUN["seeds"]
    result = {"size": size, "goals": goals.tolist(), "variants": {}}
    for name, bonus in {"no_bonus": None, "counts": count_bonus(beta=1.0)}.items():
        parts = [scale(0.0)] + ([bonus] if bonus is not None else []) + [model]
        options = {"total_timesteps": steps, **PPO_SPARSE, **_RUN["ppo"]}
        config = ppo.make_config(env, params, transform=chain(*parts), **options)
        start = time.perf_counter()
        state, _ = compile_training(ppo, config, seeds, label=f"reward_free {name}", warmup=False).run()
        counts = jax.device_get(state.transform_state[-1])
        covs, scores = [], []
        for s in range(seeds):
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
    """The markdown report of the experiments that ran."""
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
    """Curves of the experiments that ran (``exploration_curves.png``)."""
    panels = [
        ("deep_sea", "treasure_rate_curve", "deep sea: treasure per step"),
        ("key_door", "success_rate_curve", "key-door: goal per step"),
        ("noisy_tv", "tv_curve", "noisy TV: share of TV steps"),
        ("contextual", "eval_curve", "contextual: greedy return"),
    ]
    panels = [p for p in panels if p[0] in results]
    if not panels:
        return
    fig = Figure(figsize=(4.5 * len(panels), 3.5))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (exp, key, title) in zip(axes, panels, strict=True):
        for name, v in results[exp]["variants"].items():
            if key in v:
                ax.plot(v[key], label=name)
        ax.set_title(title)
        ax.set_xlabel("iteration" if key != "eval_curve" else "evaluation")
        ax.legend(fontsize=7)
    fig.tight_layout()
    write_figure(fig, path, dpi=90)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments asked for (resumable); write ``exploration.{json,md}`` and curves to ``--out``."""
    parser = make_parser("exploration", __doc__)
    parser.add_argument("--only", choices=sorted(EXPERIMENTS), action="append")
    parser.add_argument("--force", action="store_true")
    args = parse_args(parser, argv)
    if args.quick:
        _RUN.update(cache=None, seeds=2, max_variants=2, ppo={**QUICK_PPO, "num_evals": 2})
    else:
        _RUN.update(cache=CACHE_DIR, seeds=SEEDS, max_variants=None, ppo={})
    json_path = args.out / "exploration.json"
    results = read_json(json_path, {})
    results["machine"] = machine_info(shared="yes: 2 cores shared with the coordinator and other agents' jobs")
    for name in args.only or (QUICK_EXPERIMENTS if args.quick else list(EXPERIMENTS)):
        if name in results and not args.force:
            log(f"{name}: already done (use --force)")
            continue
        log(f"{name}: running")
        start = time.perf_counter()
        results[name] = EXPERIMENTS[name](args.quick)
        results[name]["experiment_wall_s"] = time.perf_counter() - start
        write_report(args.out, "exploration", results, render(results))
        plot(results, args.out / "exploration_curves.png")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
