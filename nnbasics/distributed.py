"""Multi-process training over JAX's distributed runtime: start-up, agreement, one writer, launcher.

The same program runs in every process (SPMD). Each process calls
:func:`initialize` before any other JAX call, loads the same data with the same
key, and passes ``mesh=global_mesh()`` to ``nb.fit``, which then runs one global
program over every process's devices: each minibatch is split across all of
them and the gradients are all-reduced (over gloo on CPU, NCCL on GPU).

- :func:`initialize`: the coordinator address, number of processes and process
  id from the arguments, from the environment (``JAX_COORDINATOR_ADDRESS``,
  which JAX reads itself, with ``NNBASICS_NUM_PROCESSES`` and
  ``NNBASICS_PROCESS_ID``, set by :func:`launch`), or from a cluster JAX
  detects (SLURM, Open MPI, Cloud TPU, Kubernetes with ``jax[k8s]``).
- :func:`agree`: before training, ``fit`` makes every process compare a
  fingerprint of its configuration, its data (the checkpoint meta's SHA-256 of
  X and y of each split), its resume epoch and its starting state through the
  coordinator's key-value store, so a
  disagreement is one ``ValueError`` naming the field and the processes,
  raised before any collective (JAX's own check is an ``AssertionError`` from
  inside ``device_put``, or a hang).
- One writer: :func:`is_writer` (process 0) alone writes checkpoints, model
  files and history; the other processes wait at a barrier at the end of
  ``fit`` so that every process can resume from the same, finished file.
- :func:`launch` (and :func:`launch_main`, the ``nnbasics launch`` command):
  N processes on this machine, a free localhost port, one log file each, a
  timeout, and a clear failure (exit status and the tail of the failing
  process's log) when one process dies, the others stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, overload

import jax
import numpy as np

from nnbasics import _checks

__all__ = [
    "AGREEMENT_TIMEOUT_S",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "LaunchError",
    "LaunchResult",
    "add_arguments",
    "agree",
    "barrier",
    "disagreement",
    "fingerprint",
    "free_port",
    "from_args",
    "global_mesh",
    "initialize",
    "is_writer",
    "launch",
    "launch_main",
    "parse_coordinator",
    "replicate",
]

ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"  # JAX's own variable
ENV_NUM_PROCESSES = "NNBASICS_NUM_PROCESSES"
ENV_PROCESS_ID = "NNBASICS_PROCESS_ID"
AGREEMENT_TIMEOUT_S = 300
LOG_NAME = "process-{}.log"

# Keys of the agreement exchange and barrier names must be unique per call and
# equal across processes: every process makes the same calls in the same order
# (SPMD), so a per-process counter numbers them alike.
_SEQUENCE = itertools.count()


# ------------------------------------------------------------------ start-up


def parse_coordinator(text, name: str = "coordinator") -> str:
    """``text`` if it is ``HOST:PORT`` with a port from 1 to 65535 (ValueError naming ``name``).

    Examples:
      >>> parse_coordinator("10.0.0.1:1234")
      '10.0.0.1:1234'
      >>> parse_coordinator("10.0.0.1")
      Traceback (most recent call last):
      ...
      ValueError: coordinator: ...
    """
    host, sep, port = str(text).rpartition(":")
    if not (isinstance(text, str) and sep and host and port.isdigit() and 1 <= int(port) <= 65535):
        _checks.fail(name, "HOST:PORT with a port from 1 to 65535", repr(text))
    return text


@overload
def _setting(
    value: str | None, name: str, env: str, integer: Literal[False] = False
) -> tuple[str, str | None]: ...


@overload
def _setting(
    value: int | None, name: str, env: str, integer: Literal[True]
) -> tuple[str, int | None]: ...


def _setting(value, name: str, env: str, integer: bool = False):
    """(where it came from, value): the argument when given, else environment variable ``env``.

    With ``integer`` the variable's text is read as an int (ValueError naming ``env`` if it is not).
    """
    if value is not None:
        return name, value
    text = os.environ.get(env) or None
    if text is None or not integer:
        return env, text
    try:
        return env, int(text)
    except ValueError:
        _checks.fail(env, "an integer", repr(text))


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    **options,
) -> None:
    """Starts JAX's distributed runtime in this process; call it before any other JAX call.

    Each value comes from the argument, else the environment
    (``JAX_COORDINATOR_ADDRESS``, ``NNBASICS_NUM_PROCESSES``,
    ``NNBASICS_PROCESS_ID``), else from a cluster that ``jax.distributed.initialize``
    detects (SLURM, Open MPI, Cloud TPU). A second call does nothing.

    Args:
      coordinator: ``HOST:PORT`` of process 0's coordinator service.
      num_processes: number of processes (≥ 1).
      process_id: this process's index, 0 .. num_processes − 1.
      **options: passed on to ``jax.distributed.initialize`` (e.g.
        ``heartbeat_timeout_seconds``, ``initialization_timeout``, ``local_device_ids``).

    Raises:
      ValueError: a malformed value (naming the argument or variable), or
        values missing where no cluster is detected.
    """
    c_name, coordinator = _setting(coordinator, "coordinator", ENV_COORDINATOR)
    n_name, num_processes = _setting(num_processes, "num_processes", ENV_NUM_PROCESSES, True)
    p_name, process_id = _setting(process_id, "process_id", ENV_PROCESS_ID, True)
    if coordinator is not None:
        parse_coordinator(coordinator, c_name)
    if num_processes is not None:
        num_processes = _checks.positive_int(n_name, num_processes)
    if process_id is not None:
        process_id = _checks.non_negative_int(p_name, process_id)
        if num_processes is not None and process_id >= num_processes:
            _checks.fail(
                p_name, f"an integer from 0 to {num_processes - 1} ({n_name} - 1)", process_id
            )
    if jax.distributed.is_initialized():
        return
    try:
        jax.distributed.initialize(coordinator, num_processes, process_id, **options)
    except ValueError as e:  # JAX: a value is missing and no cluster was detected
        raise ValueError(
            "distributed: expected a coordinator address, a number of processes and a process "
            "id (arguments, --coordinator/--num-processes/--process-id, JAX_COORDINATOR_ADDRESS "
            f"with {ENV_NUM_PROCESSES} and {ENV_PROCESS_ID}, or a SLURM, Open MPI or Cloud TPU "
            f"job), received too few ({' '.join(str(e).split())})"
        ) from None


def global_mesh():
    """A 1-D ``jax.sharding.Mesh`` with axis "data" over every device of every process."""
    from jax.sharding import Mesh

    return Mesh(np.array(jax.devices()), ("data",))


def is_writer() -> bool:
    """Whether this process writes files (checkpoints, model files, history): process 0 only.

    Examples:
      >>> is_writer()  # one process: process 0 writes
      True
    """
    return jax.process_index() == 0


def replicate(tree, sharding):
    """``tree``'s arrays placed with ``sharding`` (fit: replicated over its mesh).

    With one process this is ``jax.device_put``. With several, every process
    holds the same values (:func:`agree` has compared their hashes), so each
    builds its own shards from its local copy, without ``device_put``'s
    cross-process equality check: an all-gather of every leaf (0.4 s for fit's
    24 small leaves on 2 CPU processes), the whole data set included.
    """
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, tree)


# ------------------------------------------------------------- agreement


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict:
    """{field: text}, nested dicts by key ("optimizer.learning_rate", "data.train")."""
    out = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = _text(value)
    return out


def fingerprint(config: Mapping[str, Any], *, epoch: int, state_hash: str, mesh=None) -> dict:
    """What the processes must agree on before training, as {field: text}; no communication.

    Args:
      config: JSON-able settings compared by value, nested dicts by key (fit:
        its checkpoint meta, with a SHA-256 of each split, and epochs).
      epoch: the epoch training starts from (0, or the checkpoint's).
      state_hash: a hash of the starting training state (parameters, optimizer state, key).
      mesh: the ``jax.sharding.Mesh`` trained on, compared by axes and device ids.

    Returns:
      Fields in the order a disagreement is reported: configuration (data
      hashes included), mesh, resume epoch, starting state, so that a cause
      comes before its effects.

    Examples:
      >>> fields = fingerprint({"lr": 0.1, "data": {"train": "9f2c"}}, epoch=3, state_hash="abc")
      >>> fields["lr"], fields["data.train"], fields["resume epoch"]
      ('0.1', '9f2c', '3')
    """
    fields = _flatten(config)
    fields["mesh"] = (
        "None"
        if mesh is None
        else _text({"axes": dict(mesh.shape), "devices": [int(d.id) for d in mesh.devices.flat]})
    )
    fields["resume epoch"] = str(int(epoch))
    fields["starting state (hash of parameters, optimizer state, key)"] = state_hash
    return fields


_HINT = {
    "resume epoch": "each process resumes from the checkpoint in its checkpoint_dir, which "
    "process 0 writes: share that directory or copy it to every host"
}
_DEFAULT_HINT = "every process must call fit with the same arguments, data, key and checkpoint"


def disagreement(fingerprints: Sequence[Mapping[str, str]]) -> str | None:
    """The first field on which the processes' fingerprints differ, as one line; None if none.

    ``fingerprints[i]`` is process i's :func:`fingerprint`. The line names the
    field and, for each distinct value, the processes holding it.

    Examples:
      >>> same = fingerprint({"lr": 0.1}, epoch=0, state_hash="abc")
      >>> other = fingerprint({"lr": 0.2}, epoch=0, state_hash="abc")
      >>> disagreement([same, same]) is None
      True
      >>> disagreement([same, other])
      'lr: expected the same value in all 2 processes before training, received process 0: 0.1; process 1: 0.2 ...'
    """
    order = list(fingerprints[0])
    fields = order + sorted(set().union(*fingerprints) - set(order))
    for field in fields:
        seen = [f.get(field, "<missing>") for f in fingerprints]
        if len(set(seen)) == 1:
            continue
        holders: dict = {}
        for i, value in enumerate(seen):
            holders.setdefault(value, []).append(str(i))
        received = "; ".join(
            f"process{'es' if len(ids) > 1 else ''} {', '.join(ids)}: {_short(value)}"
            for value, ids in holders.items()
        )
        return (
            f"{field}: expected the same value in all {len(fingerprints)} processes before "
            f"training, received {received} ({_HINT.get(field, _DEFAULT_HINT)})"
        )
    return None


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def agree(
    config: Mapping[str, Any],
    *,
    epoch: int,
    state_hash: str,
    mesh=None,
    timeout: float = AGREEMENT_TIMEOUT_S,
) -> None:
    """Checks that every process starts the same training, before any collective runs.

    Each process publishes its :func:`fingerprint` in the coordinator's
    key-value store and reads everyone's (no device, no compiled program), so
    every process raises the same error. Arguments as :func:`fingerprint`.

    Raises:
      ValueError: the processes disagree (see :func:`disagreement`).
      RuntimeError: a process did not arrive within ``timeout`` seconds.
    """
    fields = fingerprint(config, epoch=epoch, state_hash=state_hash, mesh=mesh)
    message = disagreement(_exchange(fields, timeout))
    if message is not None:
        raise ValueError(message)


def _client():
    # JAX keeps the runtime's client in its private global state; no public accessor.
    from jax._src import distributed as jax_distributed

    client = jax_distributed.global_state.client
    if client is None:
        raise RuntimeError(
            "distributed: expected JAX's distributed runtime to be running "
            "(nnbasics.distributed.initialize()), received a process without it"
        )
    return client


def _exchange(fields: Mapping[str, str], timeout: float) -> list[dict]:
    """Every process's ``fields`` in process order, through the coordinator's key-value store."""
    client = _client()
    prefix = f"nnbasics/agree/{next(_SEQUENCE)}/"
    client.key_value_set(prefix + str(jax.process_index()), json.dumps(fields))
    out = []
    for i in range(jax.process_count()):
        try:
            out.append(
                json.loads(client.blocking_key_value_get(prefix + str(i), int(timeout * 1000)))
            )
        except RuntimeError as e:  # JaxRuntimeError: DEADLINE_EXCEEDED, or the service is gone
            raise RuntimeError(
                f"distributed: process {i} did not reach the agreement check "
                f"before training within {timeout:g} s ({_first_line(e)})"
            ) from None
    return out


def barrier(name: str, timeout: float = AGREEMENT_TIMEOUT_S) -> None:
    """Returns when every process has reached this barrier (at once with one process)."""
    if jax.process_count() == 1:
        return
    try:
        _client().wait_at_barrier(f"nnbasics/{next(_SEQUENCE)}/{name}", int(timeout * 1000))
    except RuntimeError as e:
        raise RuntimeError(
            f"distributed: not every process reached {name!r} within "
            f"{timeout:g} s ({_first_line(e)})"
        ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# ------------------------------------------------------------------ command line


def _int_option(minimum: int):
    """An argparse type: an integer ≥ ``minimum``, else a message naming expected and received."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {minimum}, received {text!r}")
        return value

    return parse


def _coordinator_option(text: str) -> str:
    try:
        return parse_coordinator(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--distributed``, ``--coordinator HOST:PORT``, ``--num-processes N``, ``--process-id I``."""
    g = parser.add_argument_group(
        "distributed",
        "several processes, one training run (JAX's distributed runtime); see "
        "docs/distributed.md and 'nnbasics launch'",
    )
    g.add_argument(
        "--distributed",
        action="store_true",
        help="join a multi-process run: coordinator, process count and id from the "
        "options below, JAX_COORDINATOR_ADDRESS/NNBASICS_NUM_PROCESSES/"
        "NNBASICS_PROCESS_ID, or the cluster (SLURM, Open MPI, Cloud TPU)",
    )
    g.add_argument(
        "--coordinator",
        type=_coordinator_option,
        default=None,
        metavar="HOST:PORT",
        help="process 0's address and a free port (with --distributed)",
    )
    g.add_argument(
        "--num-processes",
        type=_int_option(1),
        default=None,
        metavar="N",
        help="number of processes (with --distributed)",
    )
    g.add_argument(
        "--process-id",
        type=_int_option(0),
        default=None,
        metavar="I",
        help="this process's id, 0..N-1 (with --distributed)",
    )


def from_args(args: argparse.Namespace) -> bool:
    """Initializes the runtime when ``args`` (from :func:`add_arguments`) ask for it.

    Call it before any other JAX call. Returns whether this is a distributed run.

    Raises:
      ValueError: ``--coordinator``, ``--num-processes`` or ``--process-id``
        without ``--distributed``, or a bad value (see :func:`initialize`).
    """
    given = [
        flag
        for flag, value in (
            ("--coordinator", args.coordinator),
            ("--num-processes", args.num_processes),
            ("--process-id", args.process_id),
        )
        if value is not None
    ]
    if not args.distributed:
        if given:
            _checks.fail(given[0], "to come with --distributed", "it without --distributed")
        return False
    initialize(args.coordinator, args.num_processes, args.process_id)
    return True


# ------------------------------------------------------------------ local launcher


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
        _checks.fail("argv", "a sequence of strings", argv)
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
        with _signals_stop():
            try:
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
                            )
                        )
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
        yield
        return
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            raise _Signalled(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
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
