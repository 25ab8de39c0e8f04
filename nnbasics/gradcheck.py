"""Gradient checking: central finite differences, relative errors, side-by-side reports.

Three gradients of one scalar loss can be compared leaf by leaf: a hand-written
one, ``jax.grad`` and central finite differences. Any loss of the form
``loss(params, *args, **kwargs) -> scalar`` and any hand-written
``manual(params, *args, **kwargs) -> (value, grads)`` plug in; e.g. for an MLP
``report(net.loss, net.backprop, params, X, y, l2, l1)``, and for logistic
regression ``report(logistic.nll, lambda p, *a: (logistic.nll(p, *a),
logistic.grad(p, *a)), params, X, y)``.

Finite differences need float64 (``jax_enable_x64``): in float32 a step of
1e-6 loses almost every digit of the loss difference.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from nnbasics._checks import fail, positive_int, real_in

__all__ = ["numerical_grad", "rel_error", "GradRow", "report", "format_report", "TINY"]

TINY = 1e-12
"""Default floor of the denominator in :func:`rel_error`.

Where both |a| and |b| are below it the ratio becomes an absolute error scaled
by 1/TINY, so two entries that are both zero (or both ~1e-300) compare equal
instead of dividing 0 by 0.
"""


def numerical_grad(f: Callable[[Any], Any], params, eps: float = 1e-6, *, batch_size: int = 64):
    """Central finite-difference gradient of a scalar function of a pytree.

    For every scalar θᵢ of every leaf:
    gᵢ = (f(θ + ε eᵢ) − f(θ − ε eᵢ)) / ((θᵢ + ε) − (θᵢ − ε)),
    the denominator being the step actually taken in floating point (2ε up to
    rounding). The parameters are flattened with ``ravel_pytree`` and the
    2·size evaluations run ``batch_size`` directions at a time under
    ``jax.vmap`` (see :func:`_central_differences`), so ``f`` must be traceable
    by JAX; memory grows with ``batch_size``, never with the number of
    parameters squared.

    Args:
        f: ``f(params) -> scalar`` (shape ()).
        params: any pytree of float arrays.
        eps: the step ε (> 0); 1e-6 suits float64.
        batch_size: how many directions are evaluated in one vectorized call.

    Returns:
        The gradient estimate, the same pytree (shapes, dtypes) as ``params``.

    Warns:
        UserWarning: when the parameters are not float64.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> with jax.enable_x64(True):  # finite differences want float64
      ...     g = numerical_grad(lambda p: jnp.sum(p["x"] ** 3), {"x": jnp.array([1.0, 2.0])})
      >>> g["x"].tolist()  # 3x²
      [3.0, 12.0]
    """
    real_in("eps", eps, 0.0, math.inf, lo_open=True)
    batch_size = positive_int("batch_size", batch_size)
    flat, unravel = ravel_pytree(params)
    out = jax.eval_shape(lambda p: f(p), params)
    if getattr(out, "shape", None) != ():
        fail("f", "a function returning a scalar of shape ()", getattr(out, "shape", out))
    if flat.size == 0:
        return params
    if jnp.finfo(flat.dtype).bits < 64:
        warnings.warn(
            f"numerical_grad on {flat.dtype} parameters: central differences "
            "keep few correct digits; enable jax_enable_x64 and use float64",
            stacklevel=2,
        )

    g = _central_differences(lambda theta: f(unravel(theta)), flat, eps, batch_size)
    return unravel(g.astype(flat.dtype))


def _central_differences(
    f_flat: Callable[[jax.Array], jax.Array], theta: jax.Array, eps: float, batch_size: int
) -> jax.Array:
    """gᵢ = (f(θ + ε eᵢ) − f(θ − ε eᵢ)) / ((θᵢ + ε) − (θᵢ − ε)) for i = 1..n, θ of shape (n,).

    The n directions are cut into chunks of ``b = min(batch_size, n)`` indices
    (the last one padded by wrapping around to the first indices). One
    ``lax.map`` runs over the 2 × chunks (sign, chunk) pairs; each step
    evaluates ``f_flat``, vmapped, on the (b, n) rows "θ with entry iₖ moved to
    θᵢₖ ± ε", built as a select on a one-hot mask.

    Written for compile time: the program holds a single copy of ``f_flat``
    (a separate f(θ + ε eᵢ) and f(θ − ε eᵢ), and a remainder chunk, would each
    add one) and no scatter. Every evaluation still sees a batch of b rows, as
    in ``lax.map(derivative, range(n), batch_size=b)``, so the results agree
    with that form bit for bit or to a few roundings of f (ulp(f)/2ε), as
    XLA happens to fuse either program.

    Args:
        f_flat: ``f_flat(θ) -> scalar`` for θ of shape (n,), traceable by JAX.
        theta: the point, shape (n,), n ≥ 1.
        eps: the step ε.
        batch_size: directions per vectorized evaluation (≥ 1).

    Returns:
        g of shape (n,).
    """
    n = theta.shape[0]
    b = min(batch_size, n)
    chunks = -(-n // b)
    plus, minus = theta + eps, theta - eps

    def values(step):  # f at the b rows of one (sign, chunk) pair, shape (b,)
        is_plus, index = step
        hot = index[:, None] == jnp.arange(n)
        return jax.vmap(f_flat)(jnp.where(hot, jnp.where(is_plus, plus, minus), theta))

    index = jnp.tile(jnp.arange(chunks * b) % n, 2).reshape(2 * chunks, b)
    is_plus = jnp.arange(2 * chunks) < chunks
    f_plus, f_minus = jax.lax.map(values, (is_plus, index)).reshape(2, chunks * b)[:, :n]
    return (f_plus - f_minus) / (plus - minus)


def rel_error(a, b, *, tiny: float = TINY) -> float:
    """Largest elementwise relative error between two pytrees of one structure.

    rel_error(a, b) = max over leaves and entries of |a − b| / max(|a| + |b|, tiny).

    It is 0 for equal trees, symmetric in a and b, and always in [0, 1]
    (|a − b| ≤ |a| + |b|); 1 means opposite signs or one side zero.

    Args:
        a, b: pytrees with the same structure and leaf shapes.
        tiny: floor of the denominator (> 0), default :data:`TINY` = 1e-12.

    Returns:
        A Python float (0.0 for trees without entries).

    Examples:
      >>> import jax.numpy as jnp
      >>> rel_error({"x": jnp.array([1.0, 2.0])}, {"x": jnp.array([1.0, 2.2])})  # 0.2 / 4.2
      0.0476
      >>> rel_error(jnp.array([1.0]), jnp.array([-1.0]))  # opposite signs
      1.0
    """
    real_in("tiny", tiny, 0.0, math.inf, lo_open=True)
    leaves_a, tree_a = jax.tree_util.tree_flatten(a)
    leaves_b, tree_b = jax.tree_util.tree_flatten(b)
    if tree_a != tree_b:
        fail("b", f"the same pytree structure as a ({tree_a})", str(tree_b))
    worst = 0.0
    for x, y in zip(leaves_a, leaves_b):
        # On the host in NumPy: a report is read once, and NumPy spares a compile per shape.
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            fail("b", f"leaf shapes equal to a's {x.shape}", f"shape {y.shape}")
        if x.size:
            ratio = np.abs(x - y) / np.maximum(np.abs(x) + np.abs(y), tiny)
            worst = max(worst, float(np.max(ratio)))
    return worst


class GradRow(NamedTuple):
    """One parameter leaf of a gradient report.

    Attributes:
        path: the leaf's place in the pytree, e.g. ``"[0].W"`` or ``"w"``.
        shape: the leaf's shape.
        manual_vs_auto: :func:`rel_error` of the hand-written gradient vs ``jax.grad``.
        manual_vs_numerical: :func:`rel_error` of the hand-written gradient vs
            :func:`numerical_grad`.
        max_abs_grad: max |∂J/∂θ| over the leaf (from ``jax.grad``), for scale.

    Examples:
      >>> row = GradRow("[0]['W']", (2, 3), 1e-16, 1e-10, 0.5)
      >>> row.path, row.shape
      ("[0]['W']", (2, 3))
    """

    path: str
    shape: tuple[int, ...]
    manual_vs_auto: float
    manual_vs_numerical: float
    max_abs_grad: float


def _path_str(path) -> str:
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            parts.append(f".{key.key}")
        elif isinstance(key, jax.tree_util.GetAttrKey):
            parts.append(f".{key.name}")
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(f"[{key.idx}]")
        elif isinstance(key, jax.tree_util.FlattenedIndexKey):
            parts.append(f"[{key.key}]")
        else:
            parts.append(str(key))
    return "".join(parts).lstrip(".") or "(root)"


def report(
    loss: Callable, manual: Callable, params, *args, eps: float = 1e-6, tiny: float = TINY, **kwargs
) -> list[GradRow]:
    """Hand-written gradient, ``jax.grad`` and finite differences side by side.

    Computes, for ``J(θ) = loss(θ, *args, **kwargs)``: the hand-written
    ``manual(θ, *args, **kwargs) -> (J, grads)`` (e.g. ``net.backprop``),
    ``jax.grad(loss)`` and :func:`numerical_grad` with step ``eps``, then one
    :class:`GradRow` per leaf of ``params`` with the relative errors
    (:func:`rel_error`) of the manual gradient against the other two.

    Args:
        loss: ``loss(params, *args, **kwargs) -> scalar``, traceable by JAX.
        manual: ``manual(params, *args, **kwargs) -> (value, grads)`` with grads
            the same pytree as ``params``.
        params: the point at which the gradients are compared.
        *args, **kwargs: passed to ``loss`` and ``manual`` (X, y, l2, l1, ...).
        eps: finite-difference step.
        tiny: denominator floor for :func:`rel_error`.

    Returns:
        A list of :class:`GradRow`, in the flattening order of ``params``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from nnbasics.mlp import MLP
      >>> net = MLP((2, 3, 2), hidden="tanh")
      >>> with jax.enable_x64(True):
      ...     params = net.init(jax.random.key(0), dtype=jnp.float64)
      ...     X, y = jnp.ones((4, 2)), jnp.array([0, 1, 1, 0])
      ...     rows = report(net.loss, net.backprop, params, X, y)
      >>> [r.path for r in rows]
      ['[0].W', '[0].b', '[1].W', '[1].b']
      >>> max(r.manual_vs_auto for r in rows) < 1e-10
      True
    """
    result = manual(params, *args, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("manual", "a function returning (value, grads)", type(result).__name__)
    manual_grads = result[1]
    auto = jax.grad(loss)(params, *args, **kwargs)
    numeric = numerical_grad(lambda p: loss(p, *args, **kwargs), params, eps)

    flat_manual, tree = jax.tree_util.tree_flatten_with_path(manual_grads)
    flat_auto = jax.tree_util.tree_leaves(auto)
    flat_numeric = jax.tree_util.tree_leaves(numeric)
    param_tree = jax.tree_util.tree_structure(params)
    if tree != param_tree:
        fail("manual", f"grads with the pytree structure of params ({param_tree})", str(tree))
    rows = []
    for (path, g), g_auto, g_num in zip(flat_manual, flat_auto, flat_numeric):
        g = jnp.asarray(g)
        rows.append(
            GradRow(
                path=_path_str(path),
                shape=tuple(g.shape),
                manual_vs_auto=rel_error(g, g_auto, tiny=tiny),
                manual_vs_numerical=rel_error(g, g_num, tiny=tiny),
                max_abs_grad=float(jnp.max(jnp.abs(g_auto))) if g.size else 0.0,
            )
        )
    return rows


_HEADERS = ("parameter", "shape", "manual vs jax.grad", "manual vs finite diff", "max |grad|")


def format_report(rows: list[GradRow]) -> str:
    """Renders report rows as an aligned plain-text table (one line per leaf).

    Args:
        rows: the output of :func:`report`.

    Returns:
        The table as a string: a header line, a rule, then one line per row,
        without a trailing newline.

    Examples:
      >>> print(format_report([GradRow("[0].W", (2, 3), 1e-16, 2e-10, 0.5)]))
      parameter  shape   manual vs jax.grad  manual vs finite diff  max |grad|
      ...
      [0].W      (2, 3)  ...
    """
    cells = [_HEADERS] + [
        (
            r.path,
            "(" + ", ".join(map(str, r.shape)) + (",)" if len(r.shape) == 1 else ")"),
            f"{r.manual_vs_auto:.2e}",
            f"{r.manual_vs_numerical:.2e}",
            f"{r.max_abs_grad:.2e}",
        )
        for r in rows
    ]
    widths = [max(len(row[j]) for row in cells) for j in range(len(_HEADERS))]

    def line(row):
        left = row[0].ljust(widths[0])
        return "  ".join([left] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])
