"""The epoch program: the training state, one compiled epoch, and its metrics.

Part of ``nnbasics.train`` (re-exported there): ``TrainState``, ``init_state``,
``train_epoch``, ``compile_epoch``, ``EpochProgram``, ``metrics`` and ``evaluate``.

One epoch is one compiled program: the training set is permuted with the
epoch's key, cut into ``ceil(n / batch_size)`` minibatches (the last partial
one padded with rows of weight 0) that a ``lax.scan`` visits in order, so every
example is seen exactly once per epoch whatever the batch size. Each step is

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
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike, DTypeLike

from nnbasics import _checks, _store, optim
from nnbasics.losses import OUTPUT
from nnbasics.train import _buckets

if TYPE_CHECKING:
    from nnbasics.mlp import MLP

Params = Any
"""A pytree of arrays: an MLP's list of ``{"W": (d_in, d_out), "b": (d_out,)}``."""
Metrics = tuple[jax.Array, jax.Array]
"""(mean NLL, accuracy) as 0-d arrays; accuracy is NaN for real-valued outputs."""

__all__ = [
    "TUNABLE",
    "EpochProgram",
    "TrainState",
    "compile_epoch",
    "evaluate",
    "init_state",
    "metrics",
    "start_state",
    "train_epoch",
]


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


def init_state(
    params: Params, optimizer: optax.GradientTransformation, key: ArrayLike
) -> TrainState:
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
        stored=True,
    )
    return program(params, _raw_key(key), numbers)


def start_state(
    net: MLP,
    optimizer: optax.GradientTransformation,
    seed: int,
    dtype,
    columns: int | None = None,
) -> TrainState:
    """``init_state(net.init(k_init, dtype), optimizer, k_train)`` in one compiled program,
    where ``k_init, k_train = jax.random.split(jax.random.key(seed))``.

    The same state, bit for bit, as the three steps run one by one (which compile
    four small programs for the keys, one for the parameters and one for the state);
    the estimators start every fit this way. ``seed``: an int in 0..2**31 - 1.

    ``columns`` (≥ ``net.sizes[0]``): the state of ``net`` fed that many features, the
    real ones first and zeros after them: the first layer's weights get zero rows
    for the zero features, the rest is bitwise ``net.init``'s. Its program is that of
    the wider network (the real widths are its inputs), so nets that differ only in
    their number of features share it.

    Examples:
      >>> import jax, numpy as np
      >>> from nnbasics import MLP, optim
      >>> net = MLP((2, 3, 2))
      >>> k_init, k_train = jax.random.split(jax.random.key(7))
      >>> state = start_state(net, optim.adam(0.1), 7, "float32")
      >>> steps = init_state(net.init(k_init), optim.adam(0.1), k_train)
      >>> all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(steps)))
      True
    """
    structure, numbers = _split_optimizer(optimizer)
    dtype = jnp.dtype(dtype)
    wide, widths = net, None
    if columns is not None and columns != net.sizes[0]:
        if columns < net.sizes[0] or net.hidden == "maxout":
            _checks.fail(
                "columns",
                f"at least net.sizes[0] = {net.sizes[0]}, for a net without maxout units",
                f"{columns} for a net of {net.hidden} units",
            )
        wide = _buckets.with_columns(net, columns)
        widths = _buckets.width_inputs(net.sizes[:-1] + (net.out_width,), dtype)

    def start(seed, numbers, widths):
        k_init, k_train = jax.random.split(jax.random.key(seed))
        if widths is None:
            params = wide.init(k_init, dtype)
        else:
            shapes = [W for W, _ in wide.layer_shapes()]
            params = _buckets.masked_init(k_init, shapes, **widths, dtype=dtype)
        return _init_state(params, _rebuild(structure, numbers), jax.random.key_data(k_train))

    program = _program(
        ("start_state", wide, structure, dtype.name), lambda: jax.jit(start), stored=True
    )
    return program(np.uint32(seed), numbers, widths)


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
# Threads share the cache (nnbasics.sklearn compiles a refit beside its search): a get,
# a move and an eviction must not interleave. make() only wraps a function in jax.jit.
_PROGRAMS_LOCK = threading.RLock()
TUNABLE = ("l2", "l1", "min_delta")
"""Settings that are inputs of the compiled epoch when nonzero: a sweep over them compiles once."""


def _program(key, make: Callable, stored: bool = False) -> Callable:
    """The program cached under ``key``, made by ``make()`` on a miss (not cached if unhashable).

    ``stored``: ``make()`` returns a jitted function whose compiled executables are
    kept whole on disk under ``key`` (``nnbasics._store``), so that the next process
    loads them without tracing; ``key`` must then name everything the program depends on.
    """
    with _PROGRAMS_LOCK:
        try:
            program = _PROGRAMS.get(key)
        except TypeError:  # e.g. an optimizer holding arrays
            return make()
        if program is None:
            program = _PROGRAMS[key] = _store.Stored(key, make()) if stored else make()
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


def metrics(net: MLP, params: Params, X: ArrayLike, y: ArrayLike) -> Metrics:
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


def evaluate(net: MLP, params: Params, *pairs: tuple[ArrayLike, ArrayLike]) -> list[Metrics]:
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
        lambda: jax.jit(lambda params, pairs, rows: _stacked_metrics(net, params, pairs, rows)),
        stored=True,
    )
    rows = None
    if _buckets.is_enabled() and all(_buckets.paddable(a) for pair in pairs for a in pair):
        # Padded to its bucket (data sharded over devices stays as it is, unpadded).
        rows = tuple(np.shape(X)[0] for X, _ in pairs)
        pairs = tuple(
            (_buckets.pad(X, _buckets.size(n)), _buckets.pad(y, _buckets.size(n)))
            for (X, y), n in zip(pairs, rows)
        )
    return program(params, pairs, rows)


def _stacked_metrics(net, params, pairs, rows=None):
    if rows is None:
        rows = (None,) * len(pairs)
    if len(pairs) == 1:
        (X, y), n = pairs[0], rows[0]
        return [_metrics(net, params, X, y, n)]
    X = jnp.concatenate([X for X, _ in pairs])
    y = jnp.concatenate([y for _, y in pairs])
    losses, hits = _per_example(net, net.apply(params, X), y)
    ends = np.cumsum([X.shape[0] for X, _ in pairs])
    starts = ends - [X.shape[0] for X, _ in pairs]
    return [
        (_buckets.mean(losses[a:b], n), _buckets.mean(hits[a:b], n))
        for a, b, n in zip(starts, ends, rows)
    ]


def _per_example(net, z, y):
    """(per-example NLL, per-example correctness or NaN for regression outputs)."""
    unit = OUTPUT[net.output]
    losses = unit.nll(z, y)
    if unit.target == "real":
        return losses, jnp.full(losses.shape, jnp.nan, losses.dtype)
    return losses, (unit.predict(z, net.sizes[-1]) == y).astype(losses.dtype)


def _metrics(net, params, X, y, rows=None):
    """(mean NLL, accuracy) over the first ``rows`` examples (all when None)."""
    losses, hits = _per_example(net, net.apply(params, X), y)
    return _buckets.mean(losses, rows), _buckets.mean(hits, rows)


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


def _masked(value_and_grad, masks) -> Callable:
    """``value_and_grad`` with its gradients multiplied by ``masks`` (0 on masked weights)."""

    def masked(params, X, y, l2, l1, weights):
        J, g = value_and_grad(params, X, y, l2, l1, weights)
        return J, jax.tree.map(jnp.multiply, g, masks)

    return masked


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _all_finite(tree):
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def train_epoch(
    state: TrainState,
    X: ArrayLike,
    y: ArrayLike,
    Xv: ArrayLike | None = None,
    yv: ArrayLike | None = None,
    *,
    net: MLP,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    l2: ArrayLike = 0.0,
    l1: ArrayLike = 0.0,
    grad: str = "manual",
    patience: int | None = None,
    min_delta: ArrayLike = 0.0,
    batch_sharding: jax.sharding.Sharding | None = None,
    freeze: bool = True,
    compute_dtype: DTypeLike | None = None,
    monitor: str = "valid_loss",
    sample_weight: ArrayLike | None = None,
    rows: ArrayLike | None = None,
    valid_rows: ArrayLike | None = None,
    masks: Params | None = None,
) -> tuple[TrainState, dict[str, jax.Array]]:
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
      sample_weight: None, or per-example weights s (n,), ≥ 0: each minibatch's
        loss becomes Σ sᵢ nllᵢ / Σ sᵢ over its examples and its penalty is scaled
        by (examples in it) / Σ sᵢ, so ``l2 = alpha / batch_size`` is scikit-learn's
        MLP penalty alpha / (2·Σ sᵢ) on full minibatches; a minibatch whose
        weights are all 0 leaves the parameters and optimizer state as they were.
      compute_dtype: mixed precision: each step's forward and backward pass
        runs on the parameters cast to this dtype (e.g. bfloat16), its
        gradients are cast back, and the optimizer updates the parameters in
        their own dtype (float32 master weights). None: all in the parameters' dtype.
      rows, valid_rows: for data padded to a shape bucket (``nnbasics.train._buckets``),
        the number of real rows of X and of Xv (ints, possibly traced); the
        padding after them is never visited, weighted or counted, so the epoch
        equals the unpadded one. None: every row is real.
      masks: for a network trained inside a wider one (``nnbasics.train._buckets``),
        a pytree like the parameters, 1 on its own weights and 0 on the others,
        whose gradients it zeroes: weights that start at 0 stay 0. None: no mask.
    Returns:
      (new state, dict of this epoch's metrics: train_loss, valid_loss,
      valid_accuracy (NaN without valid), stopped, diverged).
    """
    X, y = jnp.asarray(X), jnp.asarray(y)
    n = X.shape[0]
    n_batches = -(-n // batch_size)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(state.best_loss.dtype)
    # The last partial batch is padded to full size with rows of weight 0, so a
    # single compiled step serves every batch and the partial one still takes
    # the mean over its real examples only.
    pad = n_batches * batch_size - n
    padded = rows is not None
    value_and_grad = _value_and_grad(net, grad)
    if compute_dtype is not None:
        value_and_grad = _in_precision(value_and_grad, compute_dtype)
    if masks is not None:
        value_and_grad = _masked(value_and_grad, masks)

    def update(carry, batch):
        params, opt_state = carry
        Xb, yb, weights, scale, _ = batch
        if batch_sharding is not None:
            Xb = jax.lax.with_sharding_constraint(Xb, batch_sharding)
            yb = jax.lax.with_sharding_constraint(yb, batch_sharding)
        if scale is None:
            J, g = value_and_grad(params, Xb, yb, l2, l1, weights)
            updates, opt_state = optimizer.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), J
        return _weighted_step(value_and_grad, optimizer, params, opt_state, batch[:4], l2, l1)

    def step(carry, batch):
        if not padded:
            return update(carry, batch)
        # A minibatch of padding only is no step: nothing changes, not even the
        # optimizer's count (under vmap the cond becomes a select, still exact).
        skip = lambda carry, batch: (carry, jnp.zeros((), batch[2].dtype))
        return jax.lax.cond(batch[4] > 0, update, skip, carry, batch)

    def run(state):
        key, sub = jax.random.split(state.key)
        if padded:
            assert rows is not None  # narrowed for the type checker: padded says so
            perm = _buckets.permutation(sub, rows, n)
            idx = jnp.concatenate([perm, perm[:pad]]) if pad else perm
            idx = idx.reshape(n_batches, batch_size)
            counts = jnp.clip(rows - batch_size * jnp.arange(n_batches), 0, batch_size)
            weights = (jnp.arange(batch_size) < counts[:, None]).astype(state.best_loss.dtype)
        elif pad:
            perm = jax.random.permutation(sub, n)
            idx = jnp.concatenate([perm, perm[:pad]]).reshape(n_batches, batch_size)
            counts = jnp.full((n_batches,), batch_size).at[-1].add(-pad)
            weights = (jnp.arange(batch_size) < counts[:, None]).astype(state.best_loss.dtype)
        else:
            perm = jax.random.permutation(sub, n)
            idx, counts = perm.reshape(n_batches, batch_size), batch_size
            weights = None
        # One gather of the whole epoch's minibatches, not one per step.
        weights, scale = (weights, None)
        if sample_weight is not None:
            weights, scale = _weigh_batches(sample_weight, idx, weights, counts)
        batches = (X[idx], y[idx], weights, scale, counts if padded else None)
        carry, losses = jax.lax.scan(step, (state.params, state.opt_state), batches)
        total = jnp.sum(losses * counts)
        params, opt_state = carry
        train_loss = total / (jnp.asarray(rows, total.dtype) if padded else n)
        finite = jnp.isfinite(train_loss) & _all_finite(params)
        # A non-finite epoch is discarded whole: the state keeps the last finite parameters.
        params = _select(finite, params, state.params)
        opt_state = _select(finite, opt_state, state.opt_state)
        if Xv is None:
            v_loss = v_acc = jnp.asarray(jnp.nan, train_loss.dtype)
            improved = finite
        else:
            v_loss, v_acc = _metrics(net, params, Xv, yv, valid_rows)
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


def _weigh_batches(sample_weight, idx, padding, counts):
    """(weights, penalty scale) of each weighted minibatch, (n_batches, B) and (n_batches,).

    The padding rows keep weight 0; each batch's penalty is scaled by
    (examples in it) / Σ its weights (see ``train_epoch``'s sample_weight).
    """
    weights = sample_weight[idx] if padding is None else sample_weight[idx] * padding
    total = jnp.sum(weights, axis=1)
    return weights, jnp.broadcast_to(counts, total.shape).astype(total.dtype) / total


def _weighted_step(value_and_grad, optimizer, params, opt_state, batch, l2, l1):
    """One step on a weighted minibatch; a batch of total weight 0 changes nothing."""
    Xb, yb, weights, scale = batch
    some = jnp.sum(weights) > 0
    # a batch of weight 0 is computed with unit weights (finite) and then discarded
    weights = jnp.where(some, weights, jnp.ones_like(weights))
    scale = jnp.where(some, scale, 0.0)
    J, g = value_and_grad(params, Xb, yb, l2 * scale, l1 * scale, weights)
    updates, new_state = optimizer.update(g, opt_state, params)
    new = (optax.apply_updates(params, updates), new_state)
    return _select(some, new, (params, opt_state)), jnp.where(some, J, 0.0)


def compile_epoch(net: MLP, optimizer: optax.GradientTransformation, **config: Any) -> EpochProgram:
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
        def epoch(state, X, y, Xv, yv, numbers, tuned, rows, sample_weight=None):
            return train_epoch(
                state,
                X,
                y,
                Xv,
                yv,
                net=net,
                optimizer=_rebuild(structure, numbers),
                sample_weight=sample_weight,
                **config,
                **tuned,
                **rows,
            )

        return jax.jit(epoch, donate_argnums=0)

    return EpochProgram(_program(key, make, stored=True), numbers, tuned)


class EpochProgram(NamedTuple):
    """A compiled epoch with its numeric inputs bound: ``(state, X, y, Xv, yv) -> (state, metrics)``.

    ``rows``: for data padded to a shape bucket, ``{"rows": n, "valid_rows": nv}``
    (the real row counts, inputs of the program); empty for unpadded data.

    Attributes:
      program: the jitted (or AOT-compiled) ``epoch(state, X, y, Xv, yv, numbers, tuned)``.
      numbers: the optimizer's hyper-parameters passed as inputs.
      tuned: the nonzero l2, l1, min_delta passed as inputs.
      rows: the real row counts of padded data, passed as inputs.
    """

    program: Callable
    numbers: dict
    tuned: dict
    rows: dict | None = None

    def __call__(self, state, X, y, Xv=None, yv=None, sample_weight=None):
        rows = self.rows or {}
        if sample_weight is None:  # the same call, so the same compiled program, as before
            return self.program(state, X, y, Xv, yv, self.numbers, self.tuned, rows)
        return self.program(state, X, y, Xv, yv, self.numbers, self.tuned, rows, sample_weight)

    def lower(self, state, X, y, Xv=None, yv=None):
        """``jax.stages.Lowered`` of the epoch for these arguments (for AOT compilation)."""
        return self.program.lower(state, X, y, Xv, yv, self.numbers, self.tuned, self.rows or {})

    def compile(self, state, X, y, Xv=None, yv=None) -> EpochProgram:
        """The same epoch compiled ahead of time for these argument shapes."""
        return self._replace(program=self.lower(state, X, y, Xv, yv).compile())
