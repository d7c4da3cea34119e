"""Training-throughput benchmark of rejax's PPO (peer library), via its public API.

Run with the rejax venv's interpreter (create it with setup_rejax.sh):

    benchmarks/peers/.venv-rejax/bin/python benchmarks/peers/rejax_ppo.py \
        --env CartPole-v1 --total-timesteps 100000 --seeds 8

Prints exactly one JSON line on stdout; all logging goes to stderr.

Timing protocol
---------------
* The train function is ``jax.jit(algo.train)`` (``jax.jit(jax.vmap(algo.train))``
  over ``--seeds`` PRNG keys when S > 1).
* ``compile_s``: wall time of the first call, incl. ``block_until_ready``
  (= tracing + XLA compilation + one full training run).
* ``run_s_median``: median wall time of ``--repeats`` further calls.
* ``steps_per_s`` = total_timesteps * seeds / run_s_median (the *requested*
  timesteps; rejax rounds up to whole iterations, see ``timesteps_executed``).

Evaluation
----------
rejax's ``train`` interleaves evaluations (``eval_freq``, default every 4096
steps, plus an initial one). We set ``eval_freq = total_timesteps`` and
``skip_initial_evaluation=True`` so the training loop is one block of
``ceil(N / (num_envs*num_steps))`` iterations followed by one evaluation.
By default (``--eval final-untimed``) that single evaluation is removed from the
timed function (``algo.replace(eval_callback=no-op)``, the customisation hook
rejax documents), and rejax's own default eval callback (128 episodes,
``rejax.evaluate.evaluate`` with the agent's ``act``) is then run once on the
final train state, outside the timing. ``--eval final-in-call`` keeps it inside
the timed call instead.

Note: rejax's PPO ``act`` for discrete actions *samples* from the policy, so its
own evaluation return is of the stochastic policy. We additionally report
``final_returns_greedy``: the same ``rejax.evaluate.evaluate`` with a greedy
act (argmax over actions of the actor's public ``log_prob_entropy``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import time
import warnings


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--total-timesteps", type=int, default=100_000)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    p.add_argument("--num-envs", type=int, default=4)
    p.add_argument("--num-steps", type=int, default=128)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatches", type=int, default=4)
    p.add_argument("--hidden", default="64,64", help="comma-separated layer sizes")
    p.add_argument("--activation", default="tanh", help="name of a flax.linen activation")
    p.add_argument("--lr", type=float, default=2.5e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--gae-lambda", type=float, default=0.95)
    p.add_argument("--clip-eps", type=float, default=0.2)
    p.add_argument("--ent-coef", type=float, default=0.01)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--max-grad-norm", type=float, default=0.5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--eval",
        choices=["final-untimed", "final-in-call"],
        default="final-untimed",
        help="final-untimed: no eval inside the timed train call, rejax's eval "
        "callback run once afterwards (default); final-in-call: rejax's single "
        "final eval stays inside the timed call",
    )
    a = p.parse_args(argv)
    if a.seeds < 1 or a.repeats < 1 or a.total_timesteps < 1:
        p.error("--seeds, --repeats and --total-timesteps must be >= 1")
    return a


def log(*msg):
    print("[rejax_ppo]", *msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    real_stdout = sys.stdout
    # Anything a library prints goes to stderr; stdout carries only the JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), file=real_stdout, flush=True)
    return 0


def run(args) -> dict:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from importlib import metadata

    import jax
    import jax.numpy as jnp
    from rejax import PPO
    from rejax.evaluate import evaluate

    hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    n, s = args.total_timesteps, args.seeds

    config = {
        "env": args.env,
        "total_timesteps": n,
        "num_envs": args.num_envs,
        "num_steps": args.num_steps,
        "num_epochs": args.epochs,
        "num_minibatches": args.minibatches,
        "learning_rate": args.lr,  # constant: rejax PPO has no LR annealing
        "gamma": args.gamma,
        "gae_lambda": args.gae_lambda,
        "clip_eps": args.clip_eps,
        "ent_coef": args.ent_coef,
        "vf_coef": args.vf_coef,
        "max_grad_norm": args.max_grad_norm,
        "agent_kwargs": {"hidden_layer_sizes": hidden, "activation": args.activation},
        # rejax defaults, set explicitly: no obs / reward normalisation.
        "normalize_observations": False,
        "normalize_rewards": False,
        # One training block of ceil(N / (num_envs*num_steps)) iterations, then
        # one evaluation; no initial evaluation.
        "eval_freq": n,
        "skip_initial_evaluation": True,
    }
    algo = PPO.create(**config)
    # rejax default eval: evaluate(act, rng, env, params, 128, max_steps)
    rejax_eval = algo.eval_callback

    if args.eval == "final-untimed":
        train_algo = algo.replace(eval_callback=lambda _algo, _ts, _rng: ())
    else:
        train_algo = algo

    iter_steps = args.num_envs * args.num_steps
    iters = math.ceil(n / iter_steps)
    log(
        f"rejax {metadata.version('rejax')}, jax {jax.__version__}, devices {jax.devices()}; "
        f"env {args.env}, N={n}, seeds={s}, {iters} iterations x {iter_steps} steps "
        f"= {iters * iter_steps} executed per seed, eval={args.eval}"
    )

    keys = jax.random.split(jax.random.PRNGKey(args.seed), s)
    if s == 1:
        train_fn = jax.jit(lambda k: train_algo.train(k[0]))
    else:
        train_fn = jax.jit(jax.vmap(train_algo.train))

    t0 = time.perf_counter()
    out = jax.block_until_ready(train_fn(keys))
    compile_s = time.perf_counter() - t0
    log(f"first call (compile + 1 run): {compile_s:.3f}s")

    times = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(train_fn(keys))
        times.append(time.perf_counter() - t0)
        log(f"repeat {i + 1}/{args.repeats}: {times[-1]:.3f}s")
    run_s = statistics.median(times)

    ts, evaluation = out
    if s == 1:  # add the seed axis back so everything below is (S, ...)
        ts, evaluation = jax.tree.map(lambda x: x[None], (ts, evaluation))

    # rejax's own evaluation of the final policy (128 episodes per seed).
    if args.eval == "final-untimed":
        eval_fn = jax.jit(jax.vmap(lambda t: rejax_eval(algo, t, t.rng)))
        _lengths, returns = eval_fn(ts)  # (S, 128)
    else:
        _lengths, returns = evaluation  # (S, num_evals=1, 128)
        returns = returns[:, -1]
    final_returns = [float(r) for r in jnp.mean(returns, axis=-1)]

    # Greedy evaluation with the same rejax evaluator (argmax_a log pi(a|s)).
    greedy = None
    if algo.discrete:
        n_act = int(algo.action_dim)
        max_steps = algo.env_params.max_steps_in_episode

        def greedy_eval(t):
            def act(obs, rng):
                o = jnp.broadcast_to(obs[None], (n_act, *obs.shape))
                logp, _ = algo.actor.apply(t.actor_ts.params, o, jnp.arange(n_act), method="log_prob_entropy")
                return jnp.argmax(logp)

            return evaluate(act, t.rng, algo.env, algo.env_params, 128, max_steps)

        _gl, greturns = jax.jit(jax.vmap(greedy_eval))(ts)
        greedy = [float(r) for r in jnp.mean(greturns, axis=-1)]

    executed = [int(g) for g in jnp.ravel(ts.global_step)]
    log(f"final returns (rejax eval, stochastic policy): {final_returns}")
    log(f"final returns (greedy): {greedy}")

    return {
        "library": "rejax",
        "version": metadata.version("rejax"),
        "jax_version": jax.__version__,
        "env": args.env,
        "seeds": s,
        "total_timesteps": n,
        "compile_s": round(compile_s, 4),
        "run_s_median": round(run_s, 4),
        "steps_per_s": round(n * s / run_s, 1),
        "final_return_mean": statistics.fmean(final_returns),
        "final_returns": final_returns,
        # extras
        "run_s_all": [round(t, 4) for t in times],
        "timesteps_executed": executed[0],
        "eval": args.eval,
        "eval_policy": "stochastic (rejax PPO act samples)",
        "final_returns_greedy": greedy,
        "final_return_greedy_mean": statistics.fmean(greedy) if greedy else None,
        "gymnax_version": metadata.version("gymnax"),
        "device": str(jax.devices()[0]),
    }


if __name__ == "__main__":
    sys.exit(main())
