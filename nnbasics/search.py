"""Model selection: grid search and random search, vmapped over hyper-parameters.

A configuration is a dict of hyper-parameters. ``grid`` enumerates the
product of given values; ``random`` samples each hyper-parameter
independently (``log_uniform`` for rates and penalties, ``uniform``,
``int_range``, ``choice``). ``search`` trains every configuration, selects the
one with the best validation score and reports its test score.

Hyper-parameters are of two kinds:

  numeric (vmapped): learning_rate, the optimizer's own (b1, b2, eps, beta,
    decay, weight_decay, ...), l2, l1, min_delta, the schedule's lr_decay
    (``schedules.inverse_time``) or lr_exponent (``schedules.power``), seed;
  structural (looped): sizes, hidden, pieces, components (fields of the
    ``MLP``), batch_size, lr_hold (the schedule's constant phase), nesterov.

Configurations that agree on the structural ones form a group. For each group
one program is compiled: ``jax.vmap`` over ``run_one(hp, seed)``, which
initializes the parameters from the seed, builds the optimizer from the traced
hyper-parameters and runs every epoch in a ``lax.scan`` over
``train.train_epoch``, early stopping included, so each run stops on its own.
The group's configurations go through that program ``chunk_size`` at a time
(the last chunk padded), which bounds the memory and compiles once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import warnings
import zlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks, compilation, optim, schedules
from nnbasics.mlp import MLP
from nnbasics.train import (
    HISTORY_KEYS,
    _buckets,
    cast_data,
    check_data,
    init_state,
    to_device,
    train_epoch,
)
from nnbasics.train._epoch import _metrics, _program

# optimizer name -> (builder, its numeric hyper-parameters, its structural ones)
OPTIMIZERS = {
    name: (spec.build, tuple(spec.numeric), spec.structural)
    for name, spec in optim.REGISTRY.items()
}
TRAINING = ("l2", "l1", "min_delta")
SCHEDULE = ("lr_decay", "lr_exponent")
NET_FIELDS = ("sizes", "hidden", "pieces", "components")
STRUCTURAL = NET_FIELDS + ("batch_size", "lr_hold")
METRIC_COLUMNS = (
    "valid_loss",
    "valid_accuracy",
    "test_loss",
    "test_accuracy",
    "train_loss",
    "best_epoch",
    "epochs",
    "stopped_early",
    "diverged",
)
SELECT = {"valid_loss": np.argmin, "valid_accuracy": np.argmax}


# ------------------------------------------------------------------ samplers


class Distribution(NamedTuple):
    """A distribution over one hyper-parameter for ``random``.

    Attributes:
      description: how it was made, e.g. ``"log_uniform(0.0001, 0.1)"``.
      draw: ``(numpy Generator, n) -> n values``.

    Examples:
      >>> import numpy as np
      >>> dist = log_uniform(1e-4, 1e-1)
      >>> dist.description
      'log_uniform(0.0001, 0.1)'
      >>> values = dist.draw(np.random.default_rng(0), 3)
      >>> len(values), all(1e-4 <= v < 1e-1 for v in values)
      (3, True)
    """

    description: str
    draw: Callable[[np.random.Generator, int], Sequence]


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        _checks.fail(name, "a finite real number", value)
    return float(value)


def uniform(lo: float, hi: float) -> Distribution:
    """U[lo, hi): each value equally likely; lo < hi.

    Examples:
      >>> import jax
      >>> values = [c["beta"] for c in random(jax.random.key(0), 3, beta=uniform(0.5, 0.99))]
      >>> all(0.5 <= v < 0.99 for v in values)
      True
    """
    lo, hi = _real("lo", lo), _real("hi", hi)
    if not lo < hi:
        _checks.fail("hi", f"a number above lo={lo}", hi)
    return Distribution(
        f"uniform({lo}, {hi})", lambda rng, n: [float(v) for v in rng.uniform(lo, hi, n)]
    )


def log_uniform(lo: float, hi: float) -> Distribution:
    """log v ~ U[log lo, log hi): every decade equally likely (rates, penalties); 0 < lo < hi.

    Examples:
      >>> import jax
      >>> rates = [c["learning_rate"] for c in random(jax.random.key(0), 4, learning_rate=log_uniform(1e-4, 1e-1))]
      >>> all(1e-4 <= r < 1e-1 for r in rates)
      True
    """
    lo, hi = _real("lo", lo), _real("hi", hi)
    if not lo > 0:
        _checks.fail("lo", "a positive number (log scale)", lo)
    if not lo < hi:
        _checks.fail("hi", f"a number above lo={lo}", hi)
    return Distribution(
        f"log_uniform({lo}, {hi})",
        lambda rng, n: [float(v) for v in np.exp(rng.uniform(math.log(lo), math.log(hi), n))],
    )


def int_range(lo: int, hi: int) -> Distribution:
    """An integer from lo to hi, both included, each equally likely.

    Examples:
      >>> import jax
      >>> sizes = [c["width"] for c in random(jax.random.key(0), 5, width=int_range(8, 10))]
      >>> set(sizes) <= {8, 9, 10}
      True
    """
    lo, hi = _checks.non_negative_int("lo", lo), int(_checks.non_negative_int("hi", hi))
    if not lo <= hi:
        _checks.fail("hi", f"an integer >= lo={lo}", hi)
    return Distribution(
        f"int_range({lo}, {hi})", lambda rng, n: [int(v) for v in rng.integers(lo, hi + 1, n)]
    )


def choice(values: Sequence) -> Distribution:
    """One of ``values`` (any objects: numbers, layer sizes, unit names), each equally likely.

    Examples:
      >>> import jax
      >>> units = [c["hidden"] for c in random(jax.random.key(0), 5, hidden=choice(["relu", "tanh"]))]
      >>> set(units) <= {"relu", "tanh"}
      True
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        _checks.fail("values", "a non-empty sequence", values)
    values = list(values)
    return Distribution(
        f"choice({values!r})", lambda rng, n: [values[i] for i in rng.integers(0, len(values), n)]
    )


def grid(**axes: Sequence) -> list[dict]:
    """Every combination of the given values, the last axis varying fastest.

    Example: ``grid(learning_rate=[1e-3, 1e-2], l2=[0.0, 1e-4])`` gives 4 configs.

    Args:
      **axes: hyper-parameter name -> non-empty sequence of its values.

    Returns:
      A list of ∏ len(values) config dicts (``[{}]`` with no axes).

    Examples:
      >>> grid(learning_rate=[1e-3, 1e-2], l2=[0.0, 1e-4])
      [{'learning_rate': 0.001, 'l2': 0.0}, {'learning_rate': 0.001, 'l2': 0.0001},
       {'learning_rate': 0.01, 'l2': 0.0}, {'learning_rate': 0.01, 'l2': 0.0001}]
    """
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            _checks.fail(name, "a non-empty sequence of values", values)
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]


def random(key, n: int, **distributions) -> list[dict]:
    """``n`` configs, each hyper-parameter sampled independently.

    Each hyper-parameter's values depend only on ``key`` and its name, so
    adding another hyper-parameter leaves the others' samples unchanged.

    Args:
      key: a JAX PRNG key (typed or raw uint32).
      n: number of configs, >= 1.
      **distributions: name -> a ``Distribution``, a list/tuple (``choice``)
        or a single value (held fixed).

    Returns:
      A list of ``n`` config dicts of Python values.

    Examples:
      >>> import jax
      >>> configs = random(jax.random.key(0), 2, learning_rate=log_uniform(1e-3, 1e-1), batch_size=32)
      >>> [sorted(c) for c in configs], [c["batch_size"] for c in configs]
      ([['batch_size', 'learning_rate'], ['batch_size', 'learning_rate']], [32, 32])
    """
    n = _checks.positive_int("n", n)
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    try:
        key_words = np.asarray(key, np.uint32).ravel().tolist()
    except (TypeError, ValueError):
        _checks.fail("key", "a JAX PRNG key", type(key).__name__)
    columns = {}
    for name, dist in distributions.items():
        if isinstance(dist, (list, tuple)) and not isinstance(dist, Distribution):
            dist = choice(dist)
        if isinstance(dist, Distribution):
            rng = np.random.default_rng(key_words + [zlib.crc32(name.encode())])
            columns[name] = list(dist.draw(rng, n))
        else:
            columns[name] = [dist] * n
    return [{name: col[i] for name, col in columns.items()} for i in range(n)]


# -------------------------------------------------------------------- search


class SearchResult(NamedTuple):
    """What ``search`` returns.

    Attributes:
      table: column -> NumPy array of length C (one row per config, in the
        order given): the config's hyper-parameters, then valid_loss (best
        validation loss), valid_accuracy, test_loss, test_accuracy and
        train_loss at the best epoch, best_epoch, epochs (run),
        stopped_early, diverged. Test columns are NaN without a test set.
      best: row of the selected config.
      config: the selected config dict.
      net: the selected config's MLP.
      params: its parameters at its best validation epoch.
      history: "train_loss", "valid_loss", "valid_accuracy" -> (C, epochs)
        arrays, NaN after a run stopped (early, or at the diverging epoch).
      select: the column selected on.
      traces: how many programs were traced: one per structural group.

    Examples:
      >>> import nnbasics as nb
      >>> X, y = nb.data.load("xor")
      >>> result = search(nb.MLP((2, 4, 2), hidden="tanh"), (X, y), (X, y),
      ...                 configs=grid(learning_rate=[0.001, 0.1]), epochs=5)
      >>> result.best, result.select, result.history["valid_loss"].shape  # (configs, epochs)
      (1, 'valid_loss', (2, 5))
    """

    table: dict
    best: int
    config: dict
    net: MLP
    params: Any
    history: dict
    select: str
    traces: int


def search(
    net: MLP,
    train,
    valid,
    test=None,
    *,
    configs: Sequence[dict],
    optimizer: str = "adam",
    epochs: int,
    batch_size: int | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    grad: str = "manual",
    chunk_size: int = 16,
    select: str = "valid_loss",
    dtype=jnp.float32,
) -> SearchResult:
    """Trains ``net`` under every config, selects on valid, reports on test.

    Config ``c`` trains exactly as

        k_init, k_train = jax.random.split(jax.random.key(c.get("seed", 0)))
        nb.fit(net_c, net_c.init(k_init, dtype), opt_c, train, valid=valid,
               key=k_train, epochs=epochs, batch_size=..., patience=patience, ...)

    where ``net_c`` is ``net`` with the config's sizes/hidden/pieces/components
    and ``opt_c`` is ``nb.optim.<optimizer>(...)`` with the config's
    hyper-parameters, its learning rate a ``schedules.inverse_time(lr,
    lr_decay, lr_hold)`` or ``schedules.power(lr, lr_exponent, lr_hold)`` when
    those are given. Hyper-parameters a config leaves out take their defaults.

    Args:
      net: an ``nb.MLP``; configs may override its sizes, hidden, pieces, components.
      train, valid: (X, y) pairs, X (n, d_in); valid selects (required).
      test: (X, y) for the reported score of every config, or None.
      configs: non-empty list of config dicts with the same keys, each with a
        learning_rate (``grid``, ``random``). Keys: learning_rate, the
        optimizer's numeric arguments, l2, l1, min_delta, lr_decay,
        lr_exponent, lr_hold, seed, batch_size, nesterov (momentum), and the
        MLP fields above.
      optimizer: a name of ``nb.optim.REGISTRY`` (sgd, momentum, nesterov, adagrad,
        rmsprop, adam, adamw, nadam, amsgrad).
      epochs: maximum number of epochs per run.
      batch_size: 1..n, None for n; a config's batch_size overrides it.
      patience, min_delta: early stopping on the validation loss, per run.
      grad: "manual" (net.backprop) or "auto" (jax.grad).
      chunk_size: configs trained at once per compiled call (bounds memory).
      select: "valid_loss" (lowest best validation loss) or "valid_accuracy"
        (highest validation accuracy at that best epoch).
      dtype: parameter dtype; the numeric hyper-parameters take it too.

    Returns:
      A SearchResult; ``format_table`` prints it.

    Raises:
      ValueError: bad input, naming the argument, before any training.

    Examples:
      >>> import nnbasics as nb
      >>> X, y = nb.data.load("xor")
      >>> result = search(nb.MLP((2, 4, 2), hidden="tanh"), (X, y), (X, y),
      ...                 configs=grid(learning_rate=[0.001, 0.1]), epochs=5)
      >>> result.config, result.traces <= 1  # one program for both rates (0: compiled before)
      ({'learning_rate': 0.1}, True)
      >>> result.table["valid_loss"].shape
      (2,)
    """
    compilation.use_default_cache()
    groups, names, data = _check_search_args(
        net,
        train,
        valid,
        test,
        configs,
        optimizer,
        epochs,
        batch_size,
        patience,
        min_delta,
        grad,
        chunk_size,
        select,
        dtype,
    )
    count = len(configs)
    numeric = _numeric_names(names)
    columns = {k: np.full(count, np.nan) for k in METRIC_COLUMNS}
    history = {k: np.full((count, epochs), np.nan) for k in HISTORY_KEYS}
    groups, data, rows = _bucketed(net, groups, data)
    traced = _TRACES[0]
    pick = SELECT[select]
    best = None  # (score, row, net, params, masked)
    program = (optimizer, epochs, patience, min_delta, grad, dtype, False)
    for base, run_chunk, chunk, padded, hp, masked in _chunks(
        net, groups, configs, numeric, chunk_size, program
    ):
        seeds = to_device(np.asarray([int(configs[i].get("seed", 0)) for i in padded], np.uint32))
        out, params = run_chunk(jax.tree.map(to_device, hp), seeds, *data, rows)
        out = jax.device_get(out)
        for j, row in enumerate(chunk):
            for k in METRIC_COLUMNS:
                columns[k][row] = out[k][j]
            for k in HISTORY_KEYS:
                history[k][row] = out["history"][k][j]
        scores = np.where(
            np.isnan(out[select][: len(chunk)]),
            np.inf if select == "valid_loss" else -np.inf,
            out[select][: len(chunk)],
        )
        j = int(pick(scores))
        if best is None or _better(select, (scores[j], chunk[j]), best[:2]):
            own = jax.tree.map(lambda a, j=j: a[j], params)
            best = (scores[j], chunk[j], base, own, masked)
    table = {k: _column([c[k] for c in configs]) for k in names}
    for k in METRIC_COLUMNS:
        table[k] = (
            columns[k].astype(int)
            if k in ("best_epoch", "epochs")
            else (columns[k].astype(bool) if k in ("stopped_early", "diverged") else columns[k])
        )
    assert best is not None  # configs is non-empty, so the loop above set it
    _, row, base, params, masked = best
    net_best, params = _own_net(base, params, masked, configs[row])
    if masked:
        params = jax.tree.map(to_device, params)
    return SearchResult(
        table=table,
        best=row,
        config=dict(configs[row]),
        net=net_best,
        params=params,
        history=history,
        select=select,
        traces=_TRACES[0] - traced,
    )


def _chunks(net, groups, configs, numeric, chunk_size, program):
    """Per structural group, per chunk of its rows: (base, program, rows, padded rows, hp, masked).

    ``hp`` holds each numeric value of the chunk's configs as a NumPy array (on the
    host: a device array built from a list would compile a conversion per shape).

    ``program`` is (optimizer, epochs, patience, min_delta, grad, dtype, folds) for
    ``_compile``. The last chunk is padded with copies of its first row, so one
    program serves all. ``masked`` says the group trains each config's own units of
    the widest network (``_own_net`` cuts them out). ``base`` is ``net`` with the group's
    structural fields but ``net``'s own sizes (``_own_net`` gives each config its own).
    """
    optimizer, epochs, patience, min_delta, grad, dtype, folds = program
    for static, rows in groups.items():
        fields = dict(static)
        base = dataclasses.replace(
            net, **{k: v for k, v in fields.items() if k in NET_FIELDS and k != "sizes"}
        )
        net_g = dataclasses.replace(base, sizes=fields.get("sizes", base.sizes))
        run_chunk = _compile(
            net_g, optimizer, numeric, fields, epochs, patience, min_delta, grad, dtype, folds
        )
        masked = bool(fields.get("masked"))
        size = min(chunk_size, len(rows))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            padded = chunk + [chunk[0]] * (size - len(chunk))
            hp = {
                k: np.asarray([float(configs[i][k]) for i in padded], np.dtype(dtype))
                for k in numeric
                if k != "seed"
            }
            if masked:  # each config's own layer widths, in the widest net
                units = [
                    _buckets.width_inputs(_widths(_own(base, configs[i])), dtype) for i in padded
                ]
                hp.update({k: np.stack([u[k] for u in units]) for k in units[0]})
            yield base, run_chunk, chunk, padded, hp, masked


def _numeric_names(names) -> list[str]:
    """The numeric (vmapped) hyper-parameters among a grid's names, in their order."""
    return [k for k in names if k not in STRUCTURAL and k != "nesterov"]


def _sizes(net, config) -> tuple[int, ...]:
    """A config's layer sizes (the net's where it sets none)."""
    return tuple(config.get("sizes", net.sizes))


def _widths(net) -> tuple[int, ...]:
    """The widths of a network's layers: its sizes, the last replaced by the output's width
    (``MLP.out_width``: 2d for a gaussian output, a mixture's means, scales and weights)."""
    return net.sizes[:-1] + (net.out_width,)


def _own(base, config):
    """A config's own network: ``base`` (the group's, with the search's sizes) at its sizes."""
    return dataclasses.replace(base, sizes=_sizes(base, config))


def _own_net(base, params, masked, config):
    """(net, params) of one config: cut from the widest network's where the group was masked.

    Cut on the host (NumPy arrays: slicing device arrays would compile a program per
    shape). ``base`` is ``_chunks``' first value.
    """
    own = _own(base, config)
    if not masked:
        return own, params
    return own, _buckets.real_block(jax.device_get(params), _widths(own))


def _bucketed(net, groups, data):
    """(groups, data, rows): the data padded to its shape buckets, with the real row counts.

    ``data`` is [X, y, Xv, yv, Xt, yt] (None where absent); ``rows`` the real row
    counts of train, valid and test. Unchanged (rows None) when bucketing is off.
    """
    if not _buckets.is_enabled():
        return groups, data, None
    rows = tuple(None if a is None else np.shape(a)[0] for a in data[::2])
    cols = _columns(net, groups, np.shape(data[0])[1])
    padded = [  # X, Xv and Xt (the even places) also get the zero columns
        None
        if a is None
        else to_device(_buckets.pad(a, _buckets.size(len(a)), None if k % 2 else cols))
        for k, a in enumerate(data)
    ]
    return _bucket_groups(net, groups, rows[0], cols), padded, rows


def _columns(net, groups, d):
    """The column bucket the groups train in: ``_buckets.columns(d)``, or ``d`` when a
    group has maxout units (their masked initialization is not written) or bucketing is off."""
    if any(dict(static).get("hidden", net.hidden) == "maxout" for static in groups):
        return d
    return _buckets.columns(d)


def _bucket_groups(net, groups, n, cols=None):
    """The groups with a full-batch ``batch_size`` made the bucket's (``_buckets.padded_batch``),
    and groups that differ only in hidden widths as one of the widest network.

    Groups that then agree merge: their rows train in one program. A group of several
    widths is marked ``masked``: each config trains its own units of the widest
    network (``_buckets.masked_init``, ``unit_masks``); so is a group whose inputs
    are padded to ``cols`` columns (the first layer's extra rows masked).
    """
    total = _buckets.size(n)
    merged: dict = {}
    for static, members in groups.items():
        fields = dict(static)
        fields["batch_size"] = _buckets.padded_batch(fields["batch_size"], n, total)
        merged.setdefault(tuple(sorted(fields.items())), []).extend(members)
    widths: dict = {}
    for static, members in merged.items():
        fields = dict(static)
        sizes = fields.pop("sizes", net.sizes)
        maxout = fields.get("hidden", net.hidden) == "maxout"
        shape = (len(sizes), sizes[0], sizes[-1]) if not maxout else sizes
        key = (tuple(sorted(fields.items())), shape)
        widths.setdefault(key, []).append((sizes, members))
    out: dict = {}
    for (static, _), parts in widths.items():
        fields = dict(static)
        fields["sizes"] = _buckets.widest([sizes for sizes, _ in parts])
        if cols is not None and cols != fields["sizes"][0]:
            fields["sizes"] = (cols,) + fields["sizes"][1:]
            fields["masked"] = True
        if len(parts) > 1:
            fields["masked"] = True
        out[tuple(sorted(fields.items()))] = sorted(i for _, members in parts for i in members)
    return out


def _better(select, a, b):
    """Whether (score, row) a beats b; equal scores go to the lower row, as np.argmin does."""
    if a[0] == b[0]:
        return a[1] < b[1]
    return a[0] < b[0] if select == "valid_loss" else a[0] > b[0]


def _column(values):
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.asarray(values, bool)
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return np.asarray(values, np.int64)
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return np.asarray(values, np.float64)
    column = np.empty(len(values), object)
    column[:] = values
    return column


def _build_optimizer(name, hp, fields):
    """The optimizer of one config from its (traced or concrete) hyper-parameters."""
    builder, own, structural = OPTIMIZERS[name]
    rate = hp["learning_rate"]
    hold = fields.get("lr_hold", 0)
    if "lr_decay" in hp:
        rate = schedules.inverse_time(rate, hp["lr_decay"], hold)
    elif "lr_exponent" in hp:
        rate = schedules.power(rate, hp["lr_exponent"], hold)
    kwargs = {k: hp[k] for k in own if k in hp and k != "learning_rate"}
    kwargs.update({k: fields[k] for k in structural if k in fields})
    return builder(learning_rate=rate, **kwargs)


# Programs traced by ``_compile``'s ``run_one``; a search reports its own count.
_TRACES = [0]


def _compile(
    net, optimizer, numeric, fields, epochs, patience, min_delta, grad, dtype, folds=False
):
    """``run_chunk(hp, seeds, *data)``: one jitted vmap of ``run_one`` for a structural group.

    With ``folds``, a second vmap runs outside the first, over the training data's leading
    axis (one fold per row) and the seeds' second axis: outputs are (folds, configs, ...).
    The jitted program is kept (``train``'s small LRU of programs), so a later search
    of the same structure and shapes neither traces nor compiles it again.
    """
    key = (
        "search",
        net,
        optimizer,
        tuple(numeric),
        tuple(sorted(fields.items())),
        epochs,
        patience,
        min_delta,
        grad,
        jnp.dtype(dtype).name,
        folds,
    )
    return _program(
        key,
        lambda: _make_program(
            net, optimizer, numeric, fields, epochs, patience, min_delta, grad, dtype, folds
        ),
        stored=True,
    )


def _make_program(net, optimizer, numeric, fields, epochs, patience, min_delta, grad, dtype, folds):
    batch_size = fields["batch_size"]

    def run_one(hp, seed, X, y, Xv, yv, Xt, yt, rows, sample_weight=None):
        _TRACES[0] += 1  # counts traces: one per group when chunks reuse the program
        n, n_valid, n_test = ((tuple(rows) if rows is not None else ()) + (None,) * 3)[:3]
        k_init, k_train = jax.random.split(jax.random.key(seed))
        opt = _build_optimizer(optimizer, hp, fields)
        masks = None
        if fields.get("masked"):
            shapes = [W for W, _ in net.layer_shapes()]
            params = _buckets.masked_init(
                k_init, shapes, hp["unit_sizes"], hp["unit_bounds"], dtype
            )
            masks = _buckets.unit_masks(params, hp["unit_sizes"])
        else:
            params = net.init(k_init, dtype)
        state = init_state(params, opt, k_train)
        # Every part of the state batched from the start (a select on a batched
        # True, bitwise the same values): vmap's rule for a scan then batches the
        # loop's body once, not again for each part of the carry it finds batched.
        every = seed == seed
        state = jax.tree.map(lambda a: jnp.where(every, a, a), state)

        def epoch(state, _):
            return train_epoch(
                state,
                X,
                y,
                Xv,
                yv,
                net=net,
                optimizer=opt,
                batch_size=batch_size,
                l2=hp.get("l2", 0.0),
                l1=hp.get("l1", 0.0),
                grad=grad,
                patience=patience,
                min_delta=hp.get("min_delta", min_delta),
                sample_weight=sample_weight,
                rows=n,
                valid_rows=n_valid,
                masks=masks,
            )

        state, m = jax.lax.scan(epoch, state, None, length=epochs)
        done = state.epoch - state.diverged.astype(state.epoch.dtype)
        ran = jnp.arange(epochs) < done
        hist = {k: jnp.where(ran, m[k], jnp.nan) for k in HISTORY_KEYS}
        at_best = jnp.maximum(state.best_epoch, 0)
        found = state.best_epoch >= 0
        nan = jnp.asarray(jnp.nan, state.best_loss.dtype)
        if Xt is None:
            t_loss = t_acc = nan
        else:
            t_loss, t_acc = _metrics(net, state.best_params, Xt, yt, n_test)
        out = dict(
            valid_loss=state.best_loss,
            valid_accuracy=jnp.where(found, hist["valid_accuracy"][at_best], nan),
            test_loss=jnp.where(found, t_loss, nan),
            test_accuracy=jnp.where(found, t_acc, nan),
            train_loss=jnp.where(found, hist["train_loss"][at_best], nan),
            best_epoch=state.best_epoch,
            epochs=done,
            stopped_early=state.stopped & ~state.diverged,
            diverged=state.diverged,
            history=hist,
        )
        return out, state.best_params

    over_configs = jax.vmap(run_one, in_axes=(0, 0) + (None,) * 7)
    if folds:
        # the folds' row counts (rows[0]) and sample weights (F, n) or None are
        # batched with their data
        over_configs = jax.vmap(run_one, in_axes=(0, 0) + (None,) * 8)
        # and each numeric value is (configs, folds), as the seeds
        return jax.jit(jax.vmap(over_configs, in_axes=(1, 1, 0, 0) + (None,) * 4 + (0, 0)))
    return jax.jit(over_configs)


# ---------------------------------------------------------------- validation


def _check_search_args(
    net,
    train,
    valid,
    test,
    configs,
    optimizer,
    epochs,
    batch_size,
    patience,
    min_delta,
    grad,
    chunk_size,
    select,
    dtype,
    need_valid=True,
):
    """Validates everything; returns (groups: static fields -> rows, config names, data)."""
    if not isinstance(net, MLP):
        _checks.fail("net", "an nnbasics.MLP", type(net).__name__)
    _checks.one_of("optimizer", optimizer, tuple(OPTIMIZERS))
    _checks.positive_int("epochs", epochs)
    _checks.positive_int("chunk_size", chunk_size)
    if patience is not None:
        _checks.non_negative_int("patience", patience)
    _checks.non_negative("min_delta", min_delta)
    _checks.one_of("grad", grad, ("manual", "auto"))
    _checks.one_of("select", select, tuple(SELECT))
    if not jnp.issubdtype(dtype, jnp.floating):
        _checks.fail("dtype", "a floating dtype", dtype)
    for name, pair in (("train", train), ("valid", valid), ("test", test)):
        if pair is None and (name == "test" or not need_valid):
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            _checks.fail(name, "a pair (X, y)", type(pair).__name__)
    n = np.shape(train[0])[0]

    if isinstance(configs, dict) or not isinstance(configs, Sequence) or not configs:
        _checks.fail(
            "configs",
            "a non-empty list of config dicts (grid(...) or random(...))",
            configs if not isinstance(configs, Sequence) else f"{len(configs)} configs",
        )
    for i, c in enumerate(configs):
        if not isinstance(c, dict):
            _checks.fail(f"configs[{i}]", "a dict of hyper-parameters", type(c).__name__)
    names = list(configs[0])
    _, own, own_structural = OPTIMIZERS[optimizer]
    allowed = own + TRAINING + SCHEDULE + ("seed",) + STRUCTURAL + own_structural
    for name in names:
        if name not in allowed:
            _checks.fail(
                "configs",
                f"hyper-parameters of optimizer {optimizer!r} among " + ", ".join(allowed),
                f"{name!r}",
            )
    if "learning_rate" not in names:
        _checks.fail("configs", "a 'learning_rate' in every config", f"keys {names}")
    if "lr_decay" in names and "lr_exponent" in names:
        _checks.fail(
            "configs", "at most one of 'lr_decay' (inverse_time) and 'lr_exponent' (power)", "both"
        )
    if "lr_hold" in names and not set(SCHEDULE) & set(names):
        _checks.fail("configs", "'lr_decay' or 'lr_exponent' beside 'lr_hold'", f"keys {names}")

    groups: dict = {}
    nets = {}
    for i, c in enumerate(configs):
        if list(c) != names:
            _checks.fail(f"configs[{i}]", f"the keys of configs[0] {names}", f"keys {list(c)}")
        try:
            fields = _check_config(c, optimizer, n if batch_size is None else batch_size, n)
            key = tuple(sorted(fields.items()))
            if key not in groups:
                nets[key] = dataclasses.replace(
                    net, **{k: v for k, v in fields.items() if k in NET_FIELDS}
                )
        except ValueError as e:
            name, _, rest = str(e).partition(": ")
            raise ValueError(f"configs[{i}][{name!r}]: {rest}") from None
        groups.setdefault(key, []).append(i)
    for key, net_g in nets.items():
        for name, pair in (("train", train), ("valid", valid), ("test", test)):
            if pair is None:
                continue
            try:
                check_data(net_g, *pair, name=name)
            except ValueError as e:
                if net_g == net:
                    raise
                raise ValueError(f"configs[{groups[key][0]}] ({net_g}): {e}") from None
    data = [cast_data(net, pair, dtype) for pair in (train, valid, test)]
    return groups, names, [a for pair in data for a in pair]


def _check_config(config, optimizer, batch_size, n):
    """Checks one config's values; returns its structural fields (hashable)."""
    hp = {}
    for k, v in config.items():
        if k in NET_FIELDS or k == "nesterov":
            continue
        if k in ("seed", "batch_size", "lr_hold"):
            _checks.non_negative_int(k, v)
        elif isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            _checks.fail(k, "a finite real number", v)
        else:
            hp[k] = float(v)
    for k in TRAINING + SCHEDULE:
        if k in hp:
            _checks.non_negative(k, hp[k])
    fields = {k: config[k] for k in NET_FIELDS + ("lr_hold", "nesterov") if k in config}
    fields["batch_size"] = _checks.batch_size(config.get("batch_size", batch_size), n)
    if "sizes" in fields:
        if isinstance(fields["sizes"], (str, bytes)) or not isinstance(fields["sizes"], Sequence):
            _checks.fail("sizes", "a sequence of layer sizes", fields["sizes"])
        fields["sizes"] = tuple(fields["sizes"])
    with warnings.catch_warnings():
        # power's warning about exponents outside (0.5, 1] would repeat once per config.
        warnings.simplefilter("ignore")
        _build_optimizer(optimizer, hp, fields)
    return fields


# ------------------------------------------------------------------- display


def format_table(result: SearchResult, top: int | None = 10) -> str:
    """The results as an aligned text table, best first by ``result.select``.

    Args:
      result: a SearchResult.
      top: number of rows shown (None: all).

    Returns:
      A string: a header line of column names, then one line per config; the
      selected config is marked with ``*``.

    Examples:
      >>> import nnbasics as nb
      >>> X, y = nb.data.load("xor")
      >>> result = search(nb.MLP((2, 4, 2), hidden="tanh"), (X, y), (X, y),
      ...                 configs=grid(learning_rate=[0.001, 0.1]), epochs=5)
      >>> print(format_table(result))  # best first, the selected row marked *
         row  learning_rate  valid_loss ...
      *    1            0.1 ...
           0          0.001 ...
    """
    table = result.table
    count = len(table["valid_loss"])
    score = np.asarray(table[result.select], float)
    worst = np.inf if result.select == "valid_loss" else -np.inf
    score = np.where(np.isnan(score), worst, score)
    order = np.argsort(score if result.select == "valid_loss" else -score, kind="stable")
    if top is not None:
        order = order[: _checks.positive_int("top", top)]
    hidden = {
        k for k in ("test_loss", "test_accuracy", "valid_accuracy") if np.all(np.isnan(table[k]))
    }
    names = ["", "row"] + [k for k in table if k not in hidden]
    lines = [names]
    for i in order:
        cells = ["*" if i == result.best else "", str(i)]
        cells += [_cell(table[k][i]) for k in names[2:]]
        lines.append(cells)
    widths = [max(len(line[j]) for line in lines) for j in range(len(names))]
    text = ["  ".join(c.rjust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    if top is not None and count > len(order):
        text.append(f"({count - len(order)} more rows)")
    return "\n".join(text)


def _cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (numbers.Real, np.floating)):
        return f"{float(value):.4g}"
    return str(value)
