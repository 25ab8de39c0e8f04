"""``nnbasics launch``: one training run in two processes."""

import os
import subprocess
import sys

from tests._helpers.distributed import multiprocess


@multiprocess
def test_cli_launch_trains_one_run_in_two_processes_and_process_0_writes(tmp_path):
    model, history = tmp_path / "m.npz", tmp_path / "h.csv"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnbasics",
            "launch",
            "-n",
            "2",
            "--cpu-devices",
            "2",
            "--log-dir",
            str(tmp_path / "logs"),
            "--timeout",
            "240",
            "--",
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "3",
            "--quiet",
            "--save",
            str(model),
            "--history",
            str(history),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "results" in out.stdout and model.is_file() and history.is_file()
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["checkpoint.npz"]
    assert sorted(os.listdir(tmp_path / "logs")) == ["process-0.log", "process-1.log"]
