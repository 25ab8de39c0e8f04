"""Hidden units: each function g beside its hand-written derivative g′.

Every unit maps a pre-activation ``a`` to ``h = g(a)`` elementwise, except
maxout, which takes ``a`` of shape ``(n, d_out, pieces)`` and returns the
maximum over the last axis. The derivative functions take the same ``a`` and
return ``∂h/∂a`` of ``a``'s shape, so that backprop's rule
``∇a = ∇h ⊙ g′(a)`` is one line for every unit (maxout broadcasts ``∇h`` over
its pieces).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "linear",
    "linear_grad",
    "softplus",
    "softplus_grad",
    "maxout",
    "maxout_grad",
    "Unit",
    "HIDDEN",
]


def relu(a):
    """g(a) = max(a, 0).

    Examples:
      >>> import jax.numpy as jnp
      >>> relu(jnp.array([-1.0, 0.0, 2.0])).tolist()
      [0.0, 0.0, 2.0]
    """
    return jax.nn.relu(a)


def relu_grad(a):
    """g′(a) = 1 if a > 0 else 0; the subgradient 0 at a = 0, as jax.nn.relu uses.

    Examples:
      >>> import jax.numpy as jnp
      >>> relu_grad(jnp.array([-1.0, 0.0, 2.0])).tolist()
      [0.0, 0.0, 1.0]
    """
    return (a > 0).astype(a.dtype)


def sigmoid(a):
    """g(a) = σ(a) = 1 / (1 + exp(−a)).

    Examples:
      >>> import jax.numpy as jnp
      >>> sigmoid(jnp.array([0.0, 2.0])).tolist()
      [0.5, 0.881]
    """
    return jax.nn.sigmoid(a)


def sigmoid_grad(a):
    """g′(a) = σ(a)(1 − σ(a)).

    Examples:
      >>> import jax.numpy as jnp
      >>> sigmoid_grad(jnp.array([0.0, 2.0])).tolist()
      [0.25, 0.105]
    """
    s = jax.nn.sigmoid(a)
    return s * (1 - s)


def tanh(a):
    """g(a) = tanh(a) = (exp(2a) − 1) / (exp(2a) + 1).

    Examples:
      >>> import jax.numpy as jnp
      >>> tanh(jnp.array([0.0, 1.0])).tolist()
      [0.0, 0.762]
    """
    return jnp.tanh(a)


def tanh_grad(a):
    """g′(a) = 1 − tanh(a)².

    Examples:
      >>> import jax.numpy as jnp
      >>> tanh_grad(jnp.array([0.0, 1.0])).tolist()
      [1.0, 0.42]
    """
    return 1 - jnp.tanh(a) ** 2


def linear(a):
    """g(a) = a.

    Examples:
      >>> import jax.numpy as jnp
      >>> linear(jnp.array([-1.5, 2.0])).tolist()
      [-1.5, 2.0]
    """
    return a


def linear_grad(a):
    """g′(a) = 1.

    Examples:
      >>> import jax.numpy as jnp
      >>> linear_grad(jnp.array([-1.5, 2.0])).tolist()
      [1.0, 1.0]
    """
    return jnp.ones_like(a)


def softplus(a):
    """g(a) = log(1 + exp(a)), computed without overflow for large a.

    Examples:
      >>> import jax.numpy as jnp
      >>> softplus(jnp.array([0.0, 1000.0])).tolist()  # no overflow for large a
      [0.693, 1000.0]
    """
    return jnp.logaddexp(a, 0.0)


def softplus_grad(a):
    """g′(a) = σ(a).

    Examples:
      >>> import jax.numpy as jnp
      >>> softplus_grad(jnp.array([0.0])).tolist()
      [0.5]
    """
    return jax.nn.sigmoid(a)


def maxout(a):
    """h_j = max_p a_{j,p}: a of shape (n, d_out, pieces) → h of shape (n, d_out).

    Examples:
      >>> import jax.numpy as jnp
      >>> a = jnp.array([[[1.0, 3.0], [-2.0, -1.0]]])  # n=1, d_out=2, pieces=2
      >>> maxout(a).tolist()
      [[3.0, -1.0]]
    """
    return jnp.max(a, axis=-1)


def maxout_grad(a):
    """∂h_j/∂a_{j,p} = 1[a_{j,p} = h_j] / #ties, shape (n, d_out, pieces).

    With a single maximum this is the one-hot of the argmax. Ties share the
    gradient equally, a valid subgradient and the one ``jax.grad(jnp.max)``
    uses, so hand-written and automatic gradients agree everywhere.

    Examples:
      >>> import jax.numpy as jnp
      >>> maxout_grad(jnp.array([[[1.0, 3.0], [2.0, 2.0]]])).tolist()  # a tie shares the gradient
      [[[0.0, 1.0], [0.5, 0.5]]]
    """
    hit = (a == jnp.max(a, axis=-1, keepdims=True)).astype(a.dtype)
    return hit / jnp.sum(hit, axis=-1, keepdims=True)


class Unit(NamedTuple):
    """A hidden unit: its function g and derivative g′, both of the pre-activation.

    Examples:
      >>> import jax.numpy as jnp
      >>> unit = HIDDEN["tanh"]
      >>> unit.g(jnp.array(0.0)).item(), unit.g_prime(jnp.array(0.0)).item()
      (0.0, 1.0)
    """

    g: Callable
    g_prime: Callable


HIDDEN = {
    "relu": Unit(relu, relu_grad),
    "sigmoid": Unit(sigmoid, sigmoid_grad),
    "tanh": Unit(tanh, tanh_grad),
    "linear": Unit(linear, linear_grad),
    "softplus": Unit(softplus, softplus_grad),
    "maxout": Unit(maxout, maxout_grad),
}
"""The hidden units by name: each a :class:`Unit` of g and its derivative g′."""
