"""Fixed-seed results stay bit-identical (see ``tests/golden/runs.py``, which records them)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import runs as golden

RECORDED = dict(np.load(golden.GOLDEN))
RUN_NAMES = sorted({key.split("::")[0] for key in RECORDED})


@pytest.mark.parametrize("group", ["agents", "sweeps"])
def test_fixed_seed_results_are_bit_identical(group):
    runs = golden._agent_runs() if group == "agents" else golden._sweep_runs()
    flat = golden.flatten(runs)
    expected = {k: v for k, v in RECORDED.items() if k.split("::")[0] in runs}
    assert set(runs) <= set(RUN_NAMES), sorted(set(runs) - set(RUN_NAMES))
    # every recorded number is still produced, under the same name (new metrics may be added)
    assert not set(expected) - set(flat), sorted(set(expected) - set(flat))
    for key, value in expected.items():
        np.testing.assert_array_equal(flat[key], value, err_msg=key)
