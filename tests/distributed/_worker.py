"""One process of the multi-process tests (tests/distributed/): ``python _worker.py MODE OUT``.

Run by ``nnbasics.distributed.launch(..., module=None)`` in each process of a
distributed run, or alone (one process, its CPU devices from the environment)
for the single-process reference. Results go to files in OUT named by process
(``p0``, ``p1``, or ``single``):

- ``train``: fit in float32 and float64 at batch sizes 64 and 50 on the
  global mesh; parameters and history to ``train-<process>.npz``.
- ``kill``: fit with a checkpoint, every process SIGKILLs itself in the
  callback of epoch KILL_AT (after a barrier, so no collective is pending);
  each ``checkpoint.save`` call is logged to ``saves-<process>.txt``.
- ``resume``: the same fit resumed from that checkpoint, then the same fit
  uninterrupted; both to ``resume-<process>.npz``.
- ``disagree``: three fits on which the processes disagree (training data,
  batch size, resume epoch); each error message, and how many compiled epochs
  and data placements the failing fits started, to ``disagree-<process>.json``.
"""

import json
import os
import signal
import sys

import nnbasics.distributed as D

DISTRIBUTED = D.ENV_NUM_PROCESSES in os.environ
if DISTRIBUTED:
    D.initialize()

import jax  # noqa: E402  (after initialize, as JAX requires)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnbasics as nb  # noqa: E402
from nnbasics import checkpoint, train  # noqa: E402

jax.config.update("jax_enable_x64", True)
EPOCHS, KILL_AT = 5, 2


def setup(dtype=jnp.float32):
    """(net, params, train, valid): digits subset, 64-32-10 relu/softmax."""
    X, y = nb.data.load("digits", n=300)
    X = (X / 16.0).astype(dtype)
    net = nb.MLP((64, 32, 10), hidden="relu", output="softmax")
    return net, net.init(jax.random.key(0), dtype), (X, y), (X[:60], y[:60])


def fit(dtype=jnp.float32, batch_size=64, epochs=EPOCHS, **kw):
    net, params, data, valid = setup(dtype)
    return nb.fit(
        net,
        params,
        nb.optim.adam(1e-2),
        data,
        epochs=epochs,
        batch_size=batch_size,
        key=jax.random.key(1),
        valid=valid,
        patience=None,
        mesh=D.global_mesh(),
        **kw,
    )


def arrays(prefix, result) -> dict:
    """The result's parameters and history as host NumPy arrays, names prefixed."""
    leaves = [np.asarray(x) for x in jax.tree.leaves(result.params)]
    out = {f"{prefix}/param{i}": x for i, x in enumerate(leaves)}
    out.update({f"{prefix}/{k}": v for k, v in result.history.items()})
    return out


def run_train(out):
    saved = {}
    for dtype in (jnp.float32, jnp.float64):
        for batch_size in (64, 50):
            saved.update(
                arrays(f"{jnp.dtype(dtype).name}-{batch_size}", fit(dtype, batch_size, epochs=3))
            )
    np.savez(os.path.join(out, f"train-{WHO}.npz"), **saved)


def log_saves(out):
    """Wraps checkpoint.save so that each call appends a line to saves-<process>.txt."""
    save = checkpoint.save

    def logged(directory, state, history, meta):
        with open(os.path.join(out, f"saves-{WHO}.txt"), "a") as f:
            f.write(f"{int(state.epoch)}\n")
        return save(directory, state, history, meta)

    checkpoint.save = logged


def run_kill(out):
    log_saves(out)

    def callback(epoch, metrics):
        if epoch == KILL_AT:
            D.barrier("every process at the kill epoch")
            os.kill(os.getpid(), signal.SIGKILL)

    fit(checkpoint_dir=os.path.join(out, "ckpt"), callback=callback)


def run_resume(out):
    log_saves(out)
    resumed = fit(checkpoint_dir=os.path.join(out, "ckpt"), resume=True)
    whole = fit()
    np.savez(
        os.path.join(out, f"resume-{WHO}.npz"),
        **arrays("resumed", resumed),
        **arrays("whole", whole),
    )


def count_calls(module, name, counts):
    original = getattr(module, name)

    def counted(*args, **kwargs):
        counts[name] += 1
        return original(*args, **kwargs)

    setattr(module, name, counted)


def run_disagree(out):
    me = jax.process_index()
    net, params, (X, y), valid = setup()
    X_other = X.copy()
    X_other[0, 0] += me  # process 1 holds other training data
    ckpt = os.path.join(out, f"ckpt-{WHO}")
    # A first, agreeing run: only process 0 writes, into its own directory.
    fit(epochs=1, checkpoint_dir=ckpt)
    counts = {"compile_epoch": 0, "replicate": 0}
    count_calls(train._fit, "compile_epoch", counts)
    count_calls(D, "replicate", counts)
    cases = {
        "data": lambda: nb.fit(
            net,
            params,
            nb.optim.adam(1e-2),
            (X_other, y),
            epochs=EPOCHS,
            batch_size=64,
            key=jax.random.key(1),
            valid=valid,
            mesh=D.global_mesh(),
        ),
        "batch_size": lambda: fit(batch_size=64 + me),
        "resume epoch": lambda: fit(epochs=2, checkpoint_dir=ckpt, resume=True),
    }
    messages = {}
    for name, case in cases.items():
        try:
            case()
            messages[name] = None
        except ValueError as e:
            messages[name] = str(e)
    with open(os.path.join(out, f"disagree-{WHO}.json"), "w") as f:
        json.dump(dict(messages=messages, started=counts), f)


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    WHO = f"p{jax.process_index()}" if DISTRIBUTED else "single"
    {"train": run_train, "kill": run_kill, "resume": run_resume, "disagree": run_disagree}[mode](
        out
    )
    print(f"{WHO} {mode} done")
