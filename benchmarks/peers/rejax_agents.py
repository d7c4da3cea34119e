"""Training-throughput of rejax's DQN, PQN and SAC (peer library), via its public API.

Run with the rejax venv's interpreter (create it with setup_rejax.sh):

    benchmarks/peers/.venv-rejax/bin/python benchmarks/peers/rejax_agents.py \
        --algo dqn --env CartPole-v1 --total-timesteps 50000 --seeds 4 --config '{"num_envs": 10}'

``--config`` is a JSON dict of rejax ``create`` options. Prints one JSON line on stdout.
Protocol (as ``rejax_ppo.py``): ``jax.jit(jax.vmap(algo.train))`` over ``--seeds`` keys, with
``eval_freq = total_timesteps``, no initial evaluation and the evaluation callback replaced by
a no-op (rejax's documented hook), so the timed call is training only. ``compile_s`` is the
first call (compile + one run); ``run_s_median`` the median of ``--repeats`` further calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
import warnings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--algo", choices=["dqn", "pqn", "sac"], required=True)
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--total-timesteps", type=int, default=50_000)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--config", default="{}")
    args = p.parse_args(argv)
    real_stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), file=real_stdout, flush=True)
    return 0


def run(args) -> dict:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from importlib import metadata

    import jax
    from rejax import DQN, PQN, SAC

    algo_cls = {"dqn": DQN, "pqn": PQN, "sac": SAC}[args.algo]
    config = {
        "env": args.env,
        "total_timesteps": args.total_timesteps,
        "eval_freq": args.total_timesteps,
        "skip_initial_evaluation": True,
        **json.loads(args.config),
    }
    algo = algo_cls.create(**config).replace(eval_callback=lambda _a, _ts, _rng: ())
    keys = jax.random.split(jax.random.PRNGKey(0), args.seeds)
    train_fn = jax.jit(jax.vmap(algo.train))
    t0 = time.perf_counter()
    out = jax.block_until_ready(train_fn(keys))
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(train_fn(keys))
        times.append(time.perf_counter() - t0)
    run_s = statistics.median(times)
    executed = int(out[0].global_step.reshape(-1)[0])
    return {
        "algo": args.algo,
        "env": args.env,
        "rejax_version": metadata.version("rejax"),
        "jax_version": jax.__version__,
        "seeds": args.seeds,
        "total_timesteps": args.total_timesteps,
        "timesteps_executed": executed,
        "compile_s": compile_s,
        "run_s_all": times,
        "run_s_median": run_s,
        "steps_per_s": executed * args.seeds / run_s,
        "config": config,
    }


if __name__ == "__main__":
    sys.exit(main())
