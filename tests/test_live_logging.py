"""Live logging from inside the compiled, vmapped chunk: TensorBoard and W&B (offline), per run."""

import struct

import numpy as np
import pytest
from conftest import TINY_SWEEP

from jaxrl_rewards.experiments.live_logging import Monitor, TensorBoardLogger, WandbLogger
from jaxrl_rewards.experiments.sweep import run_sweep

SPEC = TINY_SWEEP


def read_scalars(event_file):
    """tag -> {step: value} from a TensorBoard event file (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    data = event_file.read_bytes()
    out, pos = {}, 0
    while pos < len(data):
        (length,) = struct.unpack("<Q", data[pos : pos + 8])
        event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + length])
        pos += 12 + length + 4
        for value in event.summary.value:
            out.setdefault(value.tag, {})[event.step] = value.simple_value
    return out


class Recorder:
    def __init__(self):
        self.rows = []

    def log(self, run, labels, step, scalars):
        self.rows.append((run, dict(labels), step, dict(scalars)))

    def close(self):
        pass


def test_monitor_interval_selects_iterations():
    recorder = Recorder()
    monitor = Monitor([recorder], {3: {"seed": 1}}, iterations_per_segment=4, interval=2)
    monitor(3, 1, {"loss": np.arange(4.0), "eval/return/task": np.float32(7.0)})
    monitor.close()  # written by a background thread: wait for it
    assert [(r[2], r[3]) for r in recorder.rows] == [
        (5, {"loss": 1.0}),
        (7, {"loss": 3.0}),
        (7, {"eval/return/task": 7.0}),
    ]
    with pytest.raises(ValueError, match="interval"):
        Monitor(interval=0)


@pytest.mark.slow
def test_tensorboard_and_wandb_get_every_run_of_the_vmapped_chunk(tmp_path):
    recorder = Recorder()
    loggers = [TensorBoardLogger(tmp_path / "tb"), WandbLogger(tmp_path / "wandb", project="t"), recorder]
    try:
        result = run_sweep(SPEC, tmp_path / "store", progress=False, loggers=loggers, log_interval=1)
    finally:
        for logger in loggers:
            logger.close()
    frame = result.frame
    assert {row[0] for row in recorder.rows} == {0, 1, 2, 3}  # every run of both chunks
    run_dirs = sorted((tmp_path / "tb").iterdir())
    assert len(run_dirs) == 4 and "learning_rate=0.03" in run_dirs[-1].name and "seed=1" in run_dirs[-1].name
    # the values logged from inside the compiled call equal the stored results
    logged = read_scalars(next(run_dirs[-1].glob("events.out.tfevents.*")))
    stored = frame[frame["run"] == 3].set_index("iteration")
    for tag in ("loss/value", "train/episode_return", "eval/return/task"):
        assert sorted(logged[tag]) == [0, 1]
        np.testing.assert_allclose([logged[tag][i] for i in (0, 1)], stored[tag].to_numpy(), rtol=1e-6)
    offline = list((tmp_path / "wandb" / "wandb").glob("offline-run-*"))
    assert len(offline) == 4 and all(list(run.glob("*.wandb")) for run in offline)
