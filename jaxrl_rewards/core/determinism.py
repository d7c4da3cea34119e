"""Batch-exact CPU code generation, so that a run inside ``vmap`` rounds as the run alone.

Why runs drifted under ``vmap`` on CPU (issue 20, item 2), found by bisecting one PPO
iteration alone against the same iteration in ``jit(vmap(...))``:

1. **Division rewrites.** XLA's algebraic simplifier rewrites ``a / broadcast(b)`` into
   ``a * broadcast(1 / b)`` and ``(a / b) / c`` into ``a / (b * c)``; which one fires depends on the
   graph around it. optax's Adam divides each moment by a broadcast bias correction and then
   again, so the batched and the unbatched optimiser step rounded differently (the first
   differing op of a PPO run: the Adam update of a kernel, by 6e-11). Fixed in the code:
   ``core.optim.adam`` / ``radam`` multiply by scalar factors inverted once.
2. **FMA contraction.** XLA's CPU backend lets LLVM fuse ``x * y + z`` into one fused
   multiply-add (one rounding instead of two) wherever both land in the same fused loop, and
   fusion decisions change with batching: alone, ``skip_nonfinite``'s ``lax.cond`` keeps the
   update in a branch of its own; under ``vmap`` it is a select, XLA duplicates the update's last
   multiply (by the learning rate) into ``params + updates`` and LLVM contracts it. An
   ``optimization_barrier`` does not help (the CPU pipeline removes barriers before fusion), and
   any ``mul -> add`` chain of any agent can meet the same fate, so this is fixed in the
   compiler's configuration instead: ``--xla_cpu_max_isa=AVX`` caps the generated code at AVX,
   which has no FMA instructions. XLA's matrix kernels (Eigen / XNNPACK) are precompiled and keep
   their own dispatch, so dense layers keep their speed.

:func:`configure` adds the flag to ``XLA_FLAGS`` when ``jaxrl_rewards`` is imported, before JAX
creates its CPU client; set ``JAXRL_REWARDS_BATCH_EXACT=0`` to opt out, or set your own
``--xla_cpu_max_isa`` (it is then left alone). It cannot act once JAX has created its backends
(a JAX computation ran before ``jaxrl_rewards`` was imported); :func:`batch_exact` tells.
Only x86-64 CPUs get the flag (it names x86 instruction sets).

Two more causes are fixed in the code rather than the flags (2026-12-03):

3. **Reductions over the minibatch.** XLA's CPU reduction loop for ``[B, F] -> [F]`` is
   vectorised differently from the batched ``[R, B, F] -> [R, F]``: DQN and SAC runs of 8-unit
   networks at batch 4 differed in the last bit of their first layers' bias gradients, and a
   default PPO CartPole run inside ``vmap`` drifted after 6 iterations, first in its loss's
   minibatch means. The sums that training depends on are now batch-exact (``core.exact``: sums
   by halving with elementwise adds, which round the same everywhere): Dense bias gradients
   (``core.networks.Dense``, flax's ``Dense`` with the same parameters and forward bits), the
   agents' loss means, PPO's advantage normalisation and the global gradient norm.
4. **Broadcast config leaves.** A sweep chunk used to give every config leaf the run axis, so an
   unswept constant such as CartPole's ``total_mass`` became an ``[R]`` operand and XLA emitted the
   divisions by it differently from the run alone. A chunk now maps only its swept leaves and
   shares the others (``experiments.backends.local.batch_runs``).

With these, every agent's tiny runs, a batch of swept learning rates, a sweep at chunk size 1
vs 4 and issue 20's own case (CartPole PPO defaults, 2 learning rates x 2 seeds, 98,304 steps,
chunk 1 vs 4, which used to differ by up to 286.9 in eval return) are bit-identical
(``tests/test_vmap_determinism.py``). A batch of one is exact because ``core.batching.vmap_exact``
runs it as the function alone. What is not covered: a *swept* leaf
that an op treats like ``total_mass`` (a divisor broadcast into the batch) may still round
differently from the run alone; GPU and TPU code generation is not affected by the flag, and
there batched and unbatched programs may still round differently.
"""

from __future__ import annotations

import os
import platform
from collections.abc import MutableMapping

try:  # JAX's own answer to "has a backend been created yet?" (private, hence the fallback)
    from jax._src.xla_bridge import backends_are_initialized
except ImportError:  # pragma: no cover

    def backends_are_initialized() -> bool:
        """Unknown in this JAX version: assume not."""
        return False

#: The XLA flag that makes CPU code generation batch-exact (no FMA contraction).
FLAG = "--xla_cpu_max_isa=AVX"
#: Environment variable: ``0`` / ``false`` / ``no`` leaves ``XLA_FLAGS`` alone.
OPT_OUT = "JAXRL_REWARDS_BATCH_EXACT"

_state = {"applied": False, "late": False}


def configure(
    environ: MutableMapping[str, str] | None = None, initialized: bool | None = None, machine: str | None = None
) -> bool:
    """Add :data:`FLAG` to ``environ["XLA_FLAGS"]`` (default ``os.environ``) unless the user opted
    out (:data:`OPT_OUT`), already chose an ``--xla_cpu_max_isa``, JAX's backends already exist
    (``initialized``, default: asked from JAX) or the CPU is not x86-64 (``machine``, default
    ``platform.machine()``; the flag names x86 instruction sets). Returns whether the flag is now set."""
    env = os.environ if environ is None else environ
    if (platform.machine() if machine is None else machine).lower() not in ("x86_64", "amd64"):
        return False
    flags = env.get("XLA_FLAGS", "")
    if "--xla_cpu_max_isa" in flags:
        return FLAG in flags.split()
    if env.get(OPT_OUT, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if backends_are_initialized() if initialized is None else initialized:
        if environ is None:
            _state["late"] = True
        return False
    env["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    if environ is None:
        _state["applied"] = True
    return True


def batch_exact() -> bool:
    """Whether this process's CPU code is batch-exact: :data:`FLAG` was in ``XLA_FLAGS`` before
    JAX created its backends (set by :func:`configure` at import, or by the user)."""
    return _state["applied"] or (FLAG in os.environ.get("XLA_FLAGS", "").split() and not _state["late"])


__all__ = ["FLAG", "OPT_OUT", "batch_exact", "configure"]

configure()  # at import, so it runs before anything in jaxrl_rewards can start JAX's backends
