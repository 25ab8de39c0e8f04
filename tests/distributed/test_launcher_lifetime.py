"""No worker outlives its launcher; workers stop on SIGTERM; a busy coordinator port is one line.

Every wait here is on an event (a process ending, a file appearing), each
with a generous overall deadline for a loaded machine, never a short window.
Each test backs a row of docs/reliability.md.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

QUICK = ["train", "--dataset", "iris", "--hidden-sizes", "4", "--quiet"]
FOREVER = [*QUICK, "--epochs", "100000", "--patience", "none"]
LAUNCH = [sys.executable, "-m", "nnbasics", "launch", "-n", "2", "--cpu-devices", "1"]
DEADLINE_S = 600.0  # a bound for a loaded machine, never reached when things work


def wait_for(condition, what: str, deadline_s: float = DEADLINE_S) -> None:
    for _ in range(int(deadline_s / 0.05)):  # counted 50 ms polls: a bound, no clock read
        if condition():
            return
        time.sleep(0.05)
    if not condition():
        pytest.fail(f"{what}: not within {deadline_s} s")


def children(pid: int) -> list[int]:
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


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start(tmp_path, *train):
    launcher = subprocess.Popen(
        [*LAUNCH, "--log-dir", str(tmp_path / "logs"), "--", *train],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: len(children(launcher.pid)) == 2, "both workers started")
    return launcher, children(launcher.pid)


def _cleanup(launcher, workers) -> None:
    if launcher.poll() is None:
        launcher.kill()
        launcher.wait()
    for pid in filter(alive, workers):
        os.kill(pid, signal.SIGKILL)


def test_sigkill_of_launch_ends_every_worker(tmp_path):
    ckpt = tmp_path / "ckpt"
    launcher, workers = _start(tmp_path, *FOREVER, "--checkpoint-dir", str(ckpt))
    try:
        wait_for(lambda: (ckpt / "checkpoint.npz").exists(), "the first checkpoint")
        launcher.kill()  # SIGKILL: no handler of the launcher runs
        launcher.wait()
        wait_for(lambda: not any(map(alive, workers)), "every worker ended")
    finally:
        _cleanup(launcher, workers)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_signal_to_launch_stops_every_worker(sig, tmp_path):
    launcher, workers = _start(tmp_path, *FOREVER)
    try:
        launcher.send_signal(getattr(signal, sig))
        wait_for(lambda: launcher.poll() is not None, "the launcher ended")
        err = launcher.stderr.read()
        wait_for(lambda: not any(map(alive, workers)), "every worker ended")
    finally:
        _cleanup(launcher, workers)
    assert launcher.returncode == 128 + getattr(signal, sig), err
    assert err.strip().splitlines()[-1] == (
        f"nnbasics: error: launch: stopped by {sig}; its 2 processes were stopped"
    )
    assert "Traceback" not in err


def test_sigterm_to_a_worker_ends_it_in_one_line_with_its_checkpoint(tmp_path):
    from nnbasics import checkpoint

    ckpt = tmp_path / "ckpt"
    launcher, workers = _start(tmp_path, *FOREVER, "--checkpoint-dir", str(ckpt))
    try:
        wait_for(lambda: (ckpt / "checkpoint.npz").exists(), "the first checkpoint")
        writer = min(workers)  # process 0 starts first and writes the checkpoint
        os.kill(writer, signal.SIGTERM)
        wait_for(lambda: launcher.poll() is not None, "the launcher ended")
        err = launcher.stderr.read()
        wait_for(lambda: not any(map(alive, workers)), "every worker ended")
    finally:
        _cleanup(launcher, workers)
    assert launcher.returncode == 130, err
    assert "exited with status 130" in err and "Traceback" not in err
    log = (tmp_path / "logs" / "process-0.log").read_text()
    assert log.strip().splitlines()[-1].startswith("nnbasics: interrupted"), log[-2000:]
    manifest, _ = checkpoint._read(str(ckpt))  # whole and readable
    assert manifest["epoch"] >= 1


def test_coordinator_port_in_use_is_refused_in_one_line(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [*QUICK, "--epochs", "1", "--distributed", "--coordinator", f"127.0.0.1:{port}"]
        proc = subprocess.run(
            [sys.executable, "-m", "nnbasics", *argv, "--num-processes", "1", "--process-id", "0"],
            capture_output=True,
            text=True,
            env=dict(os.environ, JAX_PLATFORMS="cpu"),
            timeout=DEADLINE_S,
        )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert f"port {port} is in use" in lines[0] and lines[0].startswith(
        "nnbasics: error: coordinator:"
    )


# --- launch's timeout and settings, each without a window a loaded machine could miss


def _python(code: str) -> list:
    return ["-c", "import os, sys, time; i = int(os.environ['NNBASICS_PROCESS_ID']); " + code]


def test_launch_passes_its_settings(tmp_path):
    from nnbasics import distributed

    distributed.launch(
        2,
        _python(
            "print(os.environ['JAX_COORDINATOR_ADDRESS'], os.environ['NNBASICS_NUM_PROCESSES'],"
            " os.environ['JAX_NUM_CPU_DEVICES'], i, flush=True)"
        ),
        module=None,
        log_dir=tmp_path,
        timeout=DEADLINE_S,
        cpu_devices=3,
    )
    logs = [(tmp_path / f"process-{i}.log").read_text().split() for i in range(2)]
    assert logs[0][:3] == logs[1][:3] and logs[0][0].startswith("127.0.0.1:")
    assert logs[0][1:] == ["2", "3", "0"] and logs[1][1:] == ["2", "3", "1"]


def test_launch_times_out_and_stops_the_processes(tmp_path):
    from nnbasics import distributed

    with pytest.raises(distributed.LaunchError, match=r"did not finish within 1 s") as failure:
        distributed.launch(
            2, _python("time.sleep(100000)"), module=None, log_dir=tmp_path, timeout=1
        )
    assert failure.value.returncode is None


@pytest.mark.parametrize("arrival", ["signal", "handler run"])
def test_a_stop_signal_while_the_processes_start_stops_every_one(monkeypatch, tmp_path, arrival):
    # SIGTERM arrives right after the second process is forked, before the launcher
    # has recorded it: it must wait until it is, so both are named and stopped. A
    # process-directed signal may reach another thread (JAX starts several), and Python
    # then runs the handler in the main thread although that thread blocks the signal:
    # "handler run" runs it there at that moment, as Python does.
    from nnbasics.distributed import _launcher

    real = subprocess.Popen
    started = []

    def popen(*args, **kwargs):
        child = real(*args, **kwargs)
        started.append(child)
        if len(started) == 2:
            if arrival == "signal":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                handler = signal.getsignal(signal.SIGTERM)
                assert callable(handler)
                handler(signal.SIGTERM, None)
        return child

    monkeypatch.setattr(_launcher.subprocess, "Popen", popen)
    sleeper = ["-c", "import time; time.sleep(600)"]
    try:
        with pytest.raises(_launcher.LaunchError) as e:
            _launcher.launch(2, sleeper, module=None, log_dir=tmp_path)
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert str(e.value).startswith("launch: stopped by SIGTERM; its 2 processes were stopped")
    assert [child.returncode for child in started] == [-signal.SIGTERM] * 2
