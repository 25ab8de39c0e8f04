"""Resuming ``fit``: what a checkpoint must agree on, and what it may hold.

A checkpoint records everything that determines a run (network, optimizer,
training settings, key, dtypes, a SHA-256 of the data); ``fit(..., resume=True)``
continues only from one that matches.
"""

from __future__ import annotations

import hashlib
import os
import warnings

import jax
import numpy as np

from nnbasics import optim
from nnbasics.train._epoch import TrainState

__all__: list[str] = []


def _checkpoint_meta(
    net,
    optimizer,
    state,
    batch_size,
    grad,
    l2,
    l1,
    patience,
    min_delta,
    compute_dtype,
    train,
    valid,
) -> dict:
    """Everything that determines a run, which a checkpoint must agree on to be resumed.

    The network, every hyper-parameter of an ``nb.optim`` optimizer (other
    transformations: their state's structure, checked on restore), the
    training settings, the initial key, the dtypes, and a SHA-256 of each
    split's X and y (so a different data set or split of the same shape is refused).
    """
    return dict(
        net=repr(net),
        optimizer=optim.hyperparameters(optimizer) or _optimizer_record(state.opt_state),
        n_train=int(train[0].shape[0]),
        batch_size=int(batch_size),
        grad=grad,
        l2=float(l2),
        l1=float(l1),
        patience=patience,
        min_delta=float(min_delta),
        key=np.asarray(state.key).tolist(),
        dtype=str(jax.tree.leaves(state.params)[0].dtype),
        compute_dtype=None if compute_dtype is None else str(compute_dtype),
        data={
            "train": _fingerprint(*train),
            "valid": None if valid[0] is None else _fingerprint(*valid),
        },
    )


_OPAQUE = "<not nb.optim>"


def _optimizer_record(opt_state) -> dict:
    """What a checkpoint can record of an optimizer that is not an ``nb.optim`` one.

    Its state's leaves (dtype and shape) and the values of any
    ``optax.inject_hyperparams`` state in it; the rest (a plain ``optax.adam``'s
    learning rate, say) lives in closures and cannot be seen.
    """

    def injected(x):
        return isinstance(getattr(x, "hyperparams", None), dict)

    hyperparams = {}
    for node in jax.tree.leaves(opt_state, is_leaf=injected):
        if injected(node):
            hyperparams.update(
                {k: np.asarray(v).tolist() for k, v in sorted(node.hyperparams.items())}
            )
    return dict(
        factory=_OPAQUE,
        state=[
            f"{getattr(x, 'dtype', type(x).__name__)}{list(np.shape(x))}"
            for x in jax.tree.leaves(opt_state)
        ],
        hyperparams=hyperparams,
    )


def _fingerprint(*arrays) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(jax.device_get(a))
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _check_restored(checkpoint_dir, state: TrainState, epochs: int) -> int:
    """Warns when a restored run has nothing left to train; returns the epoch reached."""
    done = int(state.epoch)
    if bool(state.stopped):
        why = "diverged" if bool(state.diverged) else "stopped early"
        warnings.warn(
            f"the checkpoint in {os.fspath(checkpoint_dir)!r} had already {why} "
            f"after {done} epochs: nothing left to train",
            UserWarning,
            stacklevel=4,
        )
    elif done >= epochs:
        warnings.warn(
            f"the checkpoint in {os.fspath(checkpoint_dir)!r} already holds {done} "
            f"epochs, and epochs={epochs}: nothing left to train (raise epochs to "
            "continue)",
            UserWarning,
            stacklevel=4,
        )
    return done
