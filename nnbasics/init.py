"""Parameter initialization: Glorot uniform weights and zero biases (the slides' recipe)."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp

__all__ = [
    "glorot_bound",
    "glorot_uniform",
    "glorot_uniform_layers",
    "zeros",
]


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """b = √6 / √(fan_in + fan_out), the half-width of Glorot & Bengio's (2010) uniform.

    Examples:
      >>> round(glorot_bound(2, 1), 4)  # √(6/3)
      1.4142
    """
    return math.sqrt(6.0 / (fan_in + fan_out))


def glorot_uniform(key, shape, dtype=jnp.float32):
    """W ~ U[−b, b] with b = glorot_bound(shape[0], shape[1]); standard deviation b/√3.

    Args:
      key: a PRNG key.
      shape: (fan_in, fan_out) or, for maxout, (fan_in, fan_out, pieces); each
        piece is a (fan_in, fan_out) linear map and is initialized as one.
      dtype: floating dtype of the result.

    Examples:
      >>> import jax
      >>> W = glorot_uniform(jax.random.key(0), (3, 2))
      >>> W.shape, bool(abs(W).max() <= glorot_bound(3, 2))
      ((3, 2), True)
    """
    b = glorot_bound(shape[0], shape[1])
    return jax.random.uniform(key, shape, dtype, minval=-b, maxval=b)


def glorot_uniform_layers(key, shapes, dtype=jnp.float32):
    """One Glorot-uniform weight array per shape, from a single random draw.

    The same distribution as ``glorot_uniform`` for each shape (U[−b, b] with
    that shape's fan-in and fan-out); the draws come from one uniform vector
    cut into pieces, because on CPU every distinct random shape costs a compile
    of the PRNG kernel, which would dominate a small network's start-up.

    Examples:
      >>> import jax
      >>> Ws = glorot_uniform_layers(jax.random.key(0), [(4, 3), (3, 2)])
      >>> [W.shape for W in Ws]
      [(4, 3), (3, 2)]
    """
    sizes = [math.prod(shape) for shape in shapes]
    u = jax.random.uniform(key, (sum(sizes),), dtype, minval=-1.0, maxval=1.0)
    pieces = jnp.split(u, list(itertools.accumulate(sizes))[:-1])
    return [
        glorot_bound(shape[0], shape[1]) * piece.reshape(shape)
        for shape, piece in zip(shapes, pieces)
    ]


def zeros(shape, dtype=jnp.float32):
    """Biases start at 0.

    Examples:
      >>> zeros((3,)).tolist()
      [0.0, 0.0, 0.0]
    """
    return jnp.zeros(shape, dtype)
