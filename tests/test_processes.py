"""Processes: one writer per output file, signals to the launcher, processes that disagree.

Every test here starts other processes and waits for them with a bound (a few
seconds configured for the test, generous timeouts only as a safety net);
none asserts how fast anything is.
"""

import os
import subprocess
import sys

import pytest

from nnbasics import _files, cli

pytestmark = pytest.mark.multiprocess

_RESERVE = """
import sys
from nnbasics import _files
with _files.reserve(sys.argv[1], "--save"):
    print("reserved", flush=True)
    sys.stdin.read()
"""

QUICK = ["train", "--dataset", "iris", "--hidden-sizes", "4", "--epochs", "1", "--quiet"]


def test_model_path_in_use_by_another_run_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("fcntl")
    path = tmp_path / "m.npz"
    holder = subprocess.Popen(
        [sys.executable, "-c", _RESERVE, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"reserved"
        code = cli.main([*QUICK, "--save", str(path)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.strip().splitlines() == [
            f"nnbasics: error: --save: expected a file no other run is writing, received "
            f"'{path}', in use by another run (wait for it to end, or choose another file)"
        ]
        assert not path.exists()
    finally:
        holder.communicate(b"", timeout=60)
    # Free once the other run ends; this run's own mark is gone after it.
    assert cli.main([*QUICK, "--save", str(path)]) == 0, capsys.readouterr().err
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_killed_runs_mark_does_not_block_the_next(tmp_path, capsys):
    pytest.importorskip("fcntl")
    path = tmp_path / "m.npz"
    holder = subprocess.Popen(
        [sys.executable, "-c", _RESERVE, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout.readline().strip() == b"reserved"
    holder.kill()
    holder.wait(timeout=60)
    assert len(_files.temporary_files(str(path))) == 1  # the dead run's mark
    assert cli.main([*QUICK, "--save", str(path)]) == 0, capsys.readouterr().err
    assert os.listdir(tmp_path) == ["m.npz"]  # removed by the write
