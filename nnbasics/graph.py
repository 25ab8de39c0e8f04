"""Flow-graph boxes: each a pure fprop/bprop pair (the course's "flow graph" slides).

A box's ``fprop`` computes its value from its children; its ``bprop`` takes
what ``fprop`` saw plus the gradient of the loss w.r.t. its value, and returns
the gradients w.r.t. its parameters and its input. Calling ``fprop`` in order
and ``bprop`` in reverse order is backpropagation. No box calls ``jax.grad``,
``vjp`` or ``jvp``: every derivative is written out.

Shapes: a batch of n examples, ``h`` of shape (n, d_in), ``W`` of shape
(d_in, d_out) (or (d_in, d_out, pieces) for maxout), ``a = h @ W + b``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp

from nnbasics.activations import HIDDEN
from nnbasics.losses import OUTPUT

__all__ = [
    "Box",
    "dense_fprop",
    "dense_bprop",
    "activation_fprop",
    "activation_bprop",
    "loss_fprop",
    "loss_bprop",
    "dense",
    "activation",
    "loss",
]


class Box(NamedTuple):
    """A node of the flow graph: ``fprop(...)`` and ``bprop(..., grad_out)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> layer = {"W": jnp.eye(2), "b": jnp.zeros(2)}
      >>> dense.fprop(layer, jnp.array([[1.0, 2.0]])).tolist()
      [[1.0, 2.0]]
    """

    fprop: Callable
    bprop: Callable


def dense_fprop(layer, h):
    """a = h W + b: h (n, d_in), W (d_in, d_out[, pieces]) → a (n, d_out[, pieces]).

    Examples:
      >>> import jax.numpy as jnp
      >>> layer = {"W": jnp.array([[1.0], [1.0]]), "b": jnp.array([-1.0])}
      >>> dense_fprop(layer, jnp.array([[1.0, 2.0]])).tolist()  # 1 + 2 − 1
      [[2.0]]
    """
    return jnp.tensordot(h, layer["W"], axes=1) + layer["b"]


def dense_bprop(layer, h, delta, need_input=True):
    """Given δ = ∇_a J (n, d_out[, pieces]): ∇W = hᵀδ, ∇b = Σₙ δ, ∇h = δ Wᵀ.

    The batch sum in ∇W and ∇b is the course's per-example δ hᵀ and δ, summed:
    δ already carries the 1/n of the mean loss. With ``need_input=False`` the
    first layer skips ∇h (= ∇X), which training never uses, and returns None.

    Examples:
      >>> import jax.numpy as jnp
      >>> layer = {"W": jnp.array([[1.0], [1.0]]), "b": jnp.array([-1.0])}
      >>> grads, grad_h = dense_bprop(layer, jnp.array([[1.0, 2.0]]), jnp.array([[0.5]]))
      >>> grads["W"].tolist(), grads["b"].tolist(), grad_h.tolist()
      ([[0.5], [1.0]], [0.5], [[0.5, 0.5]])
    """
    grads = {"W": jnp.tensordot(h, delta, axes=(0, 0)), "b": jnp.sum(delta, axis=0)}
    if not need_input:
        return grads, None
    grad_h = jnp.tensordot(
        delta, layer["W"], axes=(tuple(range(1, delta.ndim)), tuple(range(1, layer["W"].ndim)))
    )
    return grads, grad_h


def activation_fprop(unit, a):
    """h = g(a) for the hidden unit named ``unit``.

    Examples:
      >>> import jax.numpy as jnp
      >>> activation_fprop("relu", jnp.array([[-1.0, 2.0]])).tolist()
      [[0.0, 2.0]]
    """
    return HIDDEN[unit].g(a)


def activation_bprop(unit, a, grad_h):
    """∇a = ∇h ⊙ g′(a); for maxout ∇h is broadcast over the pieces.

    Examples:
      >>> import jax.numpy as jnp
      >>> activation_bprop("relu", jnp.array([[-1.0, 2.0]]), jnp.array([[3.0, 3.0]])).tolist()
      [[0.0, 3.0]]
    """
    g_prime = HIDDEN[unit].g_prime(a)
    if g_prime.ndim > grad_h.ndim:
        grad_h = grad_h[..., None]
    return grad_h * g_prime


def loss_fprop(unit, z, y, weights=None):
    """J = (1/n) Σₙ nll(zₙ, yₙ), the empirical risk of the output unit ``unit``.

    With per-example ``weights`` (n,): J = Σₙ wₙ nll(zₙ, yₙ) / Σₙ wₙ, so rows of
    weight 0 (a padded minibatch) do not count.

    Examples:
      >>> import jax.numpy as jnp
      >>> z, y = jnp.array([[0.0, 0.0], [0.0, 0.0]]), jnp.array([0, 1])
      >>> float(loss_fprop("softmax", z, y))  # mean of log 2
      0.693
    """
    nll = OUTPUT[unit].nll(z, y)
    if weights is None:
        return jnp.mean(nll)
    return jnp.sum(weights * nll) / jnp.sum(weights)


def loss_bprop(unit, z, y, weights=None):
    """∇_z J = (1/n) ∂nll/∂z, e.g. (1/n)(f(x) − e(y)) for softmax; wₙ/Σw instead of 1/n.

    Examples:
      >>> import jax.numpy as jnp
      >>> z, y = jnp.array([[0.0, 0.0], [0.0, 0.0]]), jnp.array([0, 1])
      >>> loss_bprop("softmax", z, y).tolist()  # (f(x) − e(y)) / n
      [[-0.25, 0.25], [0.25, -0.25]]
    """
    delta = OUTPUT[unit].delta(z, y)
    if weights is None:
        return delta / z.shape[0]
    return delta * (weights / jnp.sum(weights))[:, None]


dense = Box(dense_fprop, dense_bprop)
"""The affine node a = hW + b: :func:`dense_fprop` and :func:`dense_bprop`."""
activation = Box(activation_fprop, activation_bprop)
"""The hidden-unit node h = g(a): :func:`activation_fprop` and :func:`activation_bprop`."""
loss = Box(loss_fprop, loss_bprop)
"""The loss node J = mean nll(z, y): :func:`loss_fprop` and :func:`loss_bprop`."""
