"""Training and prediction on scipy sparse ``X``, densified one minibatch at a time.

``nnbasics.train.train_epoch`` gathers a whole epoch's minibatches into one
dense array, which a one-hot input of many columns cannot afford. Here the
epoch runs as a host loop that reproduces it step for step: the same key
split and permutation, the same ``ceil(n / B)`` minibatches (the last padded
with rows of weight 0), the same optimizer step (``sample_weight``'s weighted
one too), train loss, finite check and state update; only one minibatch ``X[idx].toarray()`` (B, d) is dense at a
time (one step in flight). A sparse fit therefore follows the dense fit's
trajectory exactly (up to the rounding of a differently fused program).
Without a validation set: ``early_stopping`` is refused for sparse input.

Prediction never densifies: the first layer's pre-activation X W⁽¹⁾ + b⁽¹⁾
(n, h₁) is a sparse-by-dense product, and the rest of the network runs on it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse

from nnbasics import _checks, graph
from nnbasics.train import FitResult, TrainState, init_state
from nnbasics.train._epoch import (
    _all_finite,
    _program,
    _select,
    _value_and_grad,
    _weigh_batches,
    _weighted_step,
)
from nnbasics.train._fit import _check_sample_weight

if TYPE_CHECKING:
    from nnbasics.mlp import MLP

__all__ = ["apply", "as_rows", "epoch_program", "fit", "refuse"]


def refuse(early_stopping: bool) -> None:
    """What the sparse path does not support, refused before any work."""
    if early_stopping:
        _checks.fail("early_stopping", "False with a sparse X", "True")


def as_rows(X: Any, dtype: Any) -> Any:
    """``X`` as a CSR matrix of ``dtype`` (fast row gathers); O(nnz), never dense."""
    return scipy.sparse.csr_matrix(X, dtype=np.dtype(dtype))


def _step_program(net: MLP, optimizer: optax.GradientTransformation, grad: str) -> Any:
    """One compiled minibatch step ``(params, opt_state, Xb, yb, l2, weights, scale) -> (params, opt_state, J)``.

    ``scale`` None: an unweighted minibatch (``weights`` only marks the padding);
    otherwise ``train_epoch``'s weighted step (penalty scaled, an all-0 batch skipped).
    """

    def step(params, opt_state, Xb, yb, l2, weights, scale):
        value_and_grad = _value_and_grad(net, grad)
        if scale is not None:
            batch = (Xb, yb, weights, scale)
            (params, opt_state), J = _weighted_step(
                value_and_grad, optimizer, params, opt_state, batch, l2, 0.0
            )
            return params, opt_state, J
        J, g = value_and_grad(params, Xb, yb, l2, 0.0, weights)
        updates, opt_state = optimizer.update(g, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, J

    return _program(("sparse step", net, optimizer, grad), lambda: jax.jit(step))


def _finish(state: TrainState, params, opt_state, key, losses, counts, n) -> tuple[TrainState, Any]:
    """The end of ``train_epoch`` without a validation set: train loss, finite check, state."""
    train_loss = jnp.sum(jnp.stack(losses) * counts) / n
    finite = jnp.isfinite(train_loss) & _all_finite(params)
    # A non-finite epoch is discarded whole: the state keeps the last finite parameters.
    ran = {"params": params, "best_params": params, "opt_state": opt_state}
    ran.update(best_loss=train_loss, best_epoch=state.epoch)
    kept = {k: _select(finite, v, getattr(state, k)) for k, v in ran.items()}
    wait = jnp.where(finite, 0, state.wait + 1)
    new = state._replace(
        key=key, epoch=state.epoch + 1, wait=wait, stopped=~finite, diverged=~finite, **kept
    )
    nan = jnp.asarray(jnp.nan, train_loss.dtype)
    m = dict(train_loss=train_loss, valid_loss=nan, valid_accuracy=nan)
    m.update(stopped=new.stopped, diverged=new.diverged)
    return new, m


def epoch_program(net: MLP, optimizer: optax.GradientTransformation, *, batch_size: int, l2, grad):
    """``epoch(state, X, y) -> (state, metrics)``: ``train_epoch`` on a CSR ``X``, one dense batch at a time.

    Args:
      batch_size: B; X (n, d) sparse CSR in the parameters' dtype, y (n, ...) a NumPy array,
        sample_weight None or (n,), as ``train_epoch``'s.
    Returns:
      the new TrainState and the epoch's metrics as ``train_epoch``'s (valid ones NaN).
    """
    step = _step_program(net, optimizer, grad)
    finish = _program(("sparse finish",), lambda: jax.jit(_finish, static_argnums=6))

    def epoch(state: TrainState, X: Any, y: np.ndarray, sample_weight: Any = None):
        n = X.shape[0]
        n_batches = -(-n // batch_size)
        pad = n_batches * batch_size - n
        key, sub = jax.random.split(state.key)
        perm = np.asarray(jax.random.permutation(sub, n))
        dtype = state.best_loss.dtype
        if pad:
            idx = np.concatenate([perm, perm[:pad]]).reshape(n_batches, batch_size)
            counts = np.full((n_batches,), batch_size).astype(np.int32)
            counts[-1] -= pad
            weights = (np.arange(batch_size) < counts[:, None]).astype(dtype)
        else:
            idx, counts, weights = perm.reshape(n_batches, batch_size), batch_size, None
        scales = None
        if sample_weight is not None:
            sample_weight = jnp.asarray(sample_weight, dtype)
            weights, scales = _weigh_batches(sample_weight, jnp.asarray(idx), weights, counts)
        params, opt_state, losses = state.params, state.opt_state, []
        for b, rows in enumerate(idx):
            Xb = X[rows].toarray()  # the only dense copy: (B, d)
            w = None if weights is None else weights[b]
            scale = None if scales is None else scales[b]
            if losses:
                # At most one step in flight: asynchronous dispatch would otherwise
                # queue every minibatch's dense copy, the whole dense X at worst.
                losses[-1].block_until_ready()
            params, opt_state, J = step(params, opt_state, Xb, y[rows], l2, w, scale)
            losses.append(J)
        return finish(state, params, opt_state, key, losses, jnp.asarray(counts), n)

    return epoch


def fit(
    net: MLP,
    params,
    optimizer: optax.GradientTransformation,
    train: tuple[Any, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    key,
    l2: float,
    grad: str,
    callback=None,
    min_delta: float = 0.0,
    sample_weight: Any = None,
    **unsupported: Any,
) -> FitResult:
    """``nnbasics.train.fit`` on a sparse X (CSR, in ``params``' dtype), without validation.

    The other arguments of ``fit`` (valid, patience, ...) must be None
    here; ``nnbasics.sklearn`` refuses them for sparse input before calling.
    ``min_delta`` is accepted for the same call, and unused without validation.
    """
    del min_delta
    sample_weight = _check_sample_weight(sample_weight, train[0].shape[0])
    # nnbasics.sklearn refuses early stopping on a sparse X before calling (refuse).
    assert all(value is None for value in unsupported.values()), unsupported
    X, y = train
    epoch_fn = epoch_program(net, optimizer, batch_size=batch_size, l2=l2, grad=grad)
    state = init_state(params, optimizer, key)
    losses: list[float] = []
    for epoch in range(epochs):
        state, m = epoch_fn(state, X, y, sample_weight)
        m = {k: float(v) for k, v in jax.device_get(m).items()}
        if m["diverged"]:
            warnings.warn(
                f"training diverged in epoch {epoch} (non-finite loss or parameters); "
                "returning the last finite parameters",
                RuntimeWarning,
                stacklevel=3,
            )
            break
        losses.append(m["train_loss"])
        if callback is not None:
            callback(epoch, m)
    done = len(losses)
    return FitResult(
        params=state.params,
        history={"train_loss": np.asarray(losses)},
        best_epoch=done - 1,
        state=state,
        stopped_early=False,
        diverged=bool(state.diverged),
    )


def apply(net: MLP, params: list[dict[str, np.ndarray]], X: Any) -> np.ndarray:
    """The output pre-activation z (n, out_width) of a sparse X (n, d), nothing (n, d) dense.

    a⁽¹⁾ = X W⁽¹⁾ + b⁽¹⁾ is a sparse product (n, h₁); the remaining layers are ``net.forward``'s.
    """
    first, rest = params[0], params[1:]
    W = np.asarray(first["W"])
    a = np.asarray(as_rows(X, W.dtype) @ W.reshape(W.shape[0], -1)).reshape(-1, *W.shape[1:])
    a = a + np.asarray(first["b"])

    def tail(a, rest):
        for layer in rest:
            a = graph.dense.fprop(layer, graph.activation.fprop(net.hidden, a))
        return a

    program = _program(("sparse tail", net), lambda: jax.jit(tail))
    with jax.enable_x64(True):
        return np.asarray(program(a, rest))
