"""Damped Newton's method for functions of few parameters.

The course minimizes the second-order Taylor expansion of the loss around θ_t:

    θ_{t+1} = θ_t − η·(∇²f(θ_t) + λI)⁻¹ ∇f(θ_t)

with η = 1 and λ = 0 in the slides. The damping λ ≥ 0 keeps the system
solvable where the Hessian is singular or not positive definite, and a step
size η < 1 shortens the step. Practical only for few parameters: the Hessian
of P parameters is a dense (P, P) matrix, built here by ``jax.hessian`` over the
parameters flattened with ``jax.flatten_util.ravel_pytree``. On a quadratic the
exact step (λ = 0, η = 1) lands on the minimum at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from nnbasics import _checks


class NewtonResult(NamedTuple):
    """What ``newton`` returns: the last iterate, the steps taken, and max|∇f| there.

    Examples:
      >>> import jax.numpy as jnp
      >>> result = newton(lambda p: jnp.sum((p["x"] - 3.0) ** 2), {"x": jnp.zeros(2)})
      >>> result.params["x"].tolist(), int(result.steps), float(result.grad_norm)
      ([3.0, 3.0], 1, 0.0)
    """

    params: Any  # the last iterate, same pytree as the initial params
    steps: jnp.ndarray  # () int, Newton steps taken
    grad_norm: jnp.ndarray  # () max-norm of ∇f at ``params``


def _check_step_options(damping, step_size):
    damping = _checks.non_negative("damping", damping)
    step_size = _checks.real_in("step_size", step_size, 0.0, math.inf, lo_open=True, hi_open=True)
    return damping, step_size


def _flat_step(f_flat, x, g, damping, step_size):
    """x_{t+1} from x_t of shape (P,) and its gradient g = ∇f(x_t)."""
    H = jax.hessian(f_flat)(x)
    delta = jnp.linalg.solve(H + damping * jnp.eye(x.shape[0], dtype=H.dtype), g)
    return x - step_size * delta


def newton_step(
    f: Callable[[Any], jnp.ndarray], params: Any, damping: float = 0.0, step_size: float = 1.0
) -> Any:
    """One damped Newton step θ − η·(∇²f(θ) + λI)⁻¹ ∇f(θ).

    Args:
      f: scalar function of the params pytree, twice differentiable by JAX.
      params: pytree of arrays (P numbers in all).
      damping: λ >= 0 added to the Hessian's diagonal.
      step_size: η > 0.

    Returns:
      The new params, same pytree structure as ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> f = lambda p: jnp.sum(p["x"] ** 4)  # not quadratic: Newton shrinks x by 1/3 a step
      >>> newton_step(f, {"x": jnp.array([3.0])})["x"].tolist()
      [2.0]
    """
    damping, step_size = _check_step_options(damping, step_size)
    x, unravel = ravel_pytree(params)
    f_flat = lambda v: f(unravel(v))
    return unravel(_flat_step(f_flat, x, jax.grad(f_flat)(x), damping, step_size))


def newton(
    f: Callable[[Any], jnp.ndarray],
    params: Any,
    steps: int = 20,
    damping: float = 0.0,
    step_size: float = 1.0,
    tol: float = 1e-10,
) -> NewtonResult:
    """Damped Newton iterations until max|∇f| <= tol or ``steps`` steps.

    Runs in ``lax.while_loop``, so it works (and compiles once) under ``jit``
    with ``f`` static.

    Args:
      f: scalar function of the params pytree, twice differentiable by JAX.
      params: initial pytree of arrays.
      steps: the most Newton steps to take, >= 1.
      damping: λ >= 0 added to the Hessian's diagonal.
      step_size: η > 0.
      tol: stop once the gradient's max-norm is at most tol (>= 0).

    Returns:
      ``NewtonResult(params, steps, grad_norm)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> f = lambda p: jnp.sum(jnp.cosh(p["x"]))  # minimum at 0
      >>> result = newton(f, {"x": jnp.array([1.0, -0.5])}, steps=20, tol=1e-6)
      >>> result.params["x"].tolist(), int(result.steps) < 10
      ([0.0, 0.0], True)
    """
    steps = _checks.positive_int("steps", steps)
    damping, step_size = _check_step_options(damping, step_size)
    tol = _checks.non_negative("tol", tol)
    x0, unravel = ravel_pytree(params)
    f_flat = lambda v: f(unravel(v))

    grad = jax.grad(f_flat)

    def cond(carry):
        x, k, g = carry
        return (k < steps) & (jnp.max(jnp.abs(g)) > tol)

    def body(carry):
        x, k, g = carry
        x = _flat_step(f_flat, x, g, damping, step_size)
        return x, k + 1, grad(x)

    x, k, g = jax.lax.while_loop(cond, body, (x0, jnp.zeros([], jnp.int32), grad(x0)))
    return NewtonResult(unravel(x), k, jnp.max(jnp.abs(g)))
