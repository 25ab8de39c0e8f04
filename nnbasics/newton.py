"""Damped Newton's method for functions of few parameters.

The course minimizes the second-order Taylor expansion of the loss around θ_t:

    θ_{t+1} = θ_t − η·(∇²f(θ_t) + λI)⁻¹ ∇f(θ_t)

with η = 1 and λ = 0 in the slides. The damping λ ≥ 0 keeps the system
solvable where the Hessian is singular or not positive definite, and a step
size η < 1 shortens the step. Practical only for few parameters: the Hessian
of P parameters is a dense (P, P) matrix, built here by ``jax.hessian`` over the
parameters flattened with ``jax.flatten_util.ravel_pytree``. On a quadratic the
exact step (λ = 0, η = 1) lands on the minimum at once.

:func:`minimize` is the same method for a function whose gradient and Hessian
are written by hand (logistic regression's), with the step size η chosen by
backtracking: η = 1, ½, ¼, … until f decreases enough (Armijo's rule), the
damping that makes Newton's method converge from any starting point of a
convex function.
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


class MinimizeResult(NamedTuple):
    """What ``minimize`` returns.

    Attributes:
      x: the last iterate (P,).
      steps: () int, Newton steps taken.
      grad_norm: () max|∇f(x)|.
      stalled: () bool, a step found no decrease (or a non-finite one): the
        iterations stopped there, before reaching ``tol``; ``x`` is the last finite iterate.
    """

    x: jnp.ndarray
    steps: jnp.ndarray
    grad_norm: jnp.ndarray
    stalled: jnp.ndarray


def minimize(
    f: Callable[[jnp.ndarray], jnp.ndarray],
    grad: Callable[[jnp.ndarray], jnp.ndarray],
    hessian: Callable[[jnp.ndarray], jnp.ndarray],
    x0: jnp.ndarray,
    steps=100,
    tol=1e-4,
    halvings: int = 40,
) -> MinimizeResult:
    """Damped Newton's method with backtracking: x ← x − η·H(x)⁻¹∇f(x).

    η is the first of 1, ½, ¼, … (at most ``halvings`` halvings) with
    f(x − ηΔ) ≤ f(x) − ½·η·∇f(x)ᵀΔ, Δ = H⁻¹∇f (Armijo's sufficient decrease).
    Iterates until max|∇f| ≤ ``tol`` or ``steps`` steps; a step that finds no
    such η, or a non-finite Δ (a singular H), stops the iterations with
    ``stalled`` set. Pure, and vmappable: ``steps`` and ``tol`` may be traced,
    and under ``vmap`` each lane stops on its own.

    Args:
      f: scalar function of x (P,).
      grad: its gradient, (P,) -> (P,).
      hessian: its Hessian, (P,) -> (P, P), positive definite where the step is taken.
      x0: the starting point (P,).
      steps: the most Newton steps (>= 1).
      tol: stop once max|∇f| <= tol (>= 0).
      halvings: the most step-size halvings per step.

    Returns:
      ``MinimizeResult(x, steps, grad_norm, stalled)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> f = lambda x: jnp.sum(jnp.cosh(x))  # minimum at 0
      >>> r = minimize(f, jnp.sinh, lambda x: jnp.diag(jnp.cosh(x)), jnp.array([3.0, -1.0]))
      >>> bool(jnp.max(jnp.abs(r.x)) < 1e-6), int(r.steps), bool(r.stalled)
      (True, 5, False)
    """
    if not isinstance(steps, jax.Array):
        steps = _checks.positive_int("steps", steps)
    if not isinstance(tol, jax.Array):
        tol = _checks.non_negative("tol", tol)

    def line_search(x, fx, g, delta):
        slope = 0.5 * jnp.dot(g, delta)

        def too_long(carry):
            eta, fy, k = carry
            return (k < halvings) & ~(fy <= fx - eta * slope)

        def halve(carry):
            eta, _, k = carry
            return eta / 2, f(x - (eta / 2) * delta), k + 1

        eta, fy, k = jax.lax.while_loop(too_long, halve, (jnp.ones_like(fx), f(x - delta), 0))
        return eta, fy <= fx - eta * slope

    def cond(carry):
        _, _, g, k, stalled = carry
        return (k < steps) & (jnp.max(jnp.abs(g)) > tol) & ~stalled

    def body(carry):
        x, fx, g, k, _ = carry
        delta = jnp.linalg.solve(hessian(x), g)
        ok = jnp.all(jnp.isfinite(delta))
        delta = jnp.where(ok, delta, 0.0)
        eta, decreased = line_search(x, fx, g, delta)
        ok = ok & decreased
        new = jnp.where(ok, x - eta * delta, x)
        return new, jnp.where(ok, f(new), fx), jnp.where(ok, grad(new), g), k + ok, ~ok

    x0 = jnp.asarray(x0)
    start = (x0, f(x0), grad(x0), jnp.zeros([], jnp.int32), jnp.bool_(False))
    x, _, g, k, stalled = jax.lax.while_loop(cond, body, start)
    return MinimizeResult(x, k, jnp.max(jnp.abs(g)), stalled)
