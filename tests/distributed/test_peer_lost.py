"""A peer lost mid-run (SIGKILL) ends every other process started by hand in one line.

Two ``nnbasics train --distributed`` processes started by hand (no launcher
watching them). Every wait is on an event (a checkpoint appearing, a process
ending) with a generous overall deadline for a loaded machine, never a short
window. Backs a row of docs/reliability.md.
"""

import os
import signal
import subprocess
import time

import pytest

from nnbasics import distributed
from tests._helpers.distributed import multiprocess

FOREVER = [
    "train",
    "--dataset",
    "iris",
    "--hidden-sizes",
    "4",
    "--quiet",
    "--epochs",
    "100000",
    "--patience",
    "none",
]
DEADLINE_S = 600.0  # a bound for a loaded machine, never reached when things work
PEER_TIMEOUT_S = 10
pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="needs Linux /proc"
)  # NNBASICS_PEER_TIMEOUT: no heartbeat for this long means lost


def _wait_for(condition, what: str, procs) -> None:
    for _ in range(int(DEADLINE_S / 0.05)):  # counted 50 ms polls: a bound, no clock read
        if condition():
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    if not condition():
        ended = [(p.poll(), p.stderr.read()[-3000:]) for p in procs if p.poll() is not None]
        pytest.fail(f"{what}: not within {DEADLINE_S} s; processes that ended: {ended}")


def _worker(proc) -> int:
    """The process doing the work: the one started, or the child it runs the command in."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == proc.pid:
                return int(entry)
    return proc.pid


@multiprocess
@pytest.mark.slow
@pytest.mark.parametrize("victim", [1, 0], ids=["lost-worker", "lost-coordinator"])
def test_a_peer_killed_mid_run_ends_the_other_in_one_line(victim, tmp_path):
    ckpt = tmp_path / "ckpt"
    argv = [*FOREVER, "--checkpoint-dir", str(ckpt)]
    coordinator = f"127.0.0.1:{distributed.free_port()}"
    env = dict(os.environ, JAX_PLATFORMS="cpu", NNBASICS_PEER_TIMEOUT=str(PEER_TIMEOUT_S))
    procs = [
        subprocess.Popen(
            distributed._command(argv, "nnbasics", i, 2, coordinator),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for i in range(2)
    ]
    survivor = procs[1 - victim]
    try:
        # Process 0 writes a checkpoint after each epoch, which both processes train together.
        _wait_for(lambda: (ckpt / "checkpoint.npz").exists(), "the first checkpoint", procs)
        os.kill(_worker(procs[victim]), signal.SIGKILL)  # as a crash or the OOM killer would
        out, err = survivor.communicate(timeout=DEADLINE_S)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    lines = err.strip().splitlines()
    assert survivor.returncode == 1, (survivor.returncode, err[-3000:])
    assert len(lines) == 1, err[-3000:]
    assert "Traceback" not in err and "Check failure" not in err
    line = lines[0]
    assert line.startswith(f"nnbasics: error: distributed: lost process {victim} of 2"), line
    assert f"process {1 - victim} stopped too" in line, line
    command = " ".join(["nnbasics", *argv]).replace(str(tmp_path), "")
    assert "--resume" in line and f"--process-id {1 - victim}" in line, line
    assert all(part in line for part in command.split()), line


# --- the parts, without processes

HEARTBEAT_ABORT = (
    "E1206 05:57:33.421557   14647 coordination_service.cc:1549] [3615164791671604856] Use "
    "error polling to propagate the following error to all tasks: UNAVAILABLE: The following "
    "tasks are unhealthy (stopped sending heartbeats):\n1\nThe tasks have crashed.\n"
    "F1206 05:57:33.421725   14658 client.h:80] Terminating process because the JAX "
    "distributed service detected fatal errors.\n*** Check failure stack trace: ***\n"
)
COORDINATOR_ABORT = (
    "E1206 06:00:45.114799   17265 coordination_service_agent.cc:289] Polled an error from "
    "coordination service (this can be an error from this or another task).\n"
    "F1206 06:00:45.114821   17265 client.h:80] Terminating process because the JAX "
    "distributed service detected fatal errors. absl::Status: UNAVAILABLE: Failed to send RPC "
    "to coordination service. Either the leader task was preempted/died/restarted unexpectedly\n"
)


def test_the_lost_process_is_read_from_jaxs_fatal_error():
    from nnbasics.distributed._launcher import _lost_in

    assert _lost_in(HEARTBEAT_ABORT, 0)[0] == 1
    assert _lost_in(COORDINATOR_ABORT, 1) == (
        0,
        "the connection to its coordination service closed",
    )
    assert _lost_in("F1206 client.h:80] Terminating process because", 0)[0] is None


def test_the_resume_hint_is_this_command_with_resume():
    from nnbasics.cli import _resume_hint

    argv = ["train", "--checkpoint-dir", "my ckpt", "--overwrite", "--process-id", "1"]
    assert _resume_hint(argv) == (
        "to resume from the last checkpoint, start every process again with --resume, this "
        "one as: nnbasics train --checkpoint-dir 'my ckpt' --process-id 1 --resume"
    )
    assert _resume_hint([*argv[:3], "--resume"]).endswith("--checkpoint-dir 'my ckpt' --resume")
    assert _resume_hint(["train"]).startswith("no checkpoint to resume from: pass --checkpoint-dir")


class _Ended:
    def poll(self):
        return -6


def test_relay_passes_output_through_and_holds_jaxs_log_from_its_first_line():
    import io
    import queue

    from nnbasics.distributed._launcher import _relay

    chunks: queue.Queue = queue.Queue()
    head = "epoch 3 of 100000\nW1206-like text mid-line: "
    for chunk in (head, "not a log line\n" + COORDINATOR_ABORT[:50], COORDINATOR_ABORT[50:]):
        chunks.put(chunk.encode())
    chunks.put(None)
    out = io.BytesIO()
    held = _relay(chunks, _Ended(), out)
    assert out.getvalue().decode() == head + "not a log line\n"
    assert held.decode() == COORDINATOR_ABORT
