"""Cross-validation: every (config, fold) pair trained together, vmapped.

``train_folds`` is :func:`nnbasics.search.search`'s program with a second vmap
around it, over the folds' stacked training sets: one compiled program per
structural group trains ``chunk_size`` configs on every fold at once.
``nnbasics.sklearn.GridSearchCV`` runs on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from nnbasics import _checks, compilation
from nnbasics.mlp import MLP
from nnbasics.search import (
    _TRACES,
    _bucket_groups,
    _check_search_args,
    _chunks,
    _columns,
    _numeric_names,
    _own_net,
)
from nnbasics.train import _buckets, cast_data, to_device
from nnbasics.train._fit import _check_sample_weight

__all__ = ["FoldsResult", "train_folds"]


class FoldsResult(NamedTuple):
    """What ``train_folds`` returns.

    Attributes:
      params: ``params[c][f]``, the parameters (NumPy arrays) config ``c``
        ended with on fold ``f``: the last finite ones, as ``nb.fit`` without
        a validation set returns.
      train_loss: (C, F, epochs) per-epoch training loss, NaN after a run
        diverged.
      diverged: (C, F) booleans.
      nets: ``nets[c]``, config ``c``'s MLP.
      traces: how many programs were traced: one per structural group and fold shape.
    """

    params: list
    train_loss: np.ndarray
    diverged: np.ndarray
    nets: list
    traces: int


def train_folds(
    net: MLP,
    folds: Sequence,
    *,
    configs: Sequence[dict],
    optimizer: str = "adam",
    epochs: int,
    batch_size: int | None = None,
    grad: str = "manual",
    chunk_size: int = 16,
    dtype=jnp.float32,
    seeds=None,
    sample_weights: Sequence | None = None,
    fold_values: Mapping[str, ArrayLike] | None = None,
) -> FoldsResult:
    """Trains every (config, fold) pair: the folds a vmapped axis beside the configs.

    Config ``c`` on fold ``f`` trains exactly as

        k_init, k_train = jax.random.split(jax.random.key(seed))
        nb.fit(net_c, net_c.init(k_init, dtype), opt_c, folds[f], key=k_train,
               epochs=epochs, batch_size=..., l2=..., l1=...)

    with ``net_c`` and ``opt_c`` as in :func:`nnbasics.search.search` and ``seed`` the
    config's (or ``seeds[c][f]``). Folds whose training sets have the same
    shapes are stacked, and one compiled program per structural group trains
    ``chunk_size`` configs × those folds at once (cross-validation: each fold
    is the data outside its held-out part).

    Args:
      net: an ``nb.MLP``; configs may override its sizes, hidden, pieces, components.
      folds: non-empty list of training pairs (X_f, y_f), X_f (n_f, d_in).
      configs, optimizer, epochs, batch_size, grad, chunk_size, dtype: as in
        :func:`nnbasics.search.search`
        (no early stopping: no validation set).
      seeds: None (each config's "seed", 0 without one) or a (C, F) array of
        ints, one seed per pair.
      sample_weights: None, or one array of per-example weights (n_f,) per fold, as
        ``nb.fit``'s ``sample_weight`` (each fold trains on its own weights).
      fold_values: None, or numeric hyper-parameters that differ per fold:
        ``{name: (C, F) array}``, entry [c, f] replacing config ``c``'s value of
        ``name`` on fold ``f`` (e.g. ``l2 = alpha / batch`` where the batch is each
        fold's size). Every config must hold the name; the value is an input of
        the compiled program, so folds that differ only in it train together.

    Returns:
      A FoldsResult.

    Raises:
      ValueError: bad input, naming the argument, before any training.
    """
    compilation.use_default_cache()
    if isinstance(folds, (str, bytes)) or not isinstance(folds, Sequence) or not folds:
        _checks.fail("folds", "a non-empty list of (X, y) training pairs", folds)
    shapes: dict = {}
    checked = {}
    for f, pair in enumerate(folds):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            _checks.fail(f"folds[{f}]", "a pair (X, y)", type(pair).__name__)
        shape = (np.shape(pair[0]), np.shape(pair[1]))
        if shape not in checked:
            try:
                checked[shape] = _check_search_args(
                    net,
                    pair,
                    None,
                    None,
                    configs,
                    optimizer,
                    epochs,
                    batch_size,
                    None,
                    0.0,
                    grad,
                    chunk_size,
                    "valid_loss",
                    dtype,
                    need_valid=False,
                )[:2]
            except ValueError as e:
                raise ValueError(f"folds[{f}]: {e}") from None
        stack = shape
        if _buckets.is_enabled():
            # Folds of one bucket stack together, whatever their row counts.
            n = shape[0][0]
            cols = _columns(net, checked[shape][0], shape[0][1])
            groups = _bucket_groups(net, checked[shape][0], n, cols)
            stack = (
                (_buckets.size(n), cols),
                shape[1][1:],
                tuple((k, tuple(v)) for k, v in groups.items()),
            )
            checked[stack] = (groups, checked[shape][1])
        shapes.setdefault(stack, []).append(f)
    count, n_folds = len(configs), len(folds)
    if sample_weights is not None:
        if len(sample_weights) != n_folds:
            _checks.fail(
                "sample_weights", f"None or {n_folds} arrays, one per fold", len(sample_weights)
            )
        sample_weights = [
            _check_sample_weight(w, np.shape(pair[0])[0]) for w, pair in zip(sample_weights, folds)
        ]
    if seeds is None:
        seeds = np.asarray([[c.get("seed", 0)] * n_folds for c in configs])
    seeds = np.asarray(seeds)
    if seeds.shape != (count, n_folds) or not np.issubdtype(seeds.dtype, np.integer):
        _checks.fail("seeds", f"None or ({count}, {n_folds}) ints", f"shape {seeds.shape}")
    if seeds.size and not (seeds.min() >= 0 and seeds.max() < 2**32):
        _checks.fail("seeds", "ints in [0, 2**32)", f"range [{seeds.min()}, {seeds.max()}]")
    fold_values = _check_fold_values(fold_values, configs, (count, n_folds))
    params = [[None] * n_folds for _ in range(count)]
    nets: list[MLP | None] = [None] * count
    train_loss = np.full((count, n_folds, epochs), np.nan)
    diverged = np.zeros((count, n_folds), bool)
    traced = _TRACES[0]
    for shape, fold_rows in shapes.items():
        groups, names = checked[shape]
        numeric = _numeric_names(names)
        stacked = [cast_data(net, folds[f], dtype) for f in fold_rows]
        rows, cols = None, None
        total = max(np.shape(X)[0] for X, _ in stacked)
        if _buckets.is_enabled():
            rows = (np.asarray([np.shape(X)[0] for X, _ in stacked]),)
            total, cols = shape[0]
        # stacked on the host: jnp.stack would compile a program per fold count and shape
        X = to_device(np.stack([_buckets.pad(X, total, cols) for X, _ in stacked]))
        y = to_device(np.stack([_buckets.pad(y, total) for _, y in stacked]))
        weights = None
        if sample_weights is not None:
            weights = np.stack([_buckets.pad(sample_weights[f], total) for f in fold_rows])
            weights = to_device(weights.astype(dtype))
        program = (optimizer, epochs, None, 0.0, grad, dtype, True)
        for base, run_chunk, chunk, padded, hp, masked in _chunks(
            net, groups, configs, numeric, chunk_size, program
        ):
            # (configs, folds) of every numeric value: the folds' axis is vmapped too
            hp = {
                k: to_device(
                    fold_values[k][np.ix_(padded, fold_rows)].astype(v.dtype)
                    if k in fold_values
                    else np.repeat(v[:, None], len(fold_rows), axis=1)
                )
                for k, v in hp.items()
            }
            chunk_seeds = to_device(np.asarray(seeds[np.ix_(padded, fold_rows)], np.uint32))
            out, got = jax.device_get(
                run_chunk(hp, chunk_seeds, X, y, None, None, None, None, rows, weights)
            )
            for j, row in enumerate(chunk):
                for a, f in enumerate(fold_rows):
                    nets[row], params[row][f] = _own_net(
                        base,
                        jax.tree.map(lambda v, a=a, j=j: v[a, j], got),
                        masked,
                        configs[row],
                    )
                    train_loss[row, f] = out["history"]["train_loss"][a, j]
                    diverged[row, f] = out["diverged"][a, j]
    return FoldsResult(params, train_loss, diverged, nets, _TRACES[0] - traced)


def _check_fold_values(fold_values, configs, shape) -> dict[str, np.ndarray]:
    """``fold_values`` as {name: finite float (C, F) array}, each name a numeric config value."""
    if fold_values is None:
        return {}
    numeric = sorted(k for k in _numeric_names(configs[0]) if k != "seed")
    checked = {}
    for name, values in dict(fold_values).items():
        if name not in numeric:
            _checks.fail(
                "fold_values", f"names of the configs' numeric values {numeric}", repr(name)
            )
        try:
            a = np.asarray(values, np.float64)
        except (TypeError, ValueError):
            _checks.fail(f"fold_values[{name!r}]", f"a {shape} array of numbers", repr(values)[:80])
        if a.shape != shape:
            _checks.fail(f"fold_values[{name!r}]", f"a {shape} array", f"shape {a.shape}")
        if not np.all(np.isfinite(a)):
            _checks.fail(f"fold_values[{name!r}]", "finite numbers", "a non-finite value")
        checked[name] = a
    return checked
