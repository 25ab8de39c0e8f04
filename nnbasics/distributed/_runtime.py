"""JAX's distributed runtime: start-up, agreement, one writer (part of ``nnbasics.distributed``)."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NoReturn, overload

import jax
import numpy as np

from nnbasics import _checks

__all__ = [
    "AGREEMENT_TIMEOUT_S",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "add_arguments",
    "agree",
    "barrier",
    "disagreement",
    "fingerprint",
    "from_args",
    "global_mesh",
    "initialize",
    "is_writer",
    "parse_coordinator",
    "replicate",
]

ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"  # JAX's own variable
ENV_NUM_PROCESSES = "NNBASICS_NUM_PROCESSES"
"""The environment variable holding the number of processes of a run."""
ENV_PROCESS_ID = "NNBASICS_PROCESS_ID"
"""The environment variable holding this process's index, 0 to the number less one."""
ENV_INIT_TIMEOUT = "NNBASICS_INIT_TIMEOUT"
ENV_PEER_TIMEOUT = "NNBASICS_PEER_TIMEOUT"
ENV_WATCHED = "NNBASICS_WATCHED"
"""Set in a process whose parent watches it (``nnbasics launch``, or a process started by hand)."""
PEER_TIMEOUT_S = 30
"""Seconds without a heartbeat from a peer process before it counts as lost."""
AGREEMENT_TIMEOUT_S = 300
"""Seconds an agreement check or barrier waits for every process before it fails."""
INIT_TIMEOUT_S = 300

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
    timeout: int | None = None,
    **options,
) -> None:
    """Starts JAX's distributed runtime in this process; call it before any other JAX call.

    Each value comes from the argument, else the environment
    (``JAX_COORDINATOR_ADDRESS``, ``NNBASICS_NUM_PROCESSES``,
    ``NNBASICS_PROCESS_ID``), else from a cluster that ``jax.distributed.initialize``
    detects (SLURM, Open MPI, Cloud TPU). A second call does nothing.

    With several processes, each then watches its peers through heartbeats in
    the coordinator's key-value store: a peer silent for ``NNBASICS_PEER_TIMEOUT``
    seconds (default 30) ends this process with one line on stderr naming it
    and how to resume, and exit status 1.

    Args:
      coordinator: ``HOST:PORT`` of process 0's coordinator service.
      num_processes: number of processes (≥ 1).
      process_id: this process's index, 0 .. num_processes − 1.
      timeout: seconds for every process to join (else ``NNBASICS_INIT_TIMEOUT``,
        else 300); past it the process ends with one line on stderr and
        status 1 (the same process id given twice, for one, hangs in JAX).
      **options: passed on to ``jax.distributed.initialize`` (e.g.
        ``heartbeat_timeout_seconds``, ``initialization_timeout``, ``local_device_ids``).

    Raises:
      ValueError: a malformed value (naming the argument or variable),
        values missing where no cluster is detected, or processes given
        different numbers of processes (after they joined).
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
    t_name, timeout = _setting(timeout, "timeout", ENV_INIT_TIMEOUT, True)
    timeout = _checks.positive_int(t_name, INIT_TIMEOUT_S if timeout is None else timeout)
    # JAX's own timeout ends the process with a fatal error and a stack trace: ours comes first.
    options.setdefault("initialization_timeout", timeout + 30)
    who = "this process" if process_id is None else f"process {process_id}"
    if num_processes is not None:
        who += f" of {num_processes}"
    if process_id == 0 and coordinator is not None:
        _check_port_free(coordinator, c_name)
    peer_timeout = _peer_timeout()
    # A lost peer is ours to report, in one line, before JAX's heartbeat check aborts the process.
    options.setdefault("heartbeat_timeout_seconds", max(100, 3 * peer_timeout))
    with _watchdog(
        timeout,
        f"distributed: {who} did not join the coordinator at {coordinator or '(detected)'} "
        f"within {timeout} s: another process given the same process id, processes given "
        "different numbers of processes, or one that never started?",
    ):
        try:
            jax.distributed.initialize(coordinator, num_processes, process_id, **options)
        except ValueError as e:  # JAX: a value is missing and no cluster was detected
            raise ValueError(
                "distributed: expected a coordinator address, a number of processes and a "
                "process id (arguments, --coordinator/--num-processes/--process-id, "
                f"JAX_COORDINATOR_ADDRESS with {ENV_NUM_PROCESSES} and {ENV_PROCESS_ID}, or a "
                f"SLURM, Open MPI or Cloud TPU job), received too few ({' '.join(str(e).split())})"
            ) from None
    _same_count(num_processes or jax.process_count(), timeout)
    _terminate_as_interrupt()
    if jax.process_count() > 1:
        _PeerWatch(_client(), jax.process_index(), jax.process_count(), peer_timeout).begin()


def _check_port_free(coordinator: str, name: str) -> None:
    """Refuses, in one line naming the port, a coordinator port another program holds.

    Process 0 starts the coordinator service there; JAX would otherwise end
    the process with a fatal error of many lines.
    """
    import errno
    import socket

    host, port = coordinator.rsplit(":", 1)
    bind = os.environ.get("JAX_COORDINATOR_BIND_ADDRESS", "").rpartition(":")[0] or "0.0.0.0"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind.strip("[]"), int(port)))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                return  # an address this check cannot bind to (IPv6, remote): JAX's to judge
            _checks.fail(
                name,
                f"a free port for process 0's coordinator (choose another {host}:PORT)",
                f"{coordinator!r}, whose port {port} is in use by another program",
            )


def _terminate_as_interrupt() -> None:
    """SIGTERM ends this process as Ctrl-C does: one line, the last checkpoint whole.

    JAX's distributed runtime takes SIGTERM as a preemption notice and
    otherwise goes on running; a launcher, a batch scheduler or ``kill``
    means stop. Main thread only (where Python runs signal handlers).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def _watchdog(seconds: float, message: str):
    """Ends the process with ``message`` in one line if the block outlasts ``seconds``.

    For a block stuck inside JAX's C++ (which raises nothing a Python timeout
    could catch, and ends in a fatal error with a stack trace of its own).
    """
    import threading

    timer = threading.Timer(seconds, _end, (message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _end(message: str, code: int = 1) -> NoReturn:
    """Writes ``nnbasics: error: <message>`` as one line on stderr and ends the process at once.

    From any thread, even while the main thread is stuck inside JAX's C++;
    JAX's shutdown at exit, which would wait for every peer, is skipped.
    """
    import sys

    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    os.write(2, f"nnbasics: error: {' '.join(message.split())}\n".encode())
    os._exit(code)


# ------------------------------------------------------------------ lost peers


def _peer_timeout() -> int:
    name, value = _setting(None, "peer_timeout", ENV_PEER_TIMEOUT, True)
    return _checks.positive_int(name, PEER_TIMEOUT_S if value is None else value)


_RESUME_HINT = ["to resume, start every process again with resume=True and the same checkpoint_dir"]


def set_resume_hint(hint: str) -> None:
    """How to resume, ending the line a process prints when it loses a peer (the CLI's command)."""
    _RESUME_HINT[0] = hint


def lost_message(lost: int | None, n: int | None, me: int | None, why: str) -> str:
    """The one line a process prints when it stops because peer ``lost`` (None: unknown) is gone.

    Examples:
      >>> lost_message(1, 2, 0, "no heartbeat for 30 s")
      'distributed: lost process 1 of 2 (no heartbeat for 30 s: killed, crashed or cut off), so process 0 stopped too; to resume, ...'
    """
    who = "a peer process" if lost is None else f"process {lost}"
    if lost is not None and n:
        who += f" of {n}"
    if lost == 0:
        who += ", the coordinator"
    me_text = "this process" if me is None else f"process {me}"
    return (
        f"distributed: lost {who} ({why}: killed, crashed or cut off), so {me_text} "
        f"stopped too; {_RESUME_HINT[0]}"
    )


class _PeerWatch:
    """Ends this process in one line as soon as a peer process is lost.

    Every ``interval`` seconds a daemon thread writes this process's heartbeat
    count to the coordinator's key-value store and reads every peer's: a peer
    whose count stood still for ``timeout`` seconds is lost (a peer marked
    ``done`` has finished). The first process to see it publishes the verdict,
    so that the others name the same peer; losing the coordinator itself shows
    as its store not answering. A stall of this process (suspended, swapping)
    restarts the clocks instead of blaming the peers.
    """

    PREFIX = "nnbasics/peers/"
    ACTIVE: list = []

    def __init__(self, client, me: int, n: int, timeout: int):
        import threading

        self.client, self.me, self.n, self.timeout = client, me, n, timeout
        self.interval = min(1.0, timeout / 5)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="nnbasics-peer-watch", daemon=True)

    def begin(self) -> None:
        import atexit

        # Registered after jax's own exit hook, so it runs first: a finished process says
        # so before JAX's shutdown waits for the others.
        atexit.register(self.finish)
        _PeerWatch.ACTIVE.append(self)
        self.thread.start()

    def finish(self) -> None:
        """Stops the watch, waits for its thread to leave the client, and marks this process done.

        The wait matters at exit: a daemon thread still inside a call of JAX's client
        when the interpreter finalizes is ended by a forced unwind that the client's
        C++ catches without rethrowing, and a finished process then aborts
        ("FATAL: exception not rethrown").
        """
        import threading

        if not self.stopped.is_set():
            self.stopped.set()
            if self.thread.is_alive() and self.thread is not threading.current_thread():
                self.thread.join(self.timeout)
            with contextlib.suppress(Exception):
                self._beat("done")

    def _beat(self, value: str) -> None:
        self.client.key_value_set(f"{self.PREFIX}alive/{self.me}", value, allow_overwrite=True)

    def _run(self) -> None:
        import time

        last = time.monotonic()
        changed = dict.fromkeys(range(self.n), last)
        seen: dict = {}
        for count in itertools.count(1):
            if self.stopped.wait(self.interval):
                return
            try:
                self._beat(str(count))
                values = dict(self.client.key_value_dir_get(self.PREFIX))
            except Exception:  # the coordinator's store no longer answers
                if self.stopped.wait(2 * self.interval) or self.me == 0 or not self._current():
                    return  # stopped, or jax.distributed.shutdown() was called
                self._lost(0, "its key-value store stopped answering")
            now = time.monotonic()
            if now - last > self.timeout / 2:  # this process stalled, not its peers
                changed = dict.fromkeys(range(self.n), now)
            last = now
            verdict = values.get(f"{self.PREFIX}lost")
            if verdict is not None:
                peer, why = verdict.split(" ", 1)
                self._lost(int(peer), why)
            for peer in range(self.n):
                value = values.get(f"{self.PREFIX}alive/{peer}")
                if peer == self.me or value == "done":
                    continue
                if value != seen.get(peer):
                    seen[peer], changed[peer] = value, now
                elif now - changed[peer] > self.timeout:
                    why = f"no heartbeat for {self.timeout} s"
                    with contextlib.suppress(Exception):
                        self.client.key_value_set(f"{self.PREFIX}lost", f"{peer} {why}")
                    if self.me == 0 and self.n > 2:  # the others read it before the store goes
                        self.stopped.wait(3 * self.interval)
                    self._lost(peer, why)

    def _current(self) -> bool:
        from jax._src import distributed as jax_distributed

        return jax_distributed.global_state.client is self.client

    def _lost(self, peer: int, why: str) -> NoReturn:
        self.stopped.set()
        _end(lost_message(peer, self.n, self.me, why))


def await_lost_peer() -> None:
    """Waits, after a failed collective, for the watch to name a lost peer (it ends the process).

    Returns at once without a watch, else after the peer timeout and a
    margin: the failure had another cause.
    """
    for watch in _PeerWatch.ACTIVE:
        if not watch.stopped.is_set():
            watch.thread.join(watch.timeout + 5 * watch.interval + 5)


def _same_count(given: int, timeout: float) -> None:
    """Refuses processes given different numbers of processes (JAX accepts them silently)."""
    client, me = _client(), jax.process_index()
    client.key_value_set(f"nnbasics/processes/{me}", str(given))
    for i in range(given):
        if i == me:
            continue
        try:
            theirs = int(client.blocking_key_value_get(f"nnbasics/processes/{i}", timeout * 1000))
        except RuntimeError as e:
            raise RuntimeError(
                f"distributed: process {i} did not report its number of processes within "
                f"{timeout} s ({_first_line(e)})"
            ) from None
        if theirs != given:
            jax.distributed.shutdown()
            _checks.fail(
                "num_processes",
                f"the same number of processes in every process ({given} in process {me})",
                f"{theirs} in process {i}",
            )


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
