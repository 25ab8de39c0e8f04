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


class _Aborted:
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
    held = _relay(chunks, _Aborted(), out)
    assert out.getvalue().decode() == head + "not a log line\n"
    assert held.decode() == COORDINATOR_ABORT


class _Store:
    """A stand-in for JAX's distributed client: a key-value store, failing when ``down``."""

    def __init__(self, values=(), beats=None, on_read=None):
        self.values, self.down, self.reads = dict(values), False, 0
        self.beats = beats  # (process, count): that process beats at the first count reads
        self.on_read = on_read  # called with the number of reads so far

    def _beat(self):
        if self.beats is not None and self.beats[1] > 0:
            self.values[f"nnbasics/peers/alive/{self.beats[0]}"] = str(self.beats[1])
            self.beats = (self.beats[0], self.beats[1] - 1)

    def key_value_set(self, key, value, allow_overwrite=False):
        if self.down:
            raise RuntimeError("UNAVAILABLE: Socket closed")
        self.values[key] = value

    def key_value_dir_get(self, prefix):
        if self.down:
            raise RuntimeError("UNAVAILABLE: Socket closed")
        self._beat()
        self.reads += 1
        if self.on_read is not None:
            self.on_read(self.reads)
        return [(k, v) for k, v in self.values.items() if k.startswith(prefix)]


class _Ended(Exception):
    pass


def _watch(monkeypatch, store, me, n):
    """Runs a peer watch on ``store`` (1 s timeout) here; returns its ending's line, or ""."""
    from nnbasics.distributed import _runtime

    def end(message, code=1):
        assert code == 1
        raise _Ended(message)

    monkeypatch.setattr(_runtime, "_end", end)
    try:
        _runtime._PeerWatch(store, me, n, 1)._run()  # in this thread: until it ends or returns
    except _Ended as e:
        return str(e)
    return ""


def test_watch_names_the_silent_peer_not_the_finished_one(monkeypatch):
    # Process 1 finished at the start; process 2 beats for 3 reads, then falls silent.
    store = _Store({"nnbasics/peers/alive/1": "done"}, beats=(2, 3))
    assert _watch(monkeypatch, store, 0, 3).startswith(
        "distributed: lost process 2 of 3 (no heartbeat for 1 s: killed, crashed or cut off), "
        "so process 0 stopped too; "
    )
    assert store.values["nnbasics/peers/lost"] == "2 no heartbeat for 1 s"  # for the others


def test_watch_names_the_peer_another_process_found_lost(monkeypatch):
    store = _Store({"nnbasics/peers/lost": "2 no heartbeat for 1 s"})
    assert _watch(monkeypatch, store, 1, 3).startswith(
        "distributed: lost process 2 of 3 (no heartbeat for 1 s: "
    )


def test_watch_takes_a_silent_store_for_a_lost_coordinator_unless_shut_down(monkeypatch):
    from jax._src import distributed as jax_distributed

    store = _Store()
    store.down = True
    monkeypatch.setattr(jax_distributed.global_state, "client", store)
    assert _watch(monkeypatch, store, 1, 2).startswith(
        "distributed: lost process 0 of 2, the coordinator (its key-value store stopped answering"
    )
    monkeypatch.setattr(jax_distributed.global_state, "client", None)  # jax.distributed.shutdown()
    assert _watch(monkeypatch, store, 1, 2) == ""


def test_watch_stalled_itself_restarts_its_clocks_instead_of_blaming_its_peers(monkeypatch):
    # Every process suspended at once (a paused machine): at the 3rd read this process's
    # clock has jumped 100 s while process 1's last beat is from the 2nd read. Blaming it
    # then would end a healthy run; the watch restarts its clocks and names it only once
    # it stayed silent for the timeout after the stall, at a later read.
    import time

    # A stand-in clock (tests read none): a read every 0.2 s, the watch's interval
    # at a 1 s timeout; the 3rd read comes 100 s late.
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])

    def on_read(reads):
        clock[0] += 0.2 + (100.0 if reads == 3 else 0.0)

    store = _Store(beats=(1, 2), on_read=on_read)
    assert _watch(monkeypatch, store, 0, 2).startswith("distributed: lost process 1 of 2 ")
    assert store.reads > 3


def test_finish_waits_for_the_watch_to_leave_the_client_then_marks_the_process_done():
    # A watch thread still inside the client's C++ at the interpreter's exit aborts a
    # finished process: finish (run at exit) returns only once the thread has left it.
    import threading
    import time

    from nnbasics.distributed import _runtime

    inside = threading.Event()

    def slow_read(reads):
        inside.set()
        time.sleep(0.5)

    store = _Store(on_read=slow_read)
    watch = _runtime._PeerWatch(store, 0, 2, 5)
    watch.thread.start()
    assert inside.wait(10)
    watch.finish()
    assert not watch.thread.is_alive()
    assert store.values["nnbasics/peers/alive/0"] == "done"
