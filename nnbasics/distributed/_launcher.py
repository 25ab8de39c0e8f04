"""The local launcher behind ``nnbasics.distributed.launch`` and ``nnbasics launch``.

N processes of one distributed program on this machine: a free localhost
port, one log file each, a timeout, process 0's log echoed as it grows, and a
clear failure (exit status and the tail of the failing process's log) when
one process dies, the others stopped; SIGTERM and SIGHUP to the launcher stop
them too. Re-exported by :mod:`nnbasics.distributed`, where it is documented.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import NamedTuple

from nnbasics import _checks
from nnbasics.distributed._runtime import (
    ENV_COORDINATOR,
    ENV_NUM_PROCESSES,
    ENV_PROCESS_ID,
    ENV_WATCHED,
    _int_option,
    lost_message,
)

__all__ = [
    "LOG_NAME",
    "LaunchError",
    "LaunchResult",
    "free_port",
    "launch",
    "launch_main",
    "supervise",
]

LOG_NAME = "process-{}.log"


class LaunchResult(NamedTuple):
    """What :func:`launch` returns when every process exits with status 0.

    Attributes:
      logs: each process's log file (its stdout and stderr), in process order.
      seconds: wall time from the first start to the last exit.
    """

    logs: tuple
    seconds: float


class LaunchError(RuntimeError):
    """A launched process failed, or the launch timed out; the other processes were stopped.

    Attributes:
      process: the failing process's id (None on a timeout).
      returncode: its exit status (−k: killed by signal k; None on a timeout).
      logs: every process's log file.
    """

    def __init__(self, message: str, process: int | None, returncode: int | None, logs):
        super().__init__(message)
        self.process, self.returncode, self.logs = process, returncode, tuple(logs)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (chosen by the operating system).

    Examples:
      >>> 0 < free_port() < 65536
      True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _command(argv: Sequence[str], module: str | None, i: int, n: int, coordinator: str) -> list:
    if module is None:
        return [sys.executable, *argv]
    return [
        sys.executable,
        "-m",
        module,
        *argv,
        "--distributed",
        "--coordinator",
        coordinator,
        "--num-processes",
        str(n),
        "--process-id",
        str(i),
    ]


def _environment(i: int, n: int, coordinator: str, cpu_devices: int | None, env) -> dict:
    out = dict(os.environ, **(env or {}))
    out.update(
        {
            ENV_COORDINATOR: coordinator,
            "JAX_COORDINATOR_BIND_ADDRESS": coordinator,
            ENV_NUM_PROCESSES: str(n),
            ENV_PROCESS_ID: str(i),
            ENV_WATCHED: "launch",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if cpu_devices is not None:
        out.update(JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(cpu_devices))
    return out


def launch(
    n: int,
    argv: Sequence[str],
    *,
    module: str | None = "nnbasics",
    log_dir=None,
    timeout: float = 600.0,
    cpu_devices: int | None = None,
    env=None,
    echo=None,
    poll: float = 0.05,
) -> LaunchResult:
    """Runs ``n`` processes of one distributed program on this machine and waits for all of them.

    Process i runs ``python -m <module> <argv> --distributed --coordinator
    127.0.0.1:PORT --num-processes n --process-id i`` (e.g. ``argv = ["train",
    "--epochs", "5"]``), or with ``module=None`` ``python <argv>`` (a script,
    or ``-c`` code, that calls :func:`initialize` without arguments); its
    environment carries the same settings (``JAX_COORDINATOR_ADDRESS``,
    ``NNBASICS_NUM_PROCESSES``, ``NNBASICS_PROCESS_ID``), the coordinator bound to
    localhost only, on a port free when the launch starts.

    Args:
      n: number of processes (≥ 1).
      argv: the command's arguments (strings).
      module: the module run with ``python -m``, or None for plain ``python <argv>``.
      log_dir: directory of the logs ``process-<i>.log`` (default: a new temporary one).
      timeout: seconds before every process is stopped and LaunchError raised.
      cpu_devices: run on CPU with this many devices per process
        (``JAX_PLATFORMS=cpu``, ``JAX_NUM_CPU_DEVICES``); None: JAX's default devices.
      env: extra environment variables for every process.
      echo: a text stream (e.g. ``sys.stdout``) that receives process 0's log as it grows.
      poll: seconds between looks at the processes.

    Returns:
      A LaunchResult (log files, seconds) once every process exited with status 0.

    Raises:
      LaunchError: a process exited with another status (the others are then
        stopped at once: SIGTERM, SIGKILL after 5 s), or ``timeout`` passed;
        its message holds the exit status and the tail of that process's log.
        SIGTERM or SIGHUP to the launcher (in the main thread) stops every
        process the same way and raises it with ``returncode`` −signal.
      ValueError: a bad argument.
    """
    _checks.positive_int("n", n)
    if isinstance(argv, (str, bytes)) or not all(isinstance(a, str) for a in argv):
        _checks.fail("argv", "a sequence of strings", _checks.shown(argv))
    _checks.real_in("timeout", timeout, 0.0, float("inf"), lo_open=True)
    if cpu_devices is not None:
        _checks.positive_int("cpu_devices", cpu_devices)
    directory = (
        tempfile.mkdtemp(prefix="nnbasics-launch-") if log_dir is None else os.fspath(log_dir)
    )
    os.makedirs(directory, exist_ok=True)
    logs = tuple(os.path.join(directory, LOG_NAME.format(i)) for i in range(n))
    coordinator = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    processes: list = []
    try:
        with _signals_stop() as hold:
            try:
                # A stop signal while the processes start waits until each is recorded
                # (one arriving between a fork and its record would miss that process):
                # blocked in this thread (each child gets the mask back before it runs)
                # and held in Python, for a signal that another thread of this process
                # receives (Python runs its handler in the main thread all the same).
                mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
                try:
                    with hold():
                        for i, path in enumerate(logs):
                            with open(path, "wb") as log:
                                processes.append(
                                    subprocess.Popen(
                                        _command(argv, module, i, n, coordinator),
                                        stdout=log,
                                        stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL,
                                        env=_environment(i, n, coordinator, cpu_devices, env),
                                        start_new_session=True,
                                        preexec_fn=_child_setup(os.getpid(), mask),
                                    )
                                )
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                _wait(processes, logs, start + timeout, timeout, echo, poll)
            finally:
                _stop(processes)
    except _Signalled as e:
        name = signal.Signals(e.signum).name
        raise LaunchError(
            f"launch: stopped by {name}; its {len(processes)} processes were stopped",
            None,
            -e.signum,
            logs,
        ) from None
    return LaunchResult(logs, time.monotonic() - start)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _child_setup(parent: int, mask):
    """The children's ``preexec_fn``: the launcher's signal mask from before the starts, and
    the death signal of :func:`_die_with`."""
    die_with = _die_with(parent)

    def setup():
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if die_with is not None:
            die_with()

    return setup


def _die_with(parent: int):
    """A ``preexec_fn`` that makes the child get SIGTERM when ``parent`` dies (Linux), or None.

    ``prctl(PR_SET_PDEATHSIG)``: even a SIGKILL of the launcher, which no
    handler of its own sees, ends its workers (each stops as on SIGTERM). A
    parent that died before the call is caught by its pid no longer being
    the child's parent. Linux sends it when the thread that started the child
    ends: ``launch`` waits for its processes in that same thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_death_signal():
        prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


class _Signalled(BaseException):
    """SIGTERM or SIGHUP reached the launcher (a BaseException, as KeyboardInterrupt is)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_stop(signals=(signal.SIGTERM, signal.SIGHUP)):
    """Turns ``signals`` into ``_Signalled`` for the block, as Ctrl-C is KeyboardInterrupt.

    So ``timeout``, a batch scheduler or a closed terminal stops the launched
    processes (in their own sessions, out of the launcher's process group)
    instead of orphaning them. Only the first signal raises, so a second cannot
    interrupt the stopping. Handlers are set in the main thread only.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield contextlib.nullcontext
        return
    raised: list = []
    held: list = []  # [pending signal or None] while held

    def handler(signum, frame):
        if raised:
            return
        if held:
            held[0] = held[0] or signum
            return
        raised.append(signum)
        raise _Signalled(signum)

    @contextlib.contextmanager
    def hold():
        """Defers a stop signal to the end of the block (raised there)."""
        held.append(None)
        try:
            yield
        finally:
            pending = held.pop()
            if pending is not None and not raised:
                raised.append(pending)
                raise _Signalled(pending)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield hold
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _wait(processes, logs, deadline: float, timeout: float, echo, poll: float) -> None:
    """Returns when every process exited with 0; raises LaunchError at the first failure."""
    shown = 0
    while True:
        codes = [p.poll() for p in processes]
        if echo is not None:
            shown = _echo(logs[0], shown, echo)
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            i = failed[0]
            raise LaunchError(
                f"launch: process {i} of {len(processes)} exited with status "
                f"{_describe_status(codes[i])}; the other processes were stopped. "
                f"Last lines of {logs[i]}:\n{_tail(logs[i])}",
                i,
                codes[i],
                logs,
            )
        if all(code == 0 for code in codes):
            return
        if time.monotonic() > deadline:
            raise LaunchError(
                f"launch: the {len(processes)} processes did not finish within "
                f"{timeout:g} s and were stopped (a hung collective?). Last lines "
                f"of {logs[0]}:\n{_tail(logs[0])}",
                None,
                None,
                logs,
            )
        time.sleep(poll)


def _echo(path: str, offset: int, stream) -> int:
    """Writes what ``path`` gained since ``offset`` to ``stream``; returns the new offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        new = f.read()
    if new:
        stream.write(new.decode(errors="replace"))
        stream.flush()
    return offset + len(new)


def _tail(path: str, lines: int = 20) -> str:
    with open(path, "rb") as f:
        text = f.read().decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


def _describe_status(code: int) -> str:
    if code < 0:
        try:
            return f"{code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"{code} (killed by signal {-code})"
    return str(code)


def _stop(processes, grace: float = 5.0) -> None:
    """SIGTERM to each still-running process's group (its own session), SIGKILL after ``grace`` s."""
    running = [p for p in processes if p.poll() is None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
        end = time.monotonic() + grace
        while time.monotonic() < end and any(p.poll() is None for p in running):
            time.sleep(0.02)
        running = [p for p in running if p.poll() is None]
        if not running:
            return


# ------------------------------------------------------------------ one process started by hand

# A line of JAX's C++ log (absl): severity (error, fatal, warning), date, time, thread, file:line].
_JAX_LOG = re.compile(rb"(?m)^[EFW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]")
_OUR_LINE = re.compile(rb"^nnbasics: (?:error|interrupted).*$", re.MULTILINE)
_HELD_S = 5.0  # JAX's fatal ending follows its first error line within milliseconds


def supervise(argv: Sequence[str], process_id: int | None, n: int | None) -> int:
    """Runs ``python -m nnbasics ARGV`` in a child process and reports its ending in one line.

    For a distributed process started by hand: where a lost peer makes JAX
    abort the child (its coordinator gone, or its heartbeat check fired), with
    a fatal error and a stack trace of many lines, this process prints one
    line instead, naming the lost process and how to resume (see
    :func:`lost_message`). Everything else the child writes passes through as
    it comes; its stdout and stdin are this process's own. SIGTERM and SIGHUP
    are passed on to the child, which gets SIGTERM if this process dies; Ctrl-C
    reaches the child from the terminal.

    Returns:
      The child's exit status (128 + signal if a signal ended it), 1 for a lost peer.
    """
    import queue
    import threading

    env = dict(os.environ, **{ENV_WATCHED: "1"})
    if sys.stderr.isatty():  # the child's progress bar goes through a pipe
        env.setdefault("FORCE_TERMINAL", "1")
        env.setdefault("COLUMNS", str(os.get_terminal_size(sys.stderr.fileno()).columns))
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT,)}
    child = subprocess.Popen(
        [sys.executable, "-m", "nnbasics", *argv],
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_die_with(os.getpid()),
    )
    stderr = child.stderr
    assert stderr is not None
    for s in (signal.SIGTERM, signal.SIGHUP):
        previous[s] = signal.signal(s, lambda signum, frame: child.send_signal(signal.SIGTERM))
    chunks: queue.Queue = queue.Queue()

    def read():
        while chunk := os.read(stderr.fileno(), 65536):
            chunks.put(chunk)
        chunks.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        held = _relay(chunks, child, sys.stderr.buffer)
        code = child.wait()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    ours = _OUR_LINE.findall(held)
    if ours and code != 0:  # the child's own one line ends its text: JAX's log before it goes
        held = ours[-1] + b"\n"
    elif b"Terminating process because" in held:  # JAX's distributed client, any version
        lost, why = _lost_in(held.decode(errors="replace"), process_id)
        held, code = f"nnbasics: error: {lost_message(lost, n, process_id, why)}\n".encode(), 1
    elif code < 0:
        held += f"nnbasics: error: ended with status {_describe_status(code)}\n".encode()
    sys.stderr.buffer.write(held)
    sys.stderr.flush()
    return 128 - code if code < 0 else code


def _relay(chunks, child, out) -> bytes:
    """Writes the child's stderr to ``out`` as it comes until it closes; returns what it held.

    From a line of JAX's C++ log on, the text is held back: for a moment
    (``_HELD_S``) while the child runs on, to the end if the child ends,
    since it may be the start of JAX's fatal ending. A last, unfinished line
    that may begin such a line waits for the rest (one quiet 0.1 s at most);
    any other text, a progress bar without a newline too, passes at once.
    """
    import queue

    held, tail, since, mid_line = b"", b"", 0.0, False
    while True:
        try:
            chunk = chunks.get(timeout=0.1)
        except queue.Empty:
            chunk = b""
        if chunk is None:
            return held + tail
        data, tail = tail + chunk, b""
        if held:
            held += data
        elif data:
            found = _JAX_LOG.search(data, 1 if mid_line else 0)
            cut = len(data) if found is None else found.start()
            last = data.rfind(b"\n") + 1
            if found is None and chunk and (last or not mid_line) and len(data) - last < 64:
                cut = last if data[last : last + 1] in (b"E", b"F", b"W") else cut
            out.write(data[:cut])
            out.flush()
            mid_line = not data[:cut].endswith(b"\n") if cut else mid_line
            if found is None:
                tail = data[cut:]
            else:
                held, since = data[cut:], time.monotonic()
        if held and time.monotonic() - since > _HELD_S and child.poll() is None:
            out.write(held)  # not an ending: the child goes on
            out.flush()
            held, mid_line = b"", not held.endswith(b"\n")


def _lost_in(text: str, me: int | None) -> tuple[int | None, str]:
    """(the lost process, why) from the fatal error JAX ended a process with."""
    found = re.search(r"stopped sending heartbeats\):\s*(\d+)", text) or re.search(
        r"Task (\d+) heartbeat timeout", text
    )
    if found is not None:
        return int(found.group(1)), "JAX's coordination service got no heartbeat from it"
    if me != 0 and ("coordination service" in text or "leader task" in text):
        return 0, "the connection to its coordination service closed"
    return None, "JAX's distributed service reported a failed process"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors raise ValueError instead of printing the usage and exiting."""

    def error(self, message):
        raise ValueError(message)


def _launch_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="nnbasics launch",
        description=(
            "Start N processes of one distributed nnbasics command on this machine (a free "
            "localhost port, one log file per process, process 0's log shown as it runs); when "
            "one process fails, stop the others and show its exit status and the end of its log."
        ),
        epilog="example: nnbasics launch -n 2 --cpu-devices 2 -- train --epochs 20",
    )
    p.add_argument(
        "-n",
        "--num-processes",
        dest="n",
        type=_int_option(1),
        required=True,
        metavar="N",
        help="number of processes",
    )
    p.add_argument(
        "--log-dir",
        default=None,
        metavar="DIR",
        help="where process-<i>.log go (default: a new temporary directory)",
    )
    p.add_argument(
        "--timeout",
        type=_int_option(1),
        default=3600,
        metavar="S",
        help="stop every process after S seconds (default 3600)",
    )
    p.add_argument(
        "--cpu-devices",
        type=_int_option(1),
        default=None,
        metavar="K",
        help="run on CPU with K devices per process (to try data parallelism on "
        "a machine without accelerators)",
    )
    return p


def _exit_status(code: int | None) -> int:
    """A launcher exit status from a process's: its own, 128 + signal, or 124 for a timeout."""
    if code is None:
        return 124
    return 128 - code if code < 0 else code


def launch_main(argv: Sequence[str] | None = None) -> int:
    """``nnbasics launch -n N [--log-dir DIR] [--timeout S] [--cpu-devices K] -- COMMAND ...``.

    Runs ``nnbasics COMMAND ... --distributed ...`` in N processes through
    :func:`launch`, process 0's output shown as it runs. Returns the exit
    status: 0, 2 for a bad command line (one line on stderr), or the failing
    process's status (128 + signal if killed, 124 on a timeout).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    own, command = argv[:cut], argv[cut + 1 :]
    try:
        args = _launch_parser().parse_args(own)
        if not command:
            _checks.fail(
                "COMMAND", "a command after --, e.g. 'nnbasics launch -n 2 -- train'", "none"
            )
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except ValueError as e:
        print(f"nnbasics: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="nnbasics-launch-")
    print(f"nnbasics launch: {args.n} processes, logs in {log_dir}", file=sys.stderr)
    try:
        result = launch(
            args.n,
            command,
            log_dir=log_dir,
            timeout=args.timeout,
            cpu_devices=args.cpu_devices,
            echo=sys.stdout,
        )
    except LaunchError as e:
        print(f"nnbasics: error: {e}", file=sys.stderr)
        return _exit_status(e.returncode)
    print(
        f"nnbasics launch: {args.n} processes finished in {result.seconds:.1f} s", file=sys.stderr
    )
    return 0
