"""Validation at the library's boundary.

Every check raises a ``ValueError`` whose message names the argument, what was
expected and what was received, so that a user can fix the call without
reading the source. Checks read only static information (shapes, dtypes,
Python scalars) or concrete arrays, so they run at trace time and hold under
``jit`` as well.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, NoReturn, TypeVar

import numpy as np

T = TypeVar("T")


def fail(name: str, expected: str, received: Any) -> NoReturn:
    """Raises ``ValueError("<name>: expected <expected>, received <received>")``.

    A string ``received`` is a description and is shown as is; any other value
    is shown by its ``repr``.
    """
    shown = received if isinstance(received, str) else repr(received)
    raise ValueError(f"{name}: expected {expected}, received {shown}")


def shown(value: Any) -> Any:
    """A received value as shown: a string quoted, so "32" never looks like 32."""
    return repr(value) if isinstance(value, str) else value


def is_concrete(x: Any) -> bool:
    """Whether ``x`` holds values now (not a tracer inside jit/vmap/grad)."""
    from jax.core import Tracer

    return not isinstance(x, Tracer)


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        fail(name, "a positive integer", shown(value))
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        fail(name, "a non-negative integer", shown(value))
    return int(value)


def batch_size(value: Any, n: int) -> int:
    """A minibatch size: an integer from 1 to ``n``, the number of training examples."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= int(value) <= n
    ):
        fail(
            "batch_size",
            f"an integer from 1 to the number of training examples ({n})",
            shown(value),
        )
    return int(value)


def column_index(value: Any, width: int) -> int | None:
    """``value`` as a 0-based column index of a ``width``-column table, else None.

    An integer (or its text, ``"2"``) from ``-width`` to ``width - 1``; negative
    ones count from the end, as Python's indexing does.
    """
    index = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            index = int(value)
    integer = isinstance(index, numbers.Integral) and not isinstance(index, bool)
    return int(index) % width if integer and -width <= int(index) < width else None


def real_in(
    name: str, value: T, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> T:
    """Checks ``lo <(=) value <(=) hi`` for a Python or 0-d concrete number.

    Returns ``value`` unchanged (a Python number, a 0-d array or a tracer).
    """
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    expected = f"a real number in {left}{lo}, {hi}{right}"
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) or _is_scalar_array(value)):
        fail(name, expected, shown(value))
    if not is_concrete(value):
        return value  # a traced hyper-parameter (vmapped search) is checked by its caller
    v = float(np.asarray(value))
    ok = (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
    if not ok or np.isnan(v):
        fail(name, expected, shown(value))
    return value


def non_negative(name: str, value: T) -> T:
    """Checks a finite real ``value >= 0`` (a penalty, tolerance or noise; inf refused)."""
    return real_in(name, value, 0.0, math.inf, hi_open=True)


def _is_scalar_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and tuple(value.shape) == ()


def finite_array(name: str, x: Any) -> None:
    """Rejects NaN or inf in a concrete array (tracers pass: checked before jit)."""
    if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(np.asarray(x))))
        fail(name, "finite values", f"{bad} NaN/inf entries")


def one_of(name: str, value: Any, choices) -> Any:
    if value not in choices:
        fail(name, "one of " + ", ".join(repr(c) for c in choices), repr(value))
    return value


def finite_rows(name: str, X: Any) -> None:
    """Rejects rows of a concrete array holding NaN or inf, naming them (0-based)."""
    if not is_concrete(X):
        return
    X = np.asarray(X)
    if X.ndim == 0 or not np.issubdtype(X.dtype, np.inexact):
        return
    bad = np.flatnonzero(~np.all(np.isfinite(X), axis=tuple(range(1, X.ndim))))
    if bad.size:
        shown = ", ".join(map(str, bad[:10])) + (", ..." if bad.size > 10 else "")
        fail(name, "finite values in every row", f"NaN/inf in {bad.size} row(s): {shown}")


def prng_key(name: str, key: Any) -> None:
    """A JAX PRNG key (``jax.random.key(s)`` or ``jax.random.PRNGKey(s)``), else ValueError."""
    import jax
    import jax.numpy as jnp

    if isinstance(key, (jax.Array, np.ndarray)):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return
        if key.dtype == np.uint32 and key.shape == (2,):
            return
        received = f"an array of shape {tuple(key.shape)} and dtype {key.dtype}"
    else:
        received = repr(key)
    fail(name, "a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0)", received)
