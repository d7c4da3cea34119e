"""Fixed-seed results stay bit-identical (see ``tests/golden/runs.py``, which records them).

Bits are checked against the recording of the CPU the test runs on (``golden/machines.json``);
on a CPU with no recording, every number must agree with each recording to float32 rounding, and
the test says which check it made (``-rA`` shows it).

The runs are computed in a subprocess at the library's default XLA flags: the rest of the suite
compiles at LLVM -O0 (``tests/conftest.py``), which rounds differently."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import runs as golden
from conftest import default_flags_env

REFERENCE, MACHINES = golden.recordings()
RECORDINGS = {entry["file"]: dict(np.load(golden.GOLDEN.with_name(entry["file"]))) for entry in MACHINES.values()}
RUN_NAMES = sorted({key.split("::")[0] for key in RECORDINGS[REFERENCE]})


def _expected(runs: set[str], recorded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    expected = {k: v for k, v in recorded.items() if k.split("::")[0] in runs}
    assert set(runs) <= set(RUN_NAMES), sorted(set(runs) - set(RUN_NAMES))
    return expected


@pytest.mark.slow  # every agent, the quickstart and a sweep, recompiled at the default flags in a subprocess
@pytest.mark.parametrize("group", ["agents", "sweeps"])
def test_fixed_seed_results_are_bit_identical(group, tmp_path):
    out = tmp_path / f"{group}.npz"
    command = [sys.executable, golden.__file__, "--group", group, "--out", str(out)]
    subprocess.run(command, env=default_flags_env(), check=True)
    flat = dict(np.load(out))
    runs = {key.split("::")[0] for key in flat}
    signature = golden.machine_signature()
    own = MACHINES.get(signature)
    files = [own["file"]] if own else sorted(RECORDINGS)
    for file in files:
        expected = _expected(runs, RECORDINGS[file])
        # every recorded number is still produced, under the same name (new metrics may be added)
        assert not set(expected) - set(flat), sorted(set(expected) - set(flat))
        for key, value in expected.items():
            if own:
                np.testing.assert_array_equal(flat[key], value, err_msg=f"{key} ({file})")
            else:
                np.testing.assert_allclose(flat[key], value, rtol=1e-4, atol=1e-6, err_msg=f"{key} ({file})")
    if not own:
        warnings.warn(
            f"no golden recording for this CPU ({golden.cpu_description()}, signature {signature}): "
            f"checked to float32 rounding against {files}, not bit for bit; "
            "`python tests/golden/runs.py` records it",
            stacklevel=1,
        )


def test_machine_signature_names_the_cpu_and_jaxlib():
    import jaxlib

    description = golden.cpu_description()
    assert description.endswith(f"jaxlib {jaxlib.__version__}")
    signature = golden.machine_signature()
    assert len(signature) == 12 and int(signature, 16) >= 0
    assert REFERENCE in RECORDINGS and all(Path(golden.GOLDEN.with_name(e["file"])).exists() for e in MACHINES.values())
