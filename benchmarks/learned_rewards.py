"""Learned-reward benchmarks (issue 9): overoptimisation, ensembles under label noise, GAIL.

Run from the repository root with the main venv:

    python benchmarks/learned_rewards.py                    # every experiment
    python benchmarks/learned_rewards.py --only overopt     # one experiment (overopt|ensemble|gail)
    python benchmarks/learned_rewards.py --force            # rerun finished experiments
    python benchmarks/learned_rewards.py --quick            # smoke test: tiny sizes, temp dir

Each variant trains 8 seeds with ``jaxrl_rewards.experiments.runner.train_seeds`` (one compiled
``vmap`` over seeds per segment). Results: ``benchmarks/results/learned_rewards.json``
(saved atomically after each variant; finished variants are skipped unless ``--force``),
``learned_rewards.md`` and ``learned_rewards_curves.png``.

Experiments:

* ``overopt``: PPO on ``ProxyGrid-bonus`` optimising the proxy reward, without
  regularisation, with a KL penalty toward a hand-written reference policy (mostly heading
  for the goal), and with a χ² occupancy penalty toward that policy's samples. Curves of the
  greedy policy's proxy and true return over training.
* ``ensemble``: PPO on a preference reward model learned online from labels of the true
  reward with 25% label noise and a budget of 320 labels: one model vs ensembles of 5 (mean,
  worst case ``min``, ``lcb`` = mean - std). True return at the end.
* ``gail``: a PPO CartPole expert (500k steps) provides 4096 expert transitions; PPO with a
  GAIL discriminator reward, with and without a gradient penalty.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from harness import (
    QUICK_PPO,
    atomic_write_text,
    compile_training,
    log,
    machine_info,
    make_parser,
    parse_args,
    read_json,
    train_runs,
    write_figure,
    write_json,
)
from matplotlib.figure import Figure

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents.policies import expert_data_from_ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.learned import (
    airl_reward,
    collect_reference_samples,
    ensemble_reward_model,
    gail_reward,
    kl_penalty,
    occupancy_penalty,
    preference_reward_model,
    true_reward_oracle,
)

SEEDS = 8
#: ``--quick``: the first overopt variant only (one compile)
QUICK_EXPERIMENTS = ("overopt",)
QUICK_VARIANTS = 1


SHARED_NOTE = "shared machine: 2 CPU cores used by several jobs at once; timings are indicative"


# --------------------------------------------------------------------------- reference policy (grid)

GRID = 5


def reference_probs(obs: jax.Array) -> jax.Array:
    """A hand-written 'careful human' policy on the 5x5 proxy grid: ``[..., 25(+1)] -> [..., 4]``
    probabilities (up, right, down, left). Heads for the goal: right/down equally inside the
    grid, down in the last column, right in the last row; 4% on each other action."""
    cell = jnp.argmax(obs[..., : GRID * GRID], axis=-1)
    row, col = cell // GRID, cell % GRID
    last_col, last_row = col == GRID - 1, row == GRID - 1
    right = jnp.where(last_col, 0.04, jnp.where(last_row, 0.88, 0.46))
    down = jnp.where(last_row, 0.04, jnp.where(last_col, 0.88, 0.46))
    up = jnp.full_like(right, 0.04)
    return jnp.stack([up, right, down, up], axis=-1)


def reference_log_prob(obs: jax.Array, action: jax.Array) -> jax.Array:
    """``log pi_ref(action | obs)`` of ``reference_probs``."""
    probs = reference_probs(obs)
    return jnp.log(jnp.take_along_axis(probs, action[..., None].astype(jnp.int32), axis=-1)[..., 0])


def reference_policy(key: jax.Array, obs: jax.Array):
    """Sample an action of ``reference_probs``; ``(action, None)``."""
    return jax.random.categorical(key, jnp.log(reference_probs(obs))), None


# --------------------------------------------------------------------------- experiments


def overopt_variants(quick: bool) -> dict[str, dict[str, Any]]:
    """Overoptimisation variants: config overrides by name."""
    env, params = make("ProxyGrid-bonus")
    samples = collect_reference_samples(env, params, reference_policy, jax.random.key(123), 16, 64)
    return {
        "proxy (no regularisation)": {},
        "proxy + KL to reference (coef 0.05)": {"transform": kl_penalty(reference_log_prob, coef=0.05)},
        "proxy + chi2 occupancy (coef 0.02)": {"transform": occupancy_penalty(samples, coef=0.02)},
    }


def overopt_config(quick: bool, **kw) -> ppo.PPOConfig:
    """PPO on ProxyGrid-bonus (200 iterations of 8 x 64 steps, 25 evaluations)."""
    if quick:
        return ppo.make_config("ProxyGrid-bonus", **{**QUICK_PPO, "total_timesteps": 128, "num_evals": 2}, **kw)
    return ppo.make_config(
        "ProxyGrid-bonus", num_envs=8, num_steps=64, total_timesteps=8 * 64 * 200, num_evals=25, eval_max_steps=40, **kw
    )


def ensemble_variants(quick: bool) -> dict[str, dict[str, Any]]:
    """Single preference reward model vs ensembles of 5: config overrides by name."""
    common = dict(
        oracle=true_reward_oracle,
        flip_rate=0.25,
        segment_length=8,
        queries_per_update=16,
        max_queries=320,
        capacity=512,
        num_updates=16,
        minibatch_size=64,
    )
    return {
        "single reward model": {"transform": preference_reward_model(**common)},
        "ensemble x5, mean": {"transform": ensemble_reward_model(5, "mean", **common)},
        "ensemble x5, min (worst case)": {"transform": ensemble_reward_model(5, "min", **common)},
        "ensemble x5, lcb (mean - 1 std)": {"transform": ensemble_reward_model(5, "lcb", lam=1.0, **common)},
    }


_EXPERT: dict[str, Any] = {}


def cartpole_expert(quick: bool) -> Any:
    """Train a PPO CartPole expert (seed 0; 500k steps) and collect 8 x 512 greedy transitions."""
    if "data" not in _EXPERT:
        cfg = ppo.make_config("CartPole-v1", total_timesteps=20_000 if quick else 500_000)
        log("gail: training the PPO expert")
        state, metrics = compile_training(ppo, cfg, jax.random.key(0), label="gail expert", warmup=False).run()
        data, batch = expert_data_from_ppo(cfg, state, jax.random.key(1), 8, 512)
        _EXPERT["data"] = data
        _EXPERT["return"] = float(metrics["eval/return/task"][-1])
        _EXPERT["data_episode_return"] = float(batch.reward.sum() / max(int(batch.done.sum()), 1))
        log(f"gail: expert greedy return {_EXPERT['return']:.1f}")
    return _EXPERT["data"]


def gail_variants(quick: bool) -> dict[str, dict[str, Any]]:
    """Adversarial imitation variants of the CartPole expert: config overrides by name."""
    expert = cartpole_expert(quick)
    return {
        "GAIL + gradient penalty (10)": {"transform": gail_reward(expert, gp_coef=10.0)},
        "GAIL, no gradient penalty": {"transform": gail_reward(expert, gp_coef=0.0)},
        "AIRL + gradient penalty (10)": {"transform": airl_reward(expert, gp_coef=10.0)},
        "AIRL + gradient penalty (10), softplus reward": {
            "transform": airl_reward(expert, gp_coef=10.0, reward_form="softplus")
        },
    }


def gail_config(quick: bool, **kw) -> ppo.PPOConfig:
    """PPO on CartPole-v1 (500k steps)."""
    return ppo.make_config("CartPole-v1", total_timesteps=20_000 if quick else 500_000, **kw)


EXPERIMENTS = {
    "overopt": (overopt_variants, overopt_config),
    "ensemble": (ensemble_variants, overopt_config),
    "gail": (gail_variants, gail_config),
}


def run_variant(config: ppo.PPOConfig, seeds: int, name: str) -> dict[str, Any]:
    """Train ``seeds`` seeds through the runner; eval curves (proxy and true return) and timings."""
    result = train_runs(ppo, config, seeds, label=name)
    m = result.metrics
    out = {
        "eval_timesteps": m["eval/timesteps"][0].tolist(),
        "proxy_return": m["eval/return/task"].tolist(),
        "steps_per_s": result.steps_per_second,
        "compile_s": result.compile_s,
        "total_s": result.total_s,
    }
    if "eval/return/true_reward" in m:
        out["true_return"] = m["eval/return/true_reward"].tolist()
    return out


def summarise_overopt(res: dict[str, Any]) -> list[str]:
    """Markdown table lines: peak / final true return and the proxy per variant."""
    lines = [
        "| variant | peak mean true return (eval #) | final mean true | final / peak | final mean proxy | "
        "proxy first -> last |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in res.items():
        true = np.asarray(r["true_return"]).mean(0)
        proxy = np.asarray(r["proxy_return"]).mean(0)
        peak = int(np.argmax(true))
        ratio = true[-1] / true[peak] if true[peak] > 0 else float("nan")
        lines.append(
            f"| {name} | {true[peak]:.3f} ({peak + 1}) | {true[-1]:.3f} | {ratio:.2f} | {proxy[-1]:.3f} | "
            f"{proxy[0]:.2f} -> {proxy[-1]:.2f} |"
        )
    return lines


def summarise_final(res: dict[str, Any], baseline: str) -> list[str]:
    """Markdown table lines: final true return per variant against ``baseline``."""
    lines = ["| variant | final true return, mean ± s.e. (8 seeds) | per seed | vs baseline |", "|---|---|---|---|"]
    base = np.asarray(res[baseline]["true_return"])[:, -1].mean() if baseline in res else float("nan")
    for name, r in res.items():
        final = np.asarray(r["true_return"])[:, -1]
        se = final.std(ddof=1) / np.sqrt(len(final)) if len(final) > 1 else 0.0
        lines.append(
            f"| {name} | {final.mean():.3f} ± {se:.3f} | {', '.join(f'{x:.2f}' for x in final)} | "
            f"{final.mean() - base:+.3f} |"
        )
    return lines


def write_report(results: dict[str, Any], out_dir: Path) -> None:
    """Write ``learned_rewards.md`` and the curves from ``results`` (the JSON is saved by ``main``)."""
    lines = [
        "# Learned rewards (issue 9)",
        "",
        f"Machine: {json.dumps(machine_info(note=SHARED_NOTE))}. Reproduce: `python benchmarks/learned_rewards.py`.",
        "",
    ]
    if "overopt" in results:
        lines += [
            "## Overoptimisation on ProxyGrid-bonus (PPO, 8 seeds, greedy evaluation)",
            "",
            "The proxy pays +0.05 per step on the cell next to the goal; the true reward is +1 at the goal and "
            "-0.01 per step (40-step episodes). Means over seeds of the evaluation curves:",
            "",
            *summarise_overopt(results["overopt"]),
            "",
        ]
    if "ensemble" in results:
        lines += [
            "## Ensembles vs a single reward model, 25% label noise, 320 labels (PPO, 8 seeds)",
            "",
            "Labels compare the true return of 8-step segments of the PPO batches (ProxyGrid-bonus; the proxy is "
            "not used: the learned reward replaces it). The true reward is sparse (goal +1, -0.01 per step), so "
            "most pairs are ties and few labels carry information (the main ensemble study, on a dense continuing "
            "task, is `learned_rewards_ensemble.md`); final greedy true return:",
            "",
            *summarise_final(results["ensemble"], "single reward model"),
            "",
        ]
        ens = results["ensemble"]
        single = "single reward model"
        pessimistic = [k for k in ens if "min" in k or "lcb" in k]
        if single in ens and pessimistic:
            base = np.asarray(ens[single]["true_return"])[:, -1].mean()
            best = max(pessimistic, key=lambda k: np.asarray(ens[k]["true_return"])[:, -1].mean())
            value = np.asarray(ens[best]["true_return"])[:, -1].mean()
            verdict = "met" if value > base else "NOT met"
            lines += [
                f"Must-show (a worst-case or uncertainty-weighted ensemble beats a single model): best pessimistic "
                f"variant `{best}` {value:.3f} vs single {base:.3f}: **{verdict}** in this setting.",
                "",
            ]
    if "gail" in results:
        lines += [
            "## Adversarial imitation of a PPO CartPole-v1 expert (PPO on the discriminator reward, 500k steps, "
            "8 seeds)",
            "",
            f"Expert: {json.dumps(results.get('gail_expert', {}))}. Return is the environment's (never seen by the "
            "imitator).",
            "",
            "| variant | final return, mean ± s.e. | per seed | seeds >= 400 |",
            "|---|---|---|---|",
        ]
        for name, r in results["gail"].items():
            final = np.asarray(r["proxy_return"])[:, -1]
            se = final.std(ddof=1) / np.sqrt(len(final)) if len(final) > 1 else 0.0
            lines.append(
                f"| {name} | {final.mean():.1f} ± {se:.1f} | {', '.join(f'{x:.0f}' for x in final)} | "
                f"{int((final >= 400).sum())}/{len(final)} |"
            )
        lines += [
            "",
            "AIRL's own reward is the logit `f`, which is negative wherever the discriminator calls a state "
            "non-expert; in a survival task such as CartPole a negative per-step reward pays for ending the "
            'episode early (Kostrikov et al., 2019). `reward_form="softplus"` gives the positive '
            "`-log(1 - sigmoid(f))` form on the same shaped discriminator.",
            "",
        ]
    atomic_write_text(out_dir / "learned_rewards.md", "\n".join(lines) + "\n")
    plot(results, out_dir / "learned_rewards_curves.png")


def plot(results: dict[str, Any], path: Path) -> None:
    """Eval curves of every experiment that ran (``learned_rewards_curves.png``)."""
    panels = [k for k in ("overopt", "ensemble", "gail") if k in results]
    if not panels:
        return
    fig = Figure(figsize=(6 * len(panels), 4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, key in zip(axes[0], panels, strict=True):
        for i, (name, r) in enumerate(results[key].items()):
            t = np.asarray(r["eval_timesteps"])
            true = np.asarray(r.get("true_return", r["proxy_return"]))
            color = f"C{i}"
            ax.plot(t, true.mean(0), color=color, label=f"{name}: true")
            ax.fill_between(t, true.mean(0) - true.std(0), true.mean(0) + true.std(0), color=color, alpha=0.15)
            if key == "overopt":
                ax.plot(t, np.asarray(r["proxy_return"]).mean(0), color=color, ls="--", label=f"{name}: proxy")
        ax.set_title(key)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (greedy)")
        ax.legend(fontsize=6)
    fig.tight_layout()
    write_figure(fig, path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments asked for (resumable); write ``learned_rewards.{json,md}`` and curves to ``--out``."""
    parser = make_parser("learned_rewards", __doc__)
    parser.add_argument("--only", choices=sorted(EXPERIMENTS), action="append")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="rewrite the md/png from the saved JSON")
    args = parse_args(parser, argv)
    out_dir = args.out
    path = out_dir / "learned_rewards.json"
    results = {} if args.force else read_json(path, {})
    seeds = 2 if args.quick else SEEDS
    if args.report_only:
        write_report(results, out_dir)
        return 0

    def save(exp: str) -> None:
        # merge into what is on disk: another run of this script may own other experiments
        merged = read_json(path, {})
        merged[exp] = results[exp]
        if exp == "gail":
            merged["gail_expert"] = results.get("gail_expert", {})
        write_json(path, merged)
        results.update(merged)
        write_report(results, out_dir)

    for exp in args.only or (QUICK_EXPERIMENTS if args.quick else list(EXPERIMENTS)):
        variants_fn, config_fn = EXPERIMENTS[exp]
        done = results.setdefault(exp, {})
        chosen = list(variants_fn(args.quick).items())[: QUICK_VARIANTS if args.quick else None]
        for name, overrides in chosen:
            if name in done:
                log(f"{exp}/{name}: done, skipped")
                continue
            log(f"{exp}/{name}: training {seeds} seeds")
            done[name] = run_variant(config_fn(args.quick, **overrides), seeds, name)
            if exp == "gail":
                results["gail_expert"] = {k: v for k, v in _EXPERT.items() if k != "data"}
            final_true = np.asarray(done[name].get("true_return", done[name]["proxy_return"]))[:, -1]
            log(f"{exp}/{name}: final true return {final_true.mean():.3f} ({done[name]['total_s']:.0f}s)")
            save(exp)
    write_report(results, out_dir)
    log(f"wrote {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
