"""How fast PPO on CartPole-v1 could be on this machine: the two pieces no PPO implementation can
skip, timed alone, against our whole ``ppo.train`` in the same run (issue 16's "≥ 1.5× rejax").

    python benchmarks/ppo_floor.py            # 1, 8 and 64 seeds, 65,536 steps per seed (~3 min)
    python benchmarks/ppo_floor.py --quick    # smoke test, written to a temp dir

Per iteration (``num_envs`` N × ``num_steps`` T environment steps, the PPO defaults) we time:

* **rollout floor**: a ``lax.scan`` of T steps of N gymnax CartPole envs, each step one forward
  pass of a policy MLP and a value MLP (the PPO hidden sizes, tanh), one categorical sample and one
  vmapped ``env.step``; nothing stored but the rewards' sum.
* **update floor**: ``update_epochs`` E × ``num_minibatches`` M gradient steps of both MLPs on
  minibatches of T·N/M rows of a fixed batch (a fresh permutation per epoch, as PPO shuffles), loss
  ``mean(logits²) + mean((v − y)²)`` and plain SGD: no PPO loss terms, no Adam, no GAE, no
  advantage normalisation, no bookkeeping.
* **ours**: the compiled ``ppo.train`` (``jit(vmap(train))`` over the seeds, one 8-episode greedy
  evaluation at the end, as in ``throughput.py``).

The floor's ceiling is ``T·N / (t_rollout + t_update)`` steps/s per seed: any PPO at this config
does at least this work in this order. Every candidate is vmapped over S seeds and timed in
interleaved rounds (medians). Writes ``benchmarks/results/ppo_floor.{json,md}`` atomically.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from harness import (
    QUICK_PPO,
    interleaved_rounds,
    log,
    machine_info,
    make_parser,
    markdown_table,
    parse_args,
    publish,
    read_json,
    seed_keys,
)

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.experiments.bench import compile_candidate, training_candidate

Params = list[tuple[jax.Array, jax.Array]]


def mlp_init(key: jax.Array, sizes: Sequence[int]) -> Params:
    """Dense layers ``sizes[i] -> sizes[i+1]``, weights ``N(0, 1/fan_in)``, zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    shapes = zip(keys, sizes[:-1], sizes[1:], strict=True)
    return [(jax.random.normal(k, (i, o)) / np.sqrt(i), jnp.zeros(o)) for k, i, o in shapes]


def mlp(params: Params, x: jax.Array) -> jax.Array:
    """``x [B, in] -> [B, out]``: tanh hidden layers, linear output."""
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def floor_programs(config: Any) -> dict[str, Callable[[jax.Array], jax.Array]]:
    """``{"rollout": f, "update": f}``, each ``f(key) -> scalar`` running every iteration of one seed."""
    env, env_params = config.env, config.env_params
    n, t, iterations = config.num_envs, config.num_steps, config.num_iterations
    obs_dim = int(np.prod(env.observation_space(env_params).shape))
    actions = env.action_space(env_params).n
    hidden = tuple(config.hidden_sizes)
    rows = n * t // config.num_minibatches

    def rollout(key: jax.Array) -> jax.Array:
        key, k_pi, k_v, k_reset = jax.random.split(key, 4)
        actor, critic = mlp_init(k_pi, (obs_dim, *hidden, actions)), mlp_init(k_v, (obs_dim, *hidden, 1))
        obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(k_reset, n), env_params)

        def step(carry, _):
            obs, state, key = carry
            key, k_act, k_step = jax.random.split(key, 3)
            logits, value = mlp(actor, obs), mlp(critic, obs)
            action = jax.random.categorical(k_act, logits)
            out = jax.vmap(env.step, (0, 0, 0, None))(jax.random.split(k_step, n), state, action, env_params)
            return (out[0], out[1], key), out[2].sum() + value.sum()

        def iteration(carry, _):
            carry, rewards = jax.lax.scan(step, carry, None, length=t)
            return carry, rewards.sum()

        return jax.lax.scan(iteration, (obs, state, key), None, length=iterations)[1].sum()

    def update(key: jax.Array) -> jax.Array:
        key, k_pi, k_v, k_x = jax.random.split(key, 4)
        nets = (mlp_init(k_pi, (obs_dim, *hidden, actions)), mlp_init(k_v, (obs_dim, *hidden, 1)))
        x, y = jnp.split(jax.random.normal(k_x, (n * t, obs_dim + 1)), [obs_dim], axis=1)

        def loss(nets, xb, yb):
            actor, critic = nets
            return jnp.mean(mlp(actor, xb) ** 2) + jnp.mean((mlp(critic, xb) - yb) ** 2)

        def minibatch(nets, idx):
            grads = jax.grad(loss)(nets, x[idx], y[idx])
            return jax.tree.map(lambda p, g: p - 1e-3 * g, nets, grads), None

        def epoch(carry, _):
            nets, key = carry
            key, k_perm = jax.random.split(key)
            order = jax.random.permutation(k_perm, n * t).reshape(config.num_minibatches, rows)
            return (jax.lax.scan(minibatch, nets, order)[0], key), None

        def iteration(carry, _):
            return jax.lax.scan(epoch, carry, None, length=config.update_epochs)[0], None

        nets, _ = jax.lax.scan(iteration, (nets, key), None, length=iterations)[0]
        return sum(jnp.sum(w) for w, _ in nets[0])

    return {"rollout": rollout, "update": update}


def measure(config: Any, seeds: int, rounds: int) -> dict[str, Any]:
    """Compile ours and the two floors for ``seeds`` seeds; interleaved rounds; per-iteration ms."""
    steps = config.trained_timesteps * seeds
    keys = seed_keys(seeds)
    candidates = {"ours": training_candidate(ppo, config, seeds, "ours")}
    for name, fn in floor_programs(config).items():
        candidates[name] = compile_candidate(name, jax.vmap(fn), (keys,), steps)
    log(f"{seeds} seed(s) compiled: " + ", ".join(f"{n} {c.compile_s:.1f}s" for n, c in candidates.items()))
    calls = {name: c.run for name, c in candidates.items()}
    times = interleaved_rounds(calls, rounds, label=f"{seeds} seed(s)")
    iterations = config.num_iterations
    ms = {name: 1e3 * float(np.median(ts)) / iterations for name, ts in times.items()}
    floor_ms = ms["rollout"] + ms["update"]
    return {
        "seeds": seeds,
        "iterations": iterations,
        "steps_per_call": steps,
        "ms_per_iteration": ms,
        "run_s_all": times,
        "ours_steps_per_s": steps / (ms["ours"] * iterations / 1e3),
        "ceiling_steps_per_s": steps / (floor_ms * iterations / 1e3),
        "ours_over_floor_time": ms["ours"] / floor_ms,
    }


def markdown(data: dict[str, Any]) -> str:
    """The report: per-iteration milliseconds, ceiling and our share of it, per seed count."""
    c = data["config"]
    rows = []
    for r in data["rows"]:
        ms = r["ms_per_iteration"]
        floor = ms["rollout"] + ms["update"]
        speeds = [f"{r['ceiling_steps_per_s'] / 1e3:,.1f} k", f"{r['ours_steps_per_s'] / 1e3:,.1f} k"]
        millis = [f"{ms['rollout']:.2f}", f"{ms['update']:.2f}", f"{floor:.2f}", f"{ms['ours']:.2f}"]
        rows.append([r["seeds"], *millis, *speeds, f"{r['ours_over_floor_time']:.2f}×"])
    table = markdown_table(
        ["seeds", "rollout floor ms", "update floor ms", "floor ms", "ours ms", "ceiling steps/s", "ours steps/s",
         "ours / floor (time)"], rows, "r" * 8)  # fmt: skip
    lines = [
        "# PPO floor: what this machine allows PPO on CartPole-v1 (issue 16)",
        "",
        f"`python benchmarks/ppo_floor.py`: {c['num_envs']} envs × {c['num_steps']} steps, {c['update_epochs']} "
        f"epochs × {c['num_minibatches']} minibatches, MLP {c['hidden_sizes']} tanh, {c['steps_per_seed']:,} "
        f"steps per seed; milliseconds per iteration ({c['num_envs'] * c['num_steps']} env steps per seed), median "
        f"of {data['rounds']} interleaved rounds. Machine: {data['machine']['cpu_count']} CPU cores, 1-minute load "
        f"average {data['machine']['loadavg_start'][0]:.2f} at the start, XLA_FLAGS "
        f"`{data['machine']['xla_flags']}`. The floors are what any PPO must do (module docstring): a rollout of "
        "policy + value forward passes, sampling and env steps, and the minibatch gradient steps of both "
        "networks with plain SGD; the ceiling is one iteration's env steps over the sum of the two.",
        "",
        *table,
        "",
    ]
    peer = data.get("rejax_from_throughput")
    if peer and {"1", "8"} <= set(peer):
        lines.append(
            "rejax 0.1.3 in `throughput.md` (another run on this machine, 500k steps): "
            f"{peer['1'] / 1e3:,.1f} k steps/s (1 seed), {peer['8'] / 1e3:,.1f} k (8 seeds). "
            f"1.5× rejax would be {1.5 * peer['1'] / 1e3:,.1f} k and "
            f"{1.5 * peer['8'] / 1e3:,.1f} k, against this run's ceilings in the table."
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure 1, 8 and 64 seeds (``--seeds``); write ``ppo_floor.{json,md}`` to ``--out``."""
    parser = make_parser("ppo_floor", __doc__)
    parser.add_argument("--steps", type=int, default=65_536, help="environment steps per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64], help="seed counts (vmapped)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    args = parse_args(parser, argv)
    sizes = {**QUICK_PPO, "num_steps": 8} if args.quick else {}
    steps, seed_counts, rounds = (64, [1, 2], 1) if args.quick else (args.steps, args.seeds, args.rounds)
    config = ppo.make_config("CartPole-v1", total_timesteps=steps, **{**sizes, "num_evals": 1})
    ppo.validate(config)
    machine = machine_info()
    rows = []
    for seeds in seed_counts:
        rows.append(measure(config, seeds, rounds))
        log(f"{seeds} seed(s): {rows[-1]['ms_per_iteration']}")
    fields = ("num_envs", "num_steps", "update_epochs", "num_minibatches")
    data: dict[str, Any] = {
        "config": {
            **{k: getattr(config, k) for k in fields},
            "hidden_sizes": list(config.hidden_sizes),
            "steps_per_seed": config.trained_timesteps,
        },
        "rounds": rounds,
        "rows": rows,
        "machine": machine,
    }
    throughput = read_json(args.out / "throughput.json", {}) if not args.quick else {}
    rejax = throughput.get("ppo", {}).get("rejax", {})
    if rejax:
        data["rejax_from_throughput"] = {s: rejax[s]["steps_per_s"] for s in ("1", "8") if s in rejax}
    return publish(args.out, "ppo_floor", data, markdown(data))


if __name__ == "__main__":
    sys.exit(main())
