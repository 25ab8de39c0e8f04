"""Training: ``nb.fit`` with compiled epochs, early stopping and divergence checks.

One epoch is one compiled program: the training set is permuted with the
epoch's key, cut into ``n // batch_size`` full minibatches that a ``lax.scan``
visits in order, and a last partial batch of ``n % batch_size`` examples, so
every example is seen exactly once per epoch whatever the batch size. Each
step is

    J, g = net.backprop(θ, X_B, y_B, l2, l1)      (grad="manual")
    J, g = jax.value_and_grad(net.loss)(...)      (grad="auto")
    u, s = optimizer.update(g, s, θ);  θ ← θ + u

Early stopping lives in the state as well (best parameters, best validation
loss, epochs without improvement), so the same pure epoch function runs in
``fit``'s loop, inside a ``lax.scan`` over epochs, or ``vmap``-ed over
hyper-parameters (``nnbasics.search``), where each run stops on its own.
"""

from __future__ import annotations

import collections
import hashlib
import math
import os
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnbasics import _checks, _files, compilation, distributed, optim
from nnbasics.data import check_dataset
from nnbasics.losses import OUTPUT

HISTORY_KEYS = ("train_loss", "valid_loss", "valid_accuracy")
MONITORS = ("valid_loss", "valid_accuracy")


class TrainState(NamedTuple):
    """Everything an epoch reads and writes; a checkpoint saves exactly this.

    Attributes:
      params: current parameters.
      opt_state: the optimizer's state.
      key: raw uint32 PRNG key data (2,), split once per epoch.
      epoch: number of epochs completed (int32).
      best_params: parameters of the best validation loss so far (= params without valid).
      best_loss: best monitored score so far, lower is better: the validation
        loss, or minus the validation accuracy (``monitor="valid_accuracy"``);
        inf before the first epoch.
      best_epoch: index of that epoch (−1 before the first).
      wait: epochs since the last improvement.
      stopped: early stopping or divergence ended the run.
      diverged: a non-finite loss or parameter was met; params are the last finite ones.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from nnbasics import MLP, optim
      >>> net = MLP((2, 3, 2))
      >>> state = init_state(net.init(jax.random.key(0)), optim.sgd(0.1), jax.random.key(1))
      >>> int(state.epoch), float(state.best_loss), int(state.best_epoch)
      (0, inf, -1)
    """

    params: Any
    opt_state: Any
    key: jax.Array
    epoch: jax.Array
    best_params: Any
    best_loss: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    stopped: jax.Array
    diverged: jax.Array


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


def init_state(params, optimizer, key) -> TrainState:
    """The state before the first epoch.

    Every array is a fresh buffer (params and best_params too), so that
    donating the state to the compiled epoch never frees the caller's arrays.
    Built by one small compiled program, shared by every optimizer of the same
    structure (see :func:`compile_epoch`), instead of a compile per eager operation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from nnbasics import MLP, optim
      >>> net = MLP((2, 3, 2))
      >>> state = init_state(net.init(jax.random.key(0)), optim.adam(0.1), jax.random.key(1))
      >>> type(state.opt_state).__name__, bool(state.stopped)
      ('AdamState', False)
    """
    structure, numbers = _split_optimizer(optimizer)
    program = _program(
        ("init_state", structure),
        lambda: jax.jit(
            lambda params, key, numbers: _init_state(params, _rebuild(structure, numbers), key)
        ),
    )
    return program(params, _raw_key(key), numbers)


def _init_state(params, optimizer, key) -> TrainState:
    dtype = jax.tree.leaves(params)[0].dtype
    state = TrainState(
        params=params,
        opt_state=optimizer.init(params),
        key=key,
        epoch=jnp.int32(0),
        best_params=params,
        best_loss=jnp.asarray(jnp.inf, dtype),
        best_epoch=jnp.int32(-1),
        wait=jnp.int32(0),
        stopped=jnp.bool_(False),
        diverged=jnp.bool_(False),
    )
    return jax.tree.map(jnp.array, state)  # copies every leaf


# ------------------------------------------------------------ compiled programs
#
# A program is keyed by its structure (network, optimizer factory and options,
# batch size, ...); the optimizer's nonzero float hyper-parameters and the
# nonzero l2, l1 and min_delta are inputs of the program, not constants in it,
# so a learning-rate or L2 sweep over ``fit`` calls compiles once. The cache is
# a small LRU: hundreds of ``fit`` calls with new optimizers keep memory flat.

_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_PROGRAMS_SIZE = 32
TUNABLE = ("l2", "l1", "min_delta")


def _program(key, make: Callable) -> Callable:
    """The program cached under ``key``, made by ``make()`` on a miss (not cached if unhashable)."""
    try:
        program = _PROGRAMS.get(key)
    except TypeError:  # e.g. an optimizer holding arrays
        return make()
    if program is None:
        program = _PROGRAMS[key] = make()
        if len(_PROGRAMS) > _PROGRAMS_SIZE:
            _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(key)
    return program


def _split_optimizer(optimizer):
    """(structure, numbers): an ``nb.optim`` recipe split by ``Recipe.split``; others whole."""
    recipe = optim.recipe_of(optimizer)
    return (optimizer, {}) if recipe is None else recipe.split()


def _rebuild(structure, numbers):
    return structure.build(**numbers) if isinstance(structure, optim.Recipe) else structure


def _raw_key(key):
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def metrics(net, params, X, y):
    """(mean NLL, accuracy) of ``net`` on (X, y); accuracy is NaN for regression outputs.

    Accuracy is the fraction of correct labels (softmax) or of correct 0/1
    outputs (sigmoid). One compiled program per network and shapes.

    Examples:
      >>> import jax.numpy as jnp
      >>> from nnbasics import MLP
      >>> net = MLP((1, 2))  # softmax regression, one input
      >>> params = [{"W": jnp.array([[-1.0, 1.0]]), "b": jnp.zeros(2)}]
      >>> X, y = jnp.array([[2.0], [-2.0]]), jnp.array([1, 1])
      >>> [round(float(v), 3) for v in metrics(net, params, X, y)]  # (NLL, accuracy)
      [2.018, 0.5]
    """
    return evaluate(net, params, (X, y))[0]


def evaluate(net, params, *pairs):
    """``[metrics(net, params, X, y) for X, y in pairs]``, all in one compiled program.

    The pairs are stacked and pass through the network together, so the
    program holds one forward pass whatever the number of splits.

    Returns:
      a list of (mean NLL, accuracy) pairs of 0-d arrays, one per (X, y).

    Examples:
      >>> import jax.numpy as jnp
      >>> from nnbasics import MLP
      >>> net = MLP((1, 2))
      >>> params = [{"W": jnp.array([[-1.0, 1.0]]), "b": jnp.zeros(2)}]
      >>> train, valid = (jnp.array([[2.0]]), jnp.array([1])), (jnp.array([[-2.0]]), jnp.array([1]))
      >>> [round(float(acc), 1) for _, acc in evaluate(net, params, train, valid)]
      [1.0, 0.0]
    """
    program = _program(
        ("evaluate", net),
        lambda: jax.jit(lambda params, pairs: _stacked_metrics(net, params, pairs)),
    )
    return program(params, pairs)


def _stacked_metrics(net, params, pairs):
    if len(pairs) == 1:
        return [_metrics(net, params, *pairs[0])]
    X = jnp.concatenate([X for X, _ in pairs])
    y = jnp.concatenate([y for _, y in pairs])
    losses, hits = _per_example(net, net.apply(params, X), y)
    ends = np.cumsum([X.shape[0] for X, _ in pairs])
    starts = ends - [X.shape[0] for X, _ in pairs]
    return [(jnp.mean(losses[a:b]), jnp.mean(hits[a:b])) for a, b in zip(starts, ends)]


def _per_example(net, z, y):
    """(per-example NLL, per-example correctness or NaN for regression outputs)."""
    unit = OUTPUT[net.output]
    losses = unit.nll(z, y)
    if unit.target == "real":
        return losses, jnp.full(losses.shape, jnp.nan, losses.dtype)
    return losses, (unit.predict(z, net.sizes[-1]) == y).astype(losses.dtype)


def _metrics(net, params, X, y):
    losses, hits = _per_example(net, net.apply(params, X), y)
    return jnp.mean(losses), jnp.mean(hits)


def _value_and_grad(net, grad: str) -> Callable:
    return net.backprop if grad == "manual" else jax.value_and_grad(net.loss)


def _in_precision(value_and_grad, dtype) -> Callable:
    """``value_and_grad`` evaluated in ``dtype``, its loss and gradients returned in the parameters'."""

    def low(params, X, y, l2, l1, weights):
        cast = lambda x: None if x is None else jnp.asarray(x).astype(dtype)
        labels = jnp.issubdtype(jnp.result_type(y), jnp.integer)
        J, g = value_and_grad(
            jax.tree.map(cast, params), cast(X), y if labels else cast(y), l2, l1, cast(weights)
        )
        like = jax.tree.leaves(params)[0]
        return J.astype(like.dtype), jax.tree.map(lambda gi, p: gi.astype(p.dtype), g, params)

    return low


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _all_finite(tree):
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def train_epoch(
    state: TrainState,
    X,
    y,
    Xv=None,
    yv=None,
    *,
    net,
    optimizer,
    batch_size: int,
    l2=0.0,
    l1=0.0,
    grad: str = "manual",
    patience: int | None = None,
    min_delta=0.0,
    batch_sharding=None,
    freeze: bool = True,
    compute_dtype=None,
    monitor: str = "valid_loss",
):
    """One epoch over (X, y), then validation and the early-stopping update.

    Pure and jittable; ``l2``, ``l1``, ``min_delta`` and the optimizer's
    hyper-parameters may be traced (vmapped search).

    Args:
      state: the TrainState before the epoch.
      X, y: the training set, (n, d_in) and targets of the output unit.
      Xv, yv: the validation set, or None.
      batch_sharding: a ``jax.sharding.Sharding`` for each minibatch (data parallelism).
      freeze: a stopped state passes through unchanged (its metrics are NaN),
        as compiled loops over epochs need; ``fit``, whose Python loop ends at
        the stop, turns it off and saves the select (about half the compile time).
      monitor: what early stopping and the best parameters follow:
        "valid_loss" (lower is better) or "valid_accuracy" (higher is better;
        kept in the state as its negative, so ``min_delta`` is in accuracy units).
      compute_dtype: mixed precision: each step's forward and backward pass
        runs on the parameters cast to this dtype (e.g. bfloat16), its
        gradients are cast back, and the optimizer updates the parameters in
        their own dtype (float32 master weights). None: all in the parameters' dtype.
    Returns:
      (new state, dict of this epoch's metrics: train_loss, valid_loss,
      valid_accuracy (NaN without valid), stopped, diverged).
    """
    X, y = jnp.asarray(X), jnp.asarray(y)
    n = X.shape[0]
    n_batches = -(-n // batch_size)
    # The last partial batch is padded to full size with rows of weight 0, so a
    # single compiled step serves every batch and the partial one still takes
    # the mean over its real examples only.
    pad = n_batches * batch_size - n
    value_and_grad = _value_and_grad(net, grad)
    if compute_dtype is not None:
        value_and_grad = _in_precision(value_and_grad, compute_dtype)

    def step(carry, batch):
        params, opt_state = carry
        Xb, yb, weights = batch
        if batch_sharding is not None:
            Xb = jax.lax.with_sharding_constraint(Xb, batch_sharding)
            yb = jax.lax.with_sharding_constraint(yb, batch_sharding)
        J, g = value_and_grad(params, Xb, yb, l2, l1, weights)
        updates, opt_state = optimizer.update(g, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), J

    def run(state):
        key, sub = jax.random.split(state.key)
        perm = jax.random.permutation(sub, n)
        if pad:
            idx = jnp.concatenate([perm, perm[:pad]]).reshape(n_batches, batch_size)
            counts = jnp.full((n_batches,), batch_size).at[-1].add(-pad)
            weights = (jnp.arange(batch_size) < counts[:, None]).astype(state.best_loss.dtype)
        else:
            idx, counts = perm.reshape(n_batches, batch_size), batch_size
            weights = None
        # One gather of the whole epoch's minibatches, not one per step.
        batches = (X[idx], y[idx], weights)
        carry, losses = jax.lax.scan(step, (state.params, state.opt_state), batches)
        total = jnp.sum(losses * counts)
        params, opt_state = carry
        train_loss = total / n
        finite = jnp.isfinite(train_loss) & _all_finite(params)
        # A non-finite epoch is discarded whole: the state keeps the last finite parameters.
        params = _select(finite, params, state.params)
        opt_state = _select(finite, opt_state, state.opt_state)
        if Xv is None:
            v_loss = v_acc = jnp.asarray(jnp.nan, train_loss.dtype)
            improved = finite
        else:
            v_loss, v_acc = _metrics(net, params, Xv, yv)
            score = -v_acc if monitor == "valid_accuracy" else v_loss
            improved = finite & (score < state.best_loss - min_delta)
        wait = jnp.where(improved, 0, state.wait + 1)
        stop = ~finite
        if patience is not None:
            stop = stop | (~improved & (wait >= patience))
        new = TrainState(
            params=params,
            opt_state=opt_state,
            key=key,
            epoch=state.epoch + 1,
            best_params=_select(improved, params, state.best_params),
            best_loss=jnp.where(improved, score if Xv is not None else train_loss, state.best_loss),
            best_epoch=jnp.where(improved, state.epoch, state.best_epoch),
            wait=wait,
            stopped=stop,
            diverged=~finite,
        )
        return new, dict(train_loss=train_loss, valid_loss=v_loss, valid_accuracy=v_acc)

    new, m = run(state)
    if freeze:
        new = _select(state.stopped, state, new)
        m = {k: jnp.where(state.stopped, jnp.nan, v) for k, v in m.items()}
    m.update(stopped=new.stopped, diverged=new.diverged)
    return new, m


_KIND = {"labels": "classes", "binary": "binary", "real": "real"}


def check_data(net, X, y, name: str = "train"):
    """Validates a (X, y) pair against ``net`` before any work (ValueError naming the argument).

    Examples:
      >>> import numpy as np
      >>> from nnbasics import MLP
      >>> check_data(MLP((2, 3)), np.zeros((4, 2)), np.array([0, 1, 2, 3]))
      Traceback (most recent call last):
      ...
      ValueError: ...
    """
    target = OUTPUT[net.output].target
    d = net.sizes[-1]
    check_dataset(
        X,
        y,
        kind=_KIND[target],
        n_features=net.sizes[0],
        n_classes=d if target == "labels" else None,
        n_outputs=None if target == "labels" else d,
        name_X=f"{name}[0] (X)",
        name_y=f"{name}[1] (y)",
    )


def _check_fit_args(
    net,
    params,
    optimizer,
    train,
    valid,
    epochs,
    batch_size,
    patience,
    min_delta,
    l2,
    l1,
    grad,
    checkpoint_dir,
    resume,
    overwrite,
    key,
    monitor="valid_loss",
):
    from nnbasics.mlp import MLP

    if not isinstance(net, MLP):
        _checks.fail("net", "an nnbasics.MLP", type(net).__name__)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        _checks.fail(
            "optimizer",
            "an optax.GradientTransformation (nb.optim or optax)",
            type(optimizer).__name__,
        )
    for name, pair in (("train", train), ("valid", valid)):
        if pair is None and name == "valid":
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            _checks.fail(name, "a pair (X, y)", type(pair).__name__)
        check_data(net, *pair, name=name)
    _checks.positive_int("epochs", epochs)
    n = train[0].shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        _checks.fail(
            "batch_size",
            f"an integer from 1 to the number of training examples ({n})",
            _checks.shown(batch_size),
        )
    if patience is not None:
        _checks.non_negative_int("patience", patience)
        if valid is None:
            _checks.fail(
                "patience",
                "None when no valid set is given (early stopping watches the validation loss)",
                patience,
            )
    _checks.real_in("min_delta", min_delta, 0.0, math.inf)
    _checks.one_of("monitor", monitor, MONITORS)
    if monitor == "valid_accuracy" and (valid is None or OUTPUT[net.output].target == "real"):
        _checks.fail(
            "monitor",
            "'valid_loss' unless valid is given and the output is softmax or sigmoid",
            f"'valid_accuracy' with {'no valid set' if valid is None else net.output + ' output'}",
        )
    _checks.real_in("l2", l2, 0.0, math.inf)
    _checks.real_in("l1", l1, 0.0, math.inf)
    _checks.one_of("grad", grad, ("manual", "auto"))
    _checks.prng_key("key", key)
    if resume and checkpoint_dir is None:
        _checks.fail("resume", "False unless checkpoint_dir is given", resume)
    if checkpoint_dir is not None:
        _check_checkpoint_dir(os.fspath(checkpoint_dir), resume, overwrite)
    # Shapes only (the checks run at trace time): no computation, no compile.
    jax.eval_shape(
        net.apply, params, jax.ShapeDtypeStruct((1, net.sizes[0]), jax.tree.leaves(params)[0].dtype)
    )


def _check_checkpoint_dir(directory: str, resume: bool, overwrite: bool) -> None:
    """File-system problems and an existing checkpoint, refused before any work."""
    from nnbasics import checkpoint

    if os.path.exists(directory) and not os.path.isdir(directory):
        _checks.fail(
            "checkpoint_dir", "a directory (created if missing)", f"the file {directory!r}"
        )
    target = os.path.join(directory, checkpoint.FILENAME)
    if os.path.isdir(target):
        _checks.fail(
            "checkpoint_dir",
            f"a directory where {checkpoint.FILENAME} can be written",
            f"{directory!r}, where {checkpoint.FILENAME} is a directory",
        )
    why = _files.unwritable(directory)
    if why is not None:
        _checks.fail("checkpoint_dir", "a writable directory", f"{directory!r} ({why})")
    if not resume and not overwrite and checkpoint.exists(directory):
        _checks.fail(
            "checkpoint_dir",
            "a directory without a checkpoint, or resume=True "
            "to continue it, or overwrite=True to replace it",
            f"{directory!r}, which holds one",
        )


def cast_data(net, pair, dtype):
    """(X, y) as jax arrays: X in ``dtype``, y as int labels (softmax) or in ``dtype``.

    ``pair`` may be None (no validation set): returns (None, None).

    Examples:
      >>> import numpy as np, jax.numpy as jnp
      >>> from nnbasics import MLP
      >>> X, y = cast_data(MLP((2, 3)), (np.zeros((4, 2)), np.array([0, 1, 2, 1])), jnp.float32)
      >>> X.dtype.name, y.dtype.kind  # labels stay integers
      ('float32', 'i')
    """
    if pair is None:
        return None, None
    X, y = pair
    labels = OUTPUT[net.output].target == "labels"
    return to_device(X, dtype), to_device(y, None if labels else dtype)


def to_device(x, dtype=None) -> jax.Array:
    """``jnp.asarray(x, dtype)`` without compiling: a NumPy array is put, not staged.

    (In JAX 0.10 ``jnp.asarray`` of a NumPy array compiles a small copy
    program per shape; ``jax.device_put`` copies without one.)

    Examples:
      >>> import numpy as np, jax
      >>> x = to_device(np.ones(3), "float32")
      >>> isinstance(x, jax.Array), x.dtype.name
      (True, 'float32')
    """
    if isinstance(x, jax.Array):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return jax.device_put(np.asarray(x, dtype))


def fit(
    net,
    params,
    optimizer,
    train,
    *,
    epochs: int,
    batch_size: int | None = None,
    key,
    valid=None,
    patience: int | None = None,
    min_delta: float = 0.0,
    l2: float = 0.0,
    l1: float = 0.0,
    grad: str = "manual",
    callback: Callable | None = None,
    checkpoint_dir=None,
    resume: bool = False,
    mesh=None,
    compute_dtype=None,
    overwrite: bool = False,
    monitor: str = "valid_loss",
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
    batch_size = n if batch_size is None else batch_size
    _check_fit_args(
        net,
        params,
        optimizer,
        train,
        valid,
        epochs,
        batch_size,
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
        )


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
) -> FitResult:
    """``fit`` after its arguments are checked, its checkpoint directory held."""
    compilation.use_default_cache()
    dtype = jax.tree.leaves(params)[0].dtype
    compute_dtype = _check_compute_dtype(compute_dtype)
    X, y = cast_data(net, train, compute_dtype or dtype)
    Xv, yv = cast_data(net, valid, dtype)
    state = init_state(params, optimizer, key)
    history = {k: [] for k in HISTORY_KEYS}

    # What checkpoints and the processes' agreement compare; hashing the data
    # is not free, so a plain run skips it.
    meta = None
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
    resumed_from = None
    if checkpoint_dir is not None and resume:
        from nnbasics import checkpoint

        restored = checkpoint.restore(checkpoint_dir, state, meta)
        if restored is not None:
            state, saved = restored
            checkpoint.check_train_state(checkpoint_dir, state, saved)
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
        state, X, y = distributed.replicate((state, X, y), replicated)
        if valid is not None:
            Xv, yv = distributed.replicate((Xv, yv), replicated)

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
    )

    epoch, stopped = int(state.epoch), bool(state.stopped)
    while epoch < epochs and not stopped:
        state, m = epoch_fn(state, X, y, Xv, yv)
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


LOW_PRECISION = ("bfloat16", "float16")


def _check_compute_dtype(value):
    """None, or the dtype of a name in LOW_PRECISION (ValueError otherwise)."""
    if value is None:
        return None
    try:
        name = jnp.dtype(value).name
    except TypeError:
        name = value
    _checks.one_of("compute_dtype", name, (None,) + LOW_PRECISION)
    return jnp.dtype(name)


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


def compile_epoch(net, optimizer, **config) -> EpochProgram:
    """``train_epoch`` under ``jit`` for a fixed configuration, the state donated.

    The returned ``epoch_fn(state, X, y, Xv, yv) -> (state, metrics)`` is traced
    once and reused for every epoch; the input state's buffers are reused for
    the output state, so an epoch allocates no new parameter memory. The
    optimizer's nonzero float hyper-parameters (``nb.optim`` optimizers) and
    nonzero ``l2``, ``l1``, ``min_delta`` are inputs of the program, so an
    equal optimizer, or one that differs only in those numbers, gets the same
    compiled program back (other optax transformations: the same object does).
    """
    structure, numbers = _split_optimizer(optimizer)
    tuned = {k: config.pop(k) for k in TUNABLE if optim.is_tunable(config.get(k))}
    key = ("epoch", net, structure, tuple(sorted(config.items())), tuple(sorted(tuned)))

    def make():
        def epoch(state, X, y, Xv, yv, numbers, tuned):
            return train_epoch(
                state,
                X,
                y,
                Xv,
                yv,
                net=net,
                optimizer=_rebuild(structure, numbers),
                **config,
                **tuned,
            )

        return jax.jit(epoch, donate_argnums=0)

    return EpochProgram(_program(key, make), numbers, tuned)


class EpochProgram(NamedTuple):
    """A compiled epoch with its numeric inputs bound: ``(state, X, y, Xv, yv) -> (state, metrics)``.

    Attributes:
      program: the jitted (or AOT-compiled) ``epoch(state, X, y, Xv, yv, numbers, tuned)``.
      numbers: the optimizer's hyper-parameters passed as inputs.
      tuned: the nonzero l2, l1, min_delta passed as inputs.
    """

    program: Callable
    numbers: dict
    tuned: dict

    def __call__(self, state, X, y, Xv=None, yv=None):
        return self.program(state, X, y, Xv, yv, self.numbers, self.tuned)

    def lower(self, state, X, y, Xv=None, yv=None):
        """``jax.stages.Lowered`` of the epoch for these arguments (for AOT compilation)."""
        return self.program.lower(state, X, y, Xv, yv, self.numbers, self.tuned)

    def compile(self, state, X, y, Xv=None, yv=None) -> EpochProgram:
        """The same epoch compiled ahead of time for these argument shapes."""
        return self._replace(program=self.lower(state, X, y, Xv, yv).compile())


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
        data={"train": _fingerprint(*train), "valid": _fingerprint(*valid)},
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


def _fingerprint(*arrays) -> str | None:
    """SHA-256 of the arrays' dtypes, shapes and bytes; None for (None, None)."""
    if arrays[0] is None:
        return None
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
