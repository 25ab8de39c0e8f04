"""Shape buckets: one compiled program serves every row count of a bucket.

A data set of ``n`` rows is padded with zero rows up to ``size(n)``, the
next power of two at or above ``n`` (at least ``FLOOR``), and the programs
are told how many rows are real. Everything they compute reads the real rows
only:

  - the epoch's minibatch order is :func:`permutation` — exactly
    ``jax.random.permutation(key, n)`` over the real rows, the padding after
    them — so a padded run visits the same examples in the same order as an
    unpadded one;
  - the padding has weight 0 in every minibatch's mean, and a step whose
    minibatch holds no real row is skipped whole: parameters, optimizer
    state and its step count are unchanged;
  - losses, accuracies and predictions are taken over the real rows
    (:func:`mean`, and slicing the first ``n`` predictions).

So a bucketed run equals the unbucketed one up to the order of floating-point
sums, while a grid search's folds, a pipeline's tables and ``predict`` on new
row counts reuse one program per bucket instead of compiling one per count.

Powers of two keep the number of buckets logarithmic in the largest data set
(a dozen up to a million rows) and waste less than half of a bucket; the floor
of 32 rows puts every tiny set (XOR, a toy example, a few predictions) in one
bucket. ``enabled(False)`` turns bucketing off (each shape its own program,
no padding), as the tests do to compare against the unbucketed computation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = [
    "COLUMN_STEP",
    "FLOOR",
    "columns",
    "with_columns",
    "padded_batch",
    "enabled",
    "is_enabled",
    "mean",
    "pad",
    "paddable",
    "permutation",
    "size",
]

FLOOR = 32
"""The smallest bucket: data sets of up to 32 rows all share it."""

_STATE = {"enabled": True}


def is_enabled() -> bool:
    """Whether the drivers pad rows to buckets (the default) or run every shape as it is.

    Off, too, under ``jax_threefry_partitionable=False``: :func:`permutation` reproduces
    JAX's permutation only with partitionable random bits (JAX's default).
    """
    return _STATE["enabled"] and bool(jax.config.jax_threefry_partitionable)  # pyright: ignore[reportAttributeAccessIssue]


@contextlib.contextmanager
def enabled(flag: bool) -> Iterator[None]:
    """``with enabled(False): ...`` runs the drivers unbucketed (one program per shape).

    Examples:
      >>> with enabled(False):
      ...     size(100)
      100
      >>> size(100)
      128
    """
    previous = _STATE["enabled"]
    _STATE["enabled"] = bool(flag)
    try:
        yield
    finally:
        _STATE["enabled"] = previous


def size(n: int) -> int:
    """The bucket of ``n`` rows: max(FLOOR, 2^⌈log₂ n⌉); ``n`` itself when bucketing is off.

    Examples:
      >>> [size(n) for n in (1, 32, 33, 100, 128, 129, 1797)]
      [32, 32, 64, 128, 128, 256, 2048]
    """
    n = int(n)
    if not is_enabled():
        return n
    return max(FLOOR, 1 << max(0, n - 1).bit_length())


def pad(a: ArrayLike, rows: int, cols: int | None = None) -> np.ndarray:
    """``a`` (n, ...) with zero rows appended up to ``rows`` rows and, given ``cols``,
    zero columns (last axis) up to ``cols``, as a NumPy array.

    Padded on the host: an eager ``jnp.pad`` would compile a program per shape.

    Examples:
      >>> pad(np.ones((2, 3)), 4).sum(axis=1).tolist()
      [3.0, 3.0, 0.0, 0.0]
      >>> pad(np.ones((2, 3)), 2, cols=5).tolist()
      [[1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0]]
    """
    a = np.asarray(a)
    widths = [(0, max(0, rows - a.shape[0]))] + [(0, 0)] * (a.ndim - 1)
    if cols is not None:
        widths[-1] = (0, max(0, cols - a.shape[-1]))
    if not any(after for _, after in widths):
        return a
    return np.pad(a, widths)


def paddable(a) -> bool:
    """Whether ``a`` can be padded on the host: NumPy data, or a JAX array on one device."""
    if isinstance(a, jax.Array):
        return len(a.sharding.device_set) == 1
    return isinstance(a, np.ndarray)


def _rounds(n: int) -> int:
    """Sorting rounds ``jax.random.permutation`` uses for n elements (its static rule)."""
    return int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))


def _first_with(rounds: int, upto: int) -> int:
    """The least n ≤ upto with ``_rounds(n) >= rounds`` (upto + 1 if none)."""
    lo, hi = 1, upto + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _rounds(mid) >= rounds:
            hi = mid
        else:
            lo = mid + 1
    return lo


def permutation(key: ArrayLike, rows: ArrayLike, total: int) -> jax.Array:
    """A permutation of ``range(total)`` whose first ``rows`` entries are
    ``jax.random.permutation(key, rows)`` and whose rest is ``rows, ..., total − 1``.

    ``rows`` may be traced: one program serves every count up to ``total``.
    JAX shuffles by sorting on random 32-bit keys, ``_rounds(n)`` times; with
    partitionable threefry (JAX's default) the keys of the first ``rows``
    positions do not depend on the array's length, so giving the padding the
    largest key (a stable sort keeps it last) and applying only the rounds an
    array of ``rows`` elements would get reproduces JAX's permutation exactly.

    Args:
      key: a PRNG key (typed or raw uint32 data).
      rows: the number of real rows, 0 ≤ rows ≤ total (int, possibly traced).
      total: the padded length (static).

    Exact only with ``jax_threefry_partitionable=True``, when :func:`is_enabled` is.

    Returns:
      an int32 array (total,).

    Examples:
      >>> key = jax.random.key(0)
      >>> bool(jnp.all(permutation(key, 5, 8)[:5] == jax.random.permutation(key, 5)))
      True
      >>> permutation(key, 5, 8)[5:].tolist()
      [5, 6, 7]
    """
    uint32max = np.iinfo(np.uint32).max
    position = jnp.arange(total)
    rows = jnp.asarray(rows)
    real = position < rows

    def shuffle(carry):
        key, x = carry
        key, subkey = jax.random.split(key)
        bits = jax.random.bits(subkey, (total,), jnp.uint32)
        bits = jnp.where(real, bits, jnp.uint32(uint32max))
        return key, jax.lax.sort_key_val(bits, x)[1]

    carry = (key, position)
    for k in range(1, _rounds(total) + 1):
        # A round that `rows` elements would not get is skipped, not computed and
        # discarded: its sort is most of an epoch's shuffling (under vmap, where the
        # condition is batched, both branches run and a select keeps one, as before).
        carry = jax.lax.cond(rows >= _first_with(k, total), shuffle, lambda c: c, carry)
    return carry[1]


def mean(values: jax.Array, rows: ArrayLike | None) -> jax.Array:
    """The mean of ``values``' entries in its first ``rows`` rows (all of them when rows is None).

    The padding is selected away, not multiplied by 0, so a non-finite value
    there cannot leak into the mean.
    """
    if rows is None:
        return jnp.mean(values)
    real = (jnp.arange(values.shape[0]) < rows).reshape((-1,) + (1,) * (values.ndim - 1))
    count = jnp.asarray(rows, values.dtype) * math.prod(values.shape[1:])
    return jnp.sum(jnp.where(real, values, 0)) / count


def padded_batch(batch: int, n: int, total: int) -> int:
    """The minibatch size of a padded epoch: ``batch``, or the whole bucket for full-batch descent.

    A batch of all ``n`` rows becomes a batch of all ``total`` slots (the padding
    weighted 0): the same mean, and every row count of the bucket shares the program.
    """
    return total if batch >= n else batch


# ------------------------------------------------------------ feature columns
#
# A search's or cross-validation's table is also padded with zero columns, up to
# ``columns(d)``: its programs train the widest network with a first layer of that
# many inputs, the rows of W for the padding masked (0 from the start, gradient 0),
# so tables of nearby widths share one program and each config's network is the
# same numbers in its real block.

COLUMN_STEP = 16
"""Feature columns are padded up to a multiple of this many."""


def columns(d: int) -> int:
    """The column bucket of ``d`` features: d rounded up to a multiple of ``COLUMN_STEP``.

    Multiples rather than powers of two: a wide table (784 pixels) pays for at most
    15 zero columns, while the small tables (4, 10, 13 features) share one bucket.
    ``d`` itself when bucketing is off.

    Examples:
      >>> [columns(d) for d in (1, 4, 16, 17, 30, 784)]
      [16, 16, 16, 32, 32, 784]
    """
    d = int(d)
    if not is_enabled():
        return d
    return -(-d // COLUMN_STEP) * COLUMN_STEP


def with_columns(net, cols: int):
    """``net`` taking ``cols`` features: its own, then zero ones (``net`` itself if equal)."""
    return net if cols == net.sizes[0] else dataclasses.replace(net, sizes=(cols, *net.sizes[1:]))


# ------------------------------------------------------------ hidden widths
#
# A grid over hidden widths alone is one program: every config trains the grid's
# widest network (``widest``), its own units a block of it and the others masked,
# weights 0 in and out and their gradients 0, so they stay 0 and add nothing.


def widest(sizes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The layer sizes holding every network of ``sizes`` (same depth): the largest per layer.

    Examples:
      >>> widest([(4, 16, 3), (4, 32, 3), (4, 8, 3)])
      (4, 32, 3)
    """
    return tuple(max(layer) for layer in zip(*sizes, strict=True))


def width_inputs(widths: tuple[int, ...], dtype) -> dict[str, np.ndarray]:
    """A network's real layer widths and Glorot bounds, as the masked program's inputs.

    ``widths`` are the widths of its layers' inputs and of its output pre-activation
    (``net.sizes[:-1] + (net.out_width,)``: a gaussian output of d targets is 2d wide).
    ``bounds[l]`` is ``init.glorot_bound`` of layer l, computed on the host as
    ``net.init`` computes it, so the masked initialization is bitwise ``net.init``'s.
    """
    from nnbasics import init

    bounds = [init.glorot_bound(a, b) for a, b in zip(widths, widths[1:])]
    return {
        "unit_sizes": np.asarray(widths, np.dtype(dtype)),
        "unit_bounds": np.asarray(bounds, np.dtype(dtype)),
    }


def masked_init(key, shapes, unit_sizes, unit_bounds, dtype) -> list[dict]:
    """``net.init(key, dtype)`` of the network of ``unit_sizes``, in the arrays of ``shapes``.

    ``net.init`` draws one uniform vector for all weights and cuts it layer by layer;
    with partitionable random bits a longer draw begins with the same numbers, so
    each weight is read at its place in the real network's draw: bitwise equal in
    the real block, 0 outside it. Biases are 0.

    Args:
      key: the PRNG key ``net.init`` would get.
      shapes: the widest network's ``[(fan_in, fan_out), ...]`` (static).
      unit_sizes: the real layer widths (L + 1,) (:func:`width_inputs`), possibly traced.
      unit_bounds: the real layers' Glorot bounds (L,), possibly traced.
    """
    real = unit_sizes.astype(jnp.int32)
    u = jax.random.uniform(key, (sum(a * b for a, b in shapes),), dtype, -1.0, 1.0)
    params, offset = [], jnp.zeros((), jnp.int32)
    for layer, (a, b) in enumerate(shapes):
        rows, cols = real[layer], real[layer + 1]
        i, j = jnp.arange(a)[:, None], jnp.arange(b)[None, :]
        inside = (i < rows) & (j < cols)
        W = jnp.where(
            inside, unit_bounds[layer] * u[jnp.where(inside, offset + i * cols + j, 0)], 0
        )
        params.append({"W": W.astype(dtype), "b": jnp.zeros((b,), dtype)})
        offset = offset + rows * cols
    return params


def unit_masks(params, unit_sizes) -> list[dict]:
    """1 on each layer's real block of W and b, 0 on the masked units' weights."""
    real = unit_sizes.astype(jnp.int32)
    masks = []
    for layer, p in enumerate(params):
        a, b = p["W"].shape
        i, j = jnp.arange(a)[:, None], jnp.arange(b)[None, :]
        inside = (i < real[layer]) & (j < real[layer + 1])
        masks.append(
            {"W": inside.astype(p["W"].dtype), "b": (j[0] < real[layer + 1]).astype(p["b"].dtype)}
        )
    return masks


def real_block(params, widths: tuple[int, ...]) -> list[dict]:
    """The parameters of the network of layer ``widths`` (as :func:`width_inputs`') cut
    from the widest network's (host arrays)."""
    return [{"W": p["W"][:a, :b], "b": p["b"][:b]} for p, a, b in zip(params, widths, widths[1:])]
