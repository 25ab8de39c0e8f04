"""The pieces every ``nb.optim`` optimizer is built from.

Part of ``nnbasics.optim``: the learning-rate type (``Schedule``,
``ScalarOrSchedule``, re-exported there), the checks of hyper-parameters, the
leaf-wise helpers (EMAs, bias corrections, traces, casts) and ``_optimizer``,
which turns a per-step rule into an optax ``GradientTransformation``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from nnbasics import _checks

Schedule = Callable[[jnp.ndarray], jnp.ndarray | float]
ScalarOrSchedule = float | Schedule


# ---------------------------------------------------------------- validation


def _as_schedule(learning_rate: ScalarOrSchedule) -> Schedule:
    if callable(learning_rate):
        return learning_rate
    try:
        _checks.real_in("learning_rate", learning_rate, 0.0, math.inf, lo_open=True, hi_open=True)
    except ValueError:
        _checks.fail(
            "learning_rate",
            "a real number in (0, inf) or a schedule (a callable t -> rate)",
            _checks.shown(learning_rate),
        )
    return lambda count: learning_rate


def _unit(name: str, value):
    """A decay rate or beta: [0, 1)."""
    return _checks.real_in(name, value, 0.0, 1.0, hi_open=True)


_non_negative = _checks.non_negative


def _flag(name: str, value) -> bool:
    return _checks.one_of(name, value, (False, True))


def _is_zero(value) -> bool:
    return isinstance(value, numbers.Number) and value == 0


# ------------------------------------------------------------ shared pieces


def _scale(factor, tree):
    """factor·x for every leaf, with factor cast to the leaf's dtype."""
    return jax.tree.map(lambda x: jnp.asarray(factor, dtype=x.dtype) * x, tree)


def _ema(decay, moment, values):
    """decay·moment + (1 − decay)·values, leaf by leaf."""
    return jax.tree.map(lambda m, v: decay * m + (1 - decay) * v, moment, values)


def _abs_sq(x):
    """|x|² = x·x̄, real for complex x (the second moment of a complex gradient)."""
    return (x.conj() * x).real if jnp.iscomplexobj(x) else jnp.square(x)


def _square(tree):
    return jax.tree.map(_abs_sq, tree)


def _dtype(name: str, value):
    """None (follow the parameters) or a dtype, canonicalized as JAX stores it."""
    if value is None:
        return None
    try:
        return jax.dtypes.canonicalize_dtype(value)
    except TypeError:
        _checks.fail(name, "None or a dtype such as jnp.float32", _checks.shown(value))


def _inverse_root(v, eps, eps_in_sqrt: bool):
    """1/√(v + ε) (ε inside the root) or 1/(√v + ε) (ε outside)."""
    return jax.lax.rsqrt(v + eps) if eps_in_sqrt else 1 / (jnp.sqrt(v) + eps)


def _trace(x, trace, beta, nesterov: bool, weight: float | jax.Array = 1.0):
    """m_t = β·m_{t−1} + w_t·x_t; returns (x_t + β·m_t if nesterov else m_t, m_t)."""
    trace = jax.tree.map(lambda xi, m: beta * m + weight * xi, x, trace)
    out = jax.tree.map(lambda xi, m: xi + beta * m, x, trace) if nesterov else trace
    return out, trace


def _bias_correction(decay, k):
    """1 − decay^k, k the number of updates made (this one included)."""
    return 1 - decay**k


def _corrected(tree, decay, k):
    """x / (1 − decay^k), the division in each leaf's own dtype (bfloat16 stays bfloat16)."""
    c = _bias_correction(decay, k)
    return jax.tree.map(lambda x: x / c.astype(x.dtype), tree)


def _cast_like(tree, like):
    """Each leaf of ``tree`` in the dtype of the matching leaf of ``like``."""

    def cast(x, y):
        # Complex into real arises only from real gradients through a complex
        # accumulator, whose imaginary part is then exactly zero; JAX deprecates
        # dropping it implicitly, so it is dropped here explicitly.
        if jnp.iscomplexobj(x) and not jnp.iscomplexobj(y):
            x = jnp.real(x)
        return x.astype(y.dtype)

    return jax.tree.map(cast, tree, like)


def _optimizer(state_type, init_moments, step, learning_rate, weight_decay=0.0):
    """Builds a GradientTransformation from a per-step rule.

    Args:
      state_type: the NamedTuple state, ``count`` first, then the moments.
      init_moments: ``params -> tuple`` of the initial moments.
      step: ``(g, moments, count, rate, params) -> (updates, moments)``, where
        ``rate`` is α_t and ``g`` already includes the coupled weight decay.
      learning_rate: a positive float or a schedule.
      weight_decay: coupled weight decay λ: g ← g + λθ before ``step``.
    """
    rate = _as_schedule(learning_rate)
    weight_decay = _non_negative("weight_decay", weight_decay)

    def init(params):
        return state_type(jnp.zeros([], jnp.int32), *init_moments(params))

    def update(updates, state, params=None, **extra_args):
        del extra_args  # optax's extra-arguments protocol: accepted, not used
        grads = updates
        if not _is_zero(weight_decay):
            if params is None:
                raise ValueError(
                    "params: expected the parameters (weight_decay is set), received None"
                )
            grads = jax.tree.map(lambda g, p: g + weight_decay * p, grads, params)
        moments = tuple(state[1:])
        updates, new = step(grads, moments, state.count, rate(state.count), params)
        # Updates in the gradients' dtype and a state whose dtypes never drift
        # (a bfloat16 moment plus a float32 count-dependent factor would widen).
        return (
            _cast_like(updates, grads),
            state_type(optax.safe_increment(state.count), *_cast_like(new, moments)),
        )

    return optax.GradientTransformationExtraArgs(init, update)
