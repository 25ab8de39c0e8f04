"""L2 and L1 penalties on the weights (never the biases), beside their gradients.

Parameters are a list of layers ``{"W": ..., "b": ...}``. The penalties are

    Ω₂(θ) = ½ Σ_k ‖W⁽ᵏ⁾‖²_F      ∇_W Ω₂ = W
    Ω₁(θ) = Σ_k Σ |W⁽ᵏ⁾_ij|       ∇_W Ω₁ = sign(W)   (subgradient 0 at 0)

and the gradients of the biases are 0. With L2, a gradient step
``θ ← θ − η(∇J + λW)`` is the course's weight decay ``θ ← (1 − ηλ)θ − η∇J``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "l2_penalty",
    "l2_grad",
    "l1_penalty",
    "l1_grad",
    "is_off",
    "penalty",
    "add_penalty_grads",
    "penalty_grads",
]


def l2_penalty(params):
    """½ Σ_k ‖W⁽ᵏ⁾‖², a scalar.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.array([5.0, 5.0])}]
      >>> float(l2_penalty(params))  # ½(1 + 4); the bias is not penalized
      2.5
    """
    return 0.5 * sum(jnp.sum(layer["W"] ** 2) for layer in params)


def l2_grad(params):
    """∇Ω₂: W for every weight, 0 for every bias (same pytree as params).

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.array([5.0, 5.0])}]
      >>> g = l2_grad(params)[0]
      >>> g["W"].tolist(), g["b"].tolist()
      ([[1.0, -2.0]], [0.0, 0.0])
    """
    return [{"W": layer["W"], "b": jnp.zeros_like(layer["b"])} for layer in params]


def l1_penalty(params):
    """Σ_k Σ_ij |W⁽ᵏ⁾_ij|, a scalar.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.array([5.0, 5.0])}]
      >>> float(l1_penalty(params))
      3.0
    """
    return sum(jnp.sum(jnp.abs(layer["W"])) for layer in params)


def l1_grad(params):
    """∂Ω₁: sign(W) (0 at 0) for every weight, 0 for every bias.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0, 0.0]]), "b": jnp.zeros(3)}]
      >>> l1_grad(params)[0]["W"].tolist()  # subgradient 0 at 0
      [[1.0, -1.0, 0.0]]
    """
    return [{"W": jnp.sign(layer["W"]), "b": jnp.zeros_like(layer["b"])} for layer in params]


def is_off(strength) -> bool:
    """True for a strength that is statically 0 (a Python number), so its term is skipped.

    Examples:
      >>> is_off(0.0), is_off(1e-4)
      (True, False)
    """
    return isinstance(strength, (int, float)) and strength == 0


def penalty(params, l2=0.0, l1=0.0):
    """l2·Ω₂(θ) + l1·Ω₁(θ), a scalar; terms whose strength is a literal 0 are not computed.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.zeros(2)}]
      >>> float(penalty(params, l2=0.1, l1=0.01))  # 0.1·2.5 + 0.01·3
      0.28
    """
    total = 0.0
    if not is_off(l2):
        total = total + l2 * l2_penalty(params)
    if not is_off(l1):
        total = total + l1 * l1_penalty(params)
    return total


def add_penalty_grads(grads, params, l2=0.0, l1=0.0):
    """grads + ∇[l2·Ω₂ + l1·Ω₁], skipping terms whose strength is a literal 0.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.zeros(2)}]
      >>> grads = [{"W": jnp.ones((1, 2)), "b": jnp.ones(2)}]
      >>> add_penalty_grads(grads, params, l2=0.5)[0]["W"].tolist()  # 1 + 0.5·W
      [[1.5, 0.0]]
    """
    for strength, grad_fn in ((l2, l2_grad), (l1, l1_grad)):
        if not is_off(strength):
            grads = jax.tree.map(lambda g, r, s=strength: g + s * r, grads, grad_fn(params))
    return grads


def penalty_grads(params, l2=0.0, l1=0.0):
    """∇[l2·Ω₂ + l1·Ω₁]: same pytree as params, zero for the biases.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = [{"W": jnp.array([[1.0, -2.0]]), "b": jnp.zeros(2)}]
      >>> penalty_grads(params, l2=0.5, l1=0.1)[0]["W"].tolist()  # 0.5·W + 0.1·sign(W)
      [[0.6, -1.1]]
    """
    return add_penalty_grads(jax.tree.map(jnp.zeros_like, params), params, l2, l1)
