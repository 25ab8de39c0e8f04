"""Parameter initialization: Glorot uniform weights and zero biases (the slides' recipe)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """b = √6 / √(fan_in + fan_out), the half-width of Glorot & Bengio's (2010) uniform."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def glorot_uniform(key, shape, dtype=jnp.float32):
    """W ~ U[−b, b] with b = glorot_bound(shape[0], shape[1]); standard deviation b/√3.

    Args:
      key: a PRNG key.
      shape: (fan_in, fan_out) or, for maxout, (fan_in, fan_out, pieces); each
        piece is a (fan_in, fan_out) linear map and is initialized as one.
      dtype: floating dtype of the result.
    """
    b = glorot_bound(shape[0], shape[1])
    return jax.random.uniform(key, shape, dtype, minval=-b, maxval=b)


def zeros(shape, dtype=jnp.float32):
    """Biases start at 0."""
    return jnp.zeros(shape, dtype)
