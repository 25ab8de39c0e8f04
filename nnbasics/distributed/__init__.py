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
- Lost peers: after start-up each process watches the others' heartbeats in
  the coordinator's key-value store and ends in one line naming a lost peer
  and how to resume; ``nnbasics train --distributed`` started by hand runs in a
  child watched by ``supervise``, which puts JAX's own abort (a lost
  coordinator) in that one line too.
- :func:`launch` (and :func:`launch_main`, the ``nnbasics launch`` command):
  N processes on this machine, a free localhost port, one log file each, a
  timeout, and a clear failure (exit status and the tail of the failing
  process's log) when one process dies, the others stopped.
"""

from nnbasics.distributed._launcher import (
    LOG_NAME,  # noqa: F401
    LaunchError,
    LaunchResult,
    _command,  # noqa: F401 - the worker command line, for tests and benchmarks
    free_port,
    launch,
    launch_main,
    supervise,  # noqa: F401 - the CLI's watcher of a process started by hand
)
from nnbasics.distributed._runtime import (  # noqa: F401
    AGREEMENT_TIMEOUT_S,
    ENV_COORDINATOR,
    ENV_INIT_TIMEOUT,
    ENV_NUM_PROCESSES,
    ENV_PEER_TIMEOUT,
    ENV_PROCESS_ID,
    ENV_WATCHED,
    INIT_TIMEOUT_S,
    PEER_TIMEOUT_S,
    add_arguments,
    agree,
    await_lost_peer,
    barrier,
    disagreement,
    fingerprint,
    from_args,
    global_mesh,
    initialize,
    is_writer,
    lost_message,
    parse_coordinator,
    replicate,
    set_resume_hint,
)

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
