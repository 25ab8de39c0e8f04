"""Processes: one writer per output file, signals to the launcher, processes that disagree.

Every test here starts other processes and waits for them with a bound (a few
seconds configured for the test, generous timeouts only as a safety net);
none asserts how fast anything is.
"""

import os
import signal
import subprocess
import sys
import time

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


# ------------------------------------------------------------------ signals to the launcher


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _until(condition, seconds: float) -> bool:
    """Whether ``condition()`` became true within about ``seconds`` (a bound, not a speed
    claim): counted 50 ms polls, so no test reads a clock (tests/test_claims_more.py)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_signal_to_launch_stops_every_worker(sig, tmp_path):
    launch = ["-m", "nnbasics", "launch", "-n", "2", "--cpu-devices", "1", "--log-dir"]
    train = [*QUICK, "--epochs", "100000", "--patience", "none"]
    launcher = subprocess.Popen(
        [sys.executable, *launch, str(tmp_path), "--", *train],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _until(lambda: len(_children(launcher.pid)) == 2, 120), "workers did not start"
        workers = _children(launcher.pid)
        launcher.send_signal(getattr(signal, sig))
        _, err = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    try:
        assert _until(lambda: not any(map(_alive, workers)), 30), "a worker outlived the launcher"
    finally:
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)
    assert launcher.returncode == 128 + getattr(signal, sig), err
    assert err.strip().splitlines()[-1] == (
        f"nnbasics: error: launch: stopped by {sig}; its 2 processes were stopped"
    )
    assert "Traceback" not in err


# ------------------------------------------------------------------ processes that disagree


def _distributed_pair(tmp_path, given, timeout):
    """Two ``nnbasics train --distributed`` processes given ``[(num_processes, process_id)] * 2``.

    Returns [(exit status, stderr)] once both ended (a safety bound of 180 s).
    """
    from nnbasics import distributed

    coordinator = f"127.0.0.1:{distributed.free_port()}"
    env = dict(os.environ, JAX_PLATFORMS="cpu", NNBASICS_INIT_TIMEOUT=str(timeout))
    procs = [
        subprocess.Popen(
            distributed._command(QUICK, "nnbasics", i, n, coordinator),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for n, i in given
    ]
    try:
        return [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.slow
def test_processes_given_different_counts_are_refused_in_one_line(tmp_path):
    ended = _distributed_pair(tmp_path, [(2, 0), (3, 1)], timeout=60)
    for (code, err), (mine, theirs, other) in zip(ended, [(2, 3, 1), (3, 2, 0)]):
        assert code == 2, err
        me = 1 - other
        assert err.strip().splitlines()[-1] == (
            "nnbasics: error: num_processes: expected the same number of processes in every "
            f"process ({mine} in process {me}), received {theirs} in process {other}"
        ), err
        assert "Traceback" not in err


@pytest.mark.slow
def test_duplicate_process_ids_end_in_one_line_within_the_timeout(tmp_path):
    # Both processes wait inside JAX's start-up for a process 1 that never comes. Each
    # ends after the timeout with our one line, or, where its peer's exit reaches it
    # first, with JAX's own fatal error (SIGABRT): it no longer hangs either way.
    ended = _distributed_pair(tmp_path, [(2, 0), (2, 0)], timeout=5)
    ours = [code == 1 for code, _ in ended]
    assert any(ours), ended
    for (code, err), mine in zip(ended, ours):
        if mine:
            assert (
                err.strip()
                .splitlines()[-1]
                .startswith(
                    "nnbasics: error: distributed: process 0 of 2 did not join the coordinator at "
                )
            ), err
            assert "within 5 s: another process given the same process id" in err
            assert "Traceback" not in err
        else:
            assert code == -signal.SIGABRT, (code, err)
