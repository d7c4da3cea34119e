"""The one harness every benchmark script uses: logging, arguments, the machine record, reports
and timed training through the library (modules ``cli``, ``machine``, ``report``, ``training``,
``timing``, ``peers``; everything is re-exported here).

Scripts run as ``python benchmarks/<name>.py`` (``benchmarks/`` is then first on ``sys.path``,
so they ``import harness``); the smoke tests import them the same way and call
``main(["--quick", "--out", tmp])`` in-process.

* ``log(message)``: one timestamped, flushed line on stderr, ``[<script> <seconds>s] message``.
* ``make_parser`` / ``parse_args``: every script has ``--quick`` (tiny sizes, seconds) and
  ``--out DIR`` (default ``benchmarks/results``; with ``--quick`` a temp dir, so a smoke test
  never overwrites the committed results). ``--out-dir`` is kept as an alias.
* ``machine_info``: CPUs, versions, backend, devices, XLA flags and load average.
* ``write_report``: ``<name>.json`` and ``<name>.md`` written atomically (``publish``: and the
  markdown printed)
  (``jaxrl_rewards.core.files``); ``markdown_table`` builds the short tables.
* Training: ``train_runs`` goes through ``jaxrl_rewards.experiments.runner.train_seeds``
  (one ``jit(vmap(train_segment))`` per segment, metrics ``[S, ...]`` as numpy). What the runner
  cannot do lives here once: ``compile_training`` (an ahead-of-time compiled
  ``runner.vmapped(agent, "train")``, for final states and for timing), ``train_batched``
  (configs with a batch axis), ``interleaved_rounds`` and ``ratio_summary`` (timing rounds with
  the order rotated, ratios as medians of per-round ratios) and the rejax peer subprocesses.
"""

from jaxrl_rewards.core.files import atomic_write_bytes, atomic_write_text, write_figure
from jaxrl_rewards.core.validation import ConfigError

from .cli import QUICK_DIR, RESULTS_DIR, ROOT, args_record, elapsed, log, make_parser, parse_args
from .machine import loadavg, machine_info
from .peers import PEERS_DIR, REJAX_PYTHON, ensure_rejax, peer_compile_s, run_peer_json
from .report import markdown_table, publish, read_json, strict_json, write_json, write_report
from .timing import interleaved_rounds, ratio_summary, rotated
from .training import QUICK_PPO, CompiledTraining, compile_training, seed_keys, train_batched, train_runs

__all__ = [
    "PEERS_DIR",
    "QUICK_DIR",
    "QUICK_PPO",
    "REJAX_PYTHON",
    "RESULTS_DIR",
    "ROOT",
    "CompiledTraining",
    "ConfigError",
    "args_record",
    "atomic_write_bytes",
    "atomic_write_text",
    "compile_training",
    "elapsed",
    "ensure_rejax",
    "interleaved_rounds",
    "loadavg",
    "log",
    "machine_info",
    "make_parser",
    "markdown_table",
    "parse_args",
    "peer_compile_s",
    "publish",
    "ratio_summary",
    "read_json",
    "rotated",
    "run_peer_json",
    "seed_keys",
    "strict_json",
    "train_batched",
    "train_runs",
    "write_figure",
    "write_json",
    "write_report",
]
