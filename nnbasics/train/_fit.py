"""``nb.fit``: the driver that runs compiled epochs, early stopping, history and checkpoints."""

from __future__ import annotations

import contextvars
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike, DTypeLike

from nnbasics import _checks, _files, compilation, distributed
from nnbasics.train import _buckets
from nnbasics.train._arguments import (
    _check_compute_dtype,
    _check_fit_args,
    cast_data,
    to_device,
)
from nnbasics.train._epoch import (
    Params,
    TrainState,
    compile_epoch,
    init_state,
)
from nnbasics.train._resume import _OPAQUE, _check_restored, _checkpoint_meta, _fingerprint

if TYPE_CHECKING:
    from nnbasics.mlp import MLP

__all__ = ["HISTORY_KEYS", "FitResult", "fit"]

HISTORY_KEYS = ("train_loss", "valid_loss", "valid_accuracy")
"""The per-epoch series of :attr:`FitResult.history` (the valid ones with a validation split)."""


class FitResult(NamedTuple):
    """What ``fit`` returns.

    Attributes:
      params: the best parameters on valid when valid is given, else the last
        (the last finite ones if training diverged).
      history: per-epoch NumPy arrays: "train_loss" (mean minibatch loss,
        penalty included) and, with valid, "valid_loss" (mean NLL) and
        "valid_accuracy" (classification outputs only).
      best_epoch: index into the history arrays of the returned parameters.
        Epochs are numbered from 0 everywhere (history, callback, warnings,
        the command line): epoch k is the (k+1)-th pass; −1 when no epoch
        finished (a run that diverged in its first epoch).
      state: the final TrainState (for resuming or inspection).
      stopped_early: patience ran out before ``epochs``.
      diverged: training met a non-finite loss and stopped.
      resumed_from: the number of epochs the checkpoint it resumed from held
        (None: it started from ``params``).

    Examples:
      >>> import jax
      >>> from nnbasics import MLP, data, optim
      >>> X, y = data.load("xor")
      >>> net = MLP((2, 4, 2), hidden="tanh")
      >>> result = fit(net, net.init(jax.random.key(0)), optim.adam(0.1), (X, y),
      ...              epochs=3, key=jax.random.key(1), valid=(X, y))
      >>> sorted(result.history), len(result.history["train_loss"])
      (['train_loss', 'valid_accuracy', 'valid_loss'], 3)
      >>> result.stopped_early, result.diverged, result.resumed_from
      (False, False, None)
    """

    params: Any
    history: dict
    best_epoch: int
    state: TrainState
    stopped_early: bool
    diverged: bool
    resumed_from: int | None = None


def fit(
    net: MLP,
    params: Params,
    optimizer: optax.GradientTransformation,
    train: tuple[ArrayLike, ArrayLike],
    *,
    epochs: int,
    batch_size: int | None = None,
    key: ArrayLike,
    valid: tuple[ArrayLike, ArrayLike] | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    l2: float = 0.0,
    l1: float = 0.0,
    grad: str = "manual",
    callback: Callable[[int, dict[str, float]], object] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    mesh: jax.sharding.Mesh | None = None,
    compute_dtype: DTypeLike | None = None,
    overwrite: bool = False,
    monitor: str = "valid_loss",
    sample_weight: ArrayLike | None = None,
) -> FitResult:
    """Trains ``net`` from ``params`` by minibatch descent with ``optimizer``.

    Args:
      net: an ``nb.MLP``.
      params: initial parameters (``net.init(key)``); never modified.
      optimizer: any ``nb.optim`` or optax ``GradientTransformation``.
      train: (X, y), X (n, d_in), y targets of net's output unit.
      epochs: number of passes over the training set (≥ 1).
      batch_size: 1..n; None means n (batch gradient descent).
      key: PRNG key for the per-epoch permutations.
      valid: (Xv, yv) for validation metrics, best-parameter selection and early stopping.
      patience: stop after this many epochs without an improvement of the
        monitored metric by more than ``min_delta``; None never stops early.
      monitor: the metric early stopping and the best parameters follow:
        "valid_loss" (lower is better) or "valid_accuracy" (higher is better,
        softmax/sigmoid outputs; the earliest epoch of the best accuracy wins).
      l2, l1: penalty strengths, (l2/2)Σ‖W‖² + l1 Σ|W| on the weights.
      grad: "manual" (net.backprop) or "auto" (jax.grad of net.loss).
      callback: called as ``callback(epoch, metrics)`` after each epoch with a
        dict of Python floats (for progress bars and logging).
      checkpoint_dir: if given, the state and history are saved there atomically after
        each epoch (in a multi-process run by process 0 only; the others wait for its
        last write before returning).
      resume: continue from the checkpoint in ``checkpoint_dir`` if there is one;
        it must have been written by the same run (network, l2, l1, batch size,
        patience, min_delta, key, dtypes and data, compared field by field).
        An ``nb.optim`` optimizer's hyper-parameters are compared too; of any other
        optax transformation only its state's structure, shapes and dtypes (and
        ``optax.inject_hyperparams``' values) can be, so a resume with, e.g.,
        ``optax.adam(1e-2)`` where the checkpoint had ``optax.adam(1e-3)`` is
        accepted with a warning saying so. ``result.resumed_from`` says where it
        went on.
      overwrite: replace an existing checkpoint; without it (or ``resume``) an
        existing checkpoint in ``checkpoint_dir`` is refused, never overwritten.
      mesh: a 1-D ``jax.sharding.Mesh`` with axis "data" for data-parallel
        training (each minibatch split across its devices, parameters replicated);
        ``nb.distributed.global_mesh()`` in a multi-process run.
      sample_weight: None, or per-example weights (n,), finite, ≥ 0, not all 0:
        each minibatch's loss is the weighted mean Σ sᵢ nllᵢ / Σ sᵢ and its penalty
        is scaled by (examples in the minibatch) / Σ sᵢ (scikit-learn's MLP
        ``sample_weight``; see ``nnbasics.train.train_epoch``).
      compute_dtype: None, or ``jnp.bfloat16`` / ``jnp.float16`` for mixed
        precision: forward and backward passes in that dtype on a copy of the
        training data, parameters and optimizer state kept in the parameters'
        dtype (float32 master weights; validation metrics in it too).

    Returns:
      A FitResult. If a non-finite loss is met, training stops with a warning
      and the result holds the last finite parameters (``diverged=True``).

    Raises:
      ValueError: bad input, naming the argument, before any work is done; in a
        multi-process run (``jax.process_count() > 1``) also processes that
        disagree on the configuration, data, resume epoch or starting state
        (``nb.distributed.agree``), before any collective.

    Examples:
      >>> import jax
      >>> import nnbasics as nb
      >>> X, y = nb.data.load("xor")
      >>> net = nb.MLP((2, 4, 2), hidden="tanh")
      >>> result = nb.fit(net, net.init(jax.random.key(0)), nb.optim.adam(0.05), (X, y),
      ...                 epochs=200, key=jax.random.key(1))
      >>> net.predict(result.params, X).tolist()  # XOR learned
      [0, 1, 1, 0]
    """
    n = np.shape(train[0])[0] if isinstance(train, (tuple, list)) and train else 0
    batch_size = _check_fit_args(
        net,
        params,
        optimizer,
        train,
        valid,
        epochs,
        n if batch_size is None else batch_size,
        patience,
        min_delta,
        l2,
        l1,
        grad,
        checkpoint_dir,
        resume,
        overwrite,
        key,
        monitor,
    )
    sample_weight = _check_sample_weight(sample_weight, n)
    # One run per checkpoint directory: a second is refused here, before any work.
    with _files.hold(checkpoint_dir if distributed.is_writer() else None, "checkpoint_dir"):
        return _fit(
            net,
            params,
            optimizer,
            train,
            epochs=epochs,
            batch_size=batch_size,
            key=key,
            valid=valid,
            patience=patience,
            min_delta=min_delta,
            l2=l2,
            l1=l1,
            grad=grad,
            callback=callback,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            mesh=mesh,
            compute_dtype=compute_dtype,
            monitor=monitor,
            sample_weight=sample_weight,
        )


def fit_from_state(
    net: MLP,
    state: TrainState,
    optimizer: optax.GradientTransformation,
    train: tuple[ArrayLike, ArrayLike],
    **options: Any,
) -> FitResult:
    """``fit(net, state.params, optimizer, train, key=state.key, **options)``, from ``state``.

    For a caller that built ``init_state``'s value itself, with the parameters in one
    program (``start_state``, as the estimators do): the same checks and the same run,
    without building the state again.
    """
    token = _GIVEN_STATE.set(state)
    try:
        key = jax.random.wrap_key_data(state.key)
        return fit(net, state.params, optimizer, train, key=key, **options)
    finally:
        _GIVEN_STATE.reset(token)


# The state fit_from_state hands to _fit, through fit's checks (per thread and context).
_GIVEN_STATE: contextvars.ContextVar = contextvars.ContextVar("given_state", default=None)


def _check_sample_weight(sample_weight, n):
    """None, or ``sample_weight`` as a float array of shape (n,), finite, ≥ 0, not all 0."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.shape != (n,) or not np.issubdtype(w.dtype, np.number) or w.dtype == np.bool_:
        _checks.fail(
            "sample_weight", f"numbers of shape ({n},), one per example", f"{w.dtype} {w.shape}"
        )
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        _checks.fail("sample_weight", "finite weights >= 0, not all 0", f"values {w[:5].tolist()}")
    return w


def _fit(
    net,
    params,
    optimizer,
    train,
    *,
    epochs,
    batch_size,
    key,
    valid,
    patience,
    min_delta,
    l2,
    l1,
    grad,
    callback,
    checkpoint_dir,
    resume,
    mesh,
    compute_dtype,
    monitor,
    sample_weight=None,
) -> FitResult:
    """``fit`` after its arguments are checked, its checkpoint directory held."""
    compilation.use_default_cache()
    dtype = jax.tree.leaves(params)[0].dtype
    compute_dtype = _check_compute_dtype(compute_dtype)
    X, y = cast_data(net, train, compute_dtype or dtype)
    Xv, yv = cast_data(net, valid, dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype)
    state = _GIVEN_STATE.get()
    if state is None or state.params is not params:
        state = init_state(params, optimizer, key)
    history = {k: [] for k in HISTORY_KEYS}

    # What checkpoints and the processes' agreement compare; hashing the data
    # is not free, so a plain run skips it (and compares nothing: empty).
    meta: dict = {}
    if checkpoint_dir is not None or jax.process_count() > 1:
        meta = _checkpoint_meta(
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
            (X, y),
            (Xv, yv),
        )
        if monitor != "valid_loss":  # absent otherwise: older checkpoints still resume
            meta["monitor"] = monitor
        if sample_weight is not None:  # likewise
            meta["sample_weight"] = _fingerprint(sample_weight)
    resumed_from = None
    if checkpoint_dir is not None and resume:
        from nnbasics import checkpoint

        restored = checkpoint.restore(checkpoint_dir, state, meta)
        if restored is not None:
            state, saved = restored
            checkpoint.check_train_state(checkpoint_dir, state, saved, HISTORY_KEYS)
            history = {k: list(saved.get(k, [])) for k in HISTORY_KEYS}
            resumed_from = _check_restored(checkpoint_dir, state, epochs)
            if meta["optimizer"].get("factory") == _OPAQUE:
                warnings.warn(
                    f"resuming from {os.fspath(checkpoint_dir)!r} with an optimizer that "
                    "is not an nb.optim one: its state's structure, shapes and dtypes "
                    "(and inject_hyperparams' values) were compared, its other "
                    "hyper-parameters (learning rate, ...) cannot be verified",
                    UserWarning,
                    stacklevel=3,
                )

    if jax.process_count() > 1:
        # Before the first collective: a disagreement would hang or fail inside JAX.
        distributed.agree(
            dict(meta, epochs=epochs, checkpointing=checkpoint_dir is not None),
            epoch=int(state.epoch),
            state_hash=_fingerprint(*jax.tree.leaves(state)),
            mesh=mesh,
        )

    batch_sharding = None
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        replicated = NamedSharding(mesh, PartitionSpec())
        batch_sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
        state, X, y, sample_weight = distributed.replicate((state, X, y, sample_weight), replicated)
        if valid is not None:
            Xv, yv = distributed.replicate((Xv, yv), replicated)

    rows = None
    if mesh is None and _buckets.is_enabled():
        # Padded to shape buckets: every row count of a bucket shares the programs.
        rows = {"rows": X.shape[0], "valid_rows": None if Xv is None else Xv.shape[0]}
        batch_size = _buckets.padded_batch(batch_size, X.shape[0], _buckets.size(X.shape[0]))
        X, y, Xv, yv, sample_weight = (
            None if a is None else to_device(_buckets.pad(a, _buckets.size(a.shape[0])))
            for a in (X, y, Xv, yv, sample_weight)
        )
    epoch_fn = compile_epoch(
        net,
        optimizer,
        batch_size=batch_size,
        l2=l2,
        l1=l1,
        grad=grad,
        patience=patience,
        min_delta=min_delta,
        batch_sharding=batch_sharding,
        freeze=False,
        compute_dtype=compute_dtype,
        monitor=monitor,
    )._replace(rows=rows)

    epoch, stopped = int(state.epoch), bool(state.stopped)
    while epoch < epochs and not stopped:
        state, m = epoch_fn(state, X, y, Xv, yv, sample_weight)
        m = {k: float(v) for k, v in jax.device_get(m).items()}  # the epoch's one host sync
        stopped = bool(m["stopped"])
        for k in HISTORY_KEYS:
            history[k].append(m[k])
        if m["diverged"]:
            history = {k: v[:-1] for k, v in history.items()}
            kept = (
                f"returning the last finite parameters, those after epoch {epoch - 1}"
                if history["train_loss"]
                else "no finite epoch to return: the result holds the initial parameters"
            )
            warnings.warn(
                f"training diverged in epoch {epoch} (non-finite loss or parameters); "
                f"{kept}" + _precision_hint(dtype, compute_dtype),
                RuntimeWarning,
                stacklevel=3,
            )
        if callback is not None:
            callback(epoch, m)
        if checkpoint_dir is not None and distributed.is_writer():
            from nnbasics import checkpoint

            checkpoint.save(
                checkpoint_dir, state, {k: np.asarray(v) for k, v in history.items()}, meta
            )
        epoch += 1
    if checkpoint_dir is not None:
        distributed.barrier("fit's last checkpoint written")  # so every process can resume from it
    return _result(state, history, valid is not None, epochs)._replace(resumed_from=resumed_from)


def _precision_hint(dtype, compute_dtype) -> str:
    """Why a low-precision run may have diverged, for the divergence warning."""
    if jnp.dtype(dtype) == jnp.float16:
        return (
            "; float16 parameters: Adam's default eps=1e-8 is 0 in float16 (smallest "
            "normal 6e-5, largest 65504) and steps overflow or vanish — train float32 "
            "parameters with compute_dtype=float16 (master weights), or raise eps to 1e-4"
        )
    if jnp.dtype(dtype) == jnp.bfloat16:
        return (
            "; bfloat16 parameters keep 8 bits of mantissa, so small steps round away — "
            "train float32 parameters with compute_dtype=bfloat16 (master weights)"
        )
    if compute_dtype is not None and jnp.dtype(compute_dtype) == jnp.float16:
        return (
            "; compute_dtype=float16 overflows above 65504: lower the learning rate, "
            "or use bfloat16 (float32's range)"
        )
    return ""


def _result(state, history, has_valid, epochs) -> FitResult:
    keys = HISTORY_KEYS if has_valid else ("train_loss",)
    history = {k: np.asarray(history[k]) for k in keys}
    done = len(history["train_loss"])
    if has_valid:
        params, best = state.best_params, int(state.best_epoch)
    else:
        params, best = state.params, done - 1
    diverged = bool(state.diverged)
    return FitResult(
        params=params,
        history=history,
        best_epoch=best,
        state=state,
        stopped_early=bool(state.stopped) and not diverged and done < epochs,
        diverged=diverged,
    )
