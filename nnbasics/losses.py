"""Output units: each negative log-likelihood beside its gradient w.r.t. the logits.

Every unit is given the output pre-activation ``z = a⁽ᴸ⁺¹⁾`` of shape
``(n, width)`` and targets ``y``, and returns

* ``nll(z, y)``: the per-example negative log-likelihood, shape ``(n,)``;
* ``delta(z, y)``: its hand-written gradient ``∂nll/∂z``, shape ``(n, width)``,
  the quantity backprop starts from (for softmax ``f(x) − e(y)``).

All losses are computed from the logits (``softplus``/``logsumexp``, never
``log σ(z)``), so they and their gradients stay finite for ``|z|`` up to 1e4
in float32. The training loss is the mean of ``nll`` over the batch.

Layouts (``d = sizes[-1]``, ``K`` mixture components):

============  ===========  ============================================  ==================
unit          width        z                                             y
============  ===========  ============================================  ==================
sigmoid       d            logits of d independent Bernoullis            {0,1}, (n, d)
softmax       d            logits of a categorical over d classes        int labels, (n,)
linear        d            means of a unit-variance Gaussian             real, (n, d)
gaussian      2d           [means μ (d), raw precisions r (d)]           real, (n, d)
mixture       K(1 + 2d)    [logits (K), means (K·d), raw precisions      real, (n, d)
                           (K·d)], means/precisions row-major (K, d)
============  ===========  ============================================  ==================

Precisions are ``τ = softplus(r) > 0``. The linear unit's NLL is ``½‖z − y‖²``
(the Gaussian NLL without its constant, as the course writes it); the gaussian
and mixture units include ``½ log 2π`` per dimension, so they are true NLLs in
nats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "sigmoid_nll",
    "sigmoid_delta",
    "softmax_nll",
    "softmax_delta",
    "linear_nll",
    "linear_delta",
    "gaussian_nll",
    "gaussian_delta",
    "mixture_nll",
    "mixture_delta",
    "mixture_mean",
    "gaussian_std",
    "mixture_std",
    "Output",
    "OUTPUT",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# Below this raw precision, softplus(r) = exp(r)(1 − exp(r)/2 + …) is exp(r) to
# double precision, so log τ = r and σ(r)/τ = 1; evaluating the closed forms
# there would underflow to log 0 and 0/0 in float32.
_TINY_R = -30.0


# --- sigmoid: independent Bernoullis (multi-label; logistic regression when d = 1)


def sigmoid_nll(z, y):
    """−Σⱼ [yⱼ log σ(zⱼ) + (1 − yⱼ) log(1 − σ(zⱼ))] = Σⱼ softplus(zⱼ) − yⱼ zⱼ.

    Examples:
      >>> import jax.numpy as jnp
      >>> sigmoid_nll(jnp.array([[0.0], [2.0]]), jnp.array([[1], [1]])).tolist()  # log 2, softplus(−2)
      [0.693, 0.127]
    """
    return jnp.sum(jnp.logaddexp(z, 0.0) - y * z, axis=-1)


def sigmoid_delta(z, y):
    """∂nll/∂z = σ(z) − y = −(y − f(x)).

    Examples:
      >>> import jax.numpy as jnp
      >>> sigmoid_delta(jnp.array([[0.0]]), jnp.array([[1]])).tolist()  # σ(0) − 1
      [[-0.5]]
    """
    return jax.nn.sigmoid(z) - y


# --- softmax: categorical


def softmax_nll(z, y):
    """−log softmax(z)_y = logsumexp(z) − z_y, y integer labels of shape (n,).

    Examples:
      >>> import jax.numpy as jnp
      >>> softmax_nll(jnp.array([[0.0, 0.0]]), jnp.array([1])).tolist()  # log 2
      [0.693]
    """
    z_y = jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0]
    return jax.nn.logsumexp(z, axis=-1) - z_y


def softmax_delta(z, y):
    """∂nll/∂z = softmax(z) − e(y) = −(e(y) − f(x)).

    Examples:
      >>> import jax.numpy as jnp
      >>> softmax_delta(jnp.array([[0.0, 0.0]]), jnp.array([1])).tolist()  # f(x) − e(y)
      [[0.5, -0.5]]
    """
    return jax.nn.softmax(z, axis=-1) - jax.nn.one_hot(y, z.shape[-1], dtype=z.dtype)


# --- linear: Gaussian with unit variance


def linear_nll(z, y):
    """½‖z − y‖² (the unit-variance Gaussian NLL up to its constant).

    Examples:
      >>> import jax.numpy as jnp
      >>> linear_nll(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, 0.0]])).tolist()  # ½(1 + 4)
      [2.5]
    """
    return 0.5 * jnp.sum((z - y) ** 2, axis=-1)


def linear_delta(z, y):
    """∂nll/∂z = z − y.

    Examples:
      >>> import jax.numpy as jnp
      >>> linear_delta(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, 0.0]])).tolist()
      [[1.0, 2.0]]
    """
    return z - y


# --- Gaussian pieces shared by the gaussian and mixture units


def _log_precision(r):
    """log τ = log softplus(r), stable for very negative r (where it equals r)."""
    safe = jnp.where(r < _TINY_R, 0.0, r)
    return jnp.where(r < _TINY_R, r, jnp.log(jnp.logaddexp(safe, 0.0)))


def _sigmoid_over_precision(r):
    """σ(r)/τ = σ(r)/softplus(r), the chain factor of ∂(−½ log τ)/∂r; → 1 as r → −∞."""
    safe = jnp.where(r < _TINY_R, 0.0, r)
    return jnp.where(r < _TINY_R, 1.0, jax.nn.sigmoid(safe) / jnp.logaddexp(safe, 0.0))


def _gaussian_logpdf(y, mu, r):
    """log N(y; μ, 1/τ) per dimension: ½ log τ − ½ log 2π − ½ τ (y − μ)²."""
    tau = jnp.logaddexp(r, 0.0)
    return 0.5 * _log_precision(r) - _HALF_LOG_2PI - 0.5 * tau * (y - mu) ** 2


def _gaussian_logpdf_grads(y, mu, r):
    """(∂/∂μ, ∂/∂r) of the log-density above.

    ∂/∂μ = τ (y − μ);  ∂/∂r = σ(r) [1/(2τ) − ½ (y − μ)²]  since ∂τ/∂r = σ(r).
    """
    tau = jnp.logaddexp(r, 0.0)
    d_mu = tau * (y - mu)
    d_r = 0.5 * _sigmoid_over_precision(r) - 0.5 * jax.nn.sigmoid(r) * (y - mu) ** 2
    return d_mu, d_r


# --- gaussian: mean and learned (softplus) precision per output dimension


def gaussian_nll(z, y):
    """−Σⱼ log N(yⱼ; μⱼ, 1/τⱼ), z = [μ, r], τ = softplus(r).

    Examples:
      >>> import jax.numpy as jnp
      >>> r = jnp.log(jnp.e - 1)  # softplus(r) = 1: unit precision
      >>> gaussian_nll(jnp.array([[0.0, r]]), jnp.array([[0.0]])).tolist()  # ½ log 2π
      [0.919]
    """
    mu, r = jnp.split(z, 2, axis=-1)
    return -jnp.sum(_gaussian_logpdf(y, mu, r), axis=-1)


def gaussian_delta(z, y):
    """∂nll/∂z = [τ (μ − y),  σ(r) (½ (y − μ)² − 1/(2τ))].

    Examples:
      >>> import jax.numpy as jnp
      >>> r = jnp.log(jnp.e - 1)
      >>> gaussian_delta(jnp.array([[1.0, r]]), jnp.array([[0.0]]))[:, 0].tolist()  # τ(μ − y)
      [1.0]
    """
    mu, r = jnp.split(z, 2, axis=-1)
    d_mu, d_r = _gaussian_logpdf_grads(y, mu, r)
    return -jnp.concatenate([d_mu, d_r], axis=-1)


# --- mixture: K-component Gaussian mixture with diagonal precisions


def _mixture_parts(z, d):
    """Splits z (n, K(1+2d)) into logits (n, K), means and raw precisions (n, K, d)."""
    k = z.shape[-1] // (1 + 2 * d)
    logits = z[:, :k]
    mu = z[:, k : k + k * d].reshape(-1, k, d)
    r = z[:, k + k * d :].reshape(-1, k, d)
    return logits, mu, r


def _mixture_joint(z, y):
    """L_k = log π_k + Σⱼ log N(yⱼ; μ_kj, 1/τ_kj), shape (n, K), and the parts."""
    logits, mu, r = _mixture_parts(z, y.shape[-1])
    joint = jax.nn.log_softmax(logits, axis=-1) + jnp.sum(
        _gaussian_logpdf(y[:, None, :], mu, r), axis=-1
    )
    return joint, logits, mu, r


def mixture_nll(z, y):
    """−log Σ_k π_k N(y; μ_k, diag(1/τ_k)) = −logsumexp_k L_k, π = softmax(logits).

    Examples:
      >>> import jax.numpy as jnp
      >>> r = float(jnp.log(jnp.e - 1))
      >>> z = jnp.array([[0.0, 0.0, 0.0, 0.0, r, r]])  # K=2, d=1: both components N(0, 1)
      >>> mixture_nll(z, jnp.array([[0.0]])).tolist()  # the single Gaussian's ½ log 2π
      [0.919]
    """
    joint, *_ = _mixture_joint(z, y)
    return -jax.nn.logsumexp(joint, axis=-1)


def mixture_delta(z, y):
    """∂nll/∂z with responsibilities γ_k = softmax_k(L_k):

    ∂/∂logits_k = π_k − γ_k;  ∂/∂μ_kj = −γ_k ∂log N/∂μ_kj;  ∂/∂r_kj = −γ_k ∂log N/∂r_kj.

    Examples:
      >>> import jax.numpy as jnp
      >>> r = float(jnp.log(jnp.e - 1))
      >>> z = jnp.array([[0.0, 0.0, 0.0, 0.0, r, r]])
      >>> mixture_delta(z, jnp.array([[0.0]])).shape  # same width as z
      (1, 6)
    """
    joint, logits, mu, r = _mixture_joint(z, y)
    gamma = jax.nn.softmax(joint, axis=-1)
    d_mu, d_r = _gaussian_logpdf_grads(y[:, None, :], mu, r)
    n = z.shape[0]
    return jnp.concatenate(
        [
            jax.nn.softmax(logits, axis=-1) - gamma,
            (-gamma[..., None] * d_mu).reshape(n, -1),
            (-gamma[..., None] * d_r).reshape(n, -1),
        ],
        axis=-1,
    )


def mixture_mean(z, d):
    """E[y | x] = Σ_k π_k μ_k, shape (n, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> z = jnp.array([[0.0, 0.0, -1.0, 3.0, 0.0, 0.0]])  # equal weights, means −1 and 3
      >>> mixture_mean(z, 1).tolist()
      [[1.0]]
    """
    logits, mu, _ = _mixture_parts(z, d)
    return jnp.einsum("nk,nkd->nd", jax.nn.softmax(logits, axis=-1), mu)


def gaussian_std(z, d):
    """Predicted standard deviation 1/√τ = exp(−½ log τ), shape (n, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> r = float(jnp.log(jnp.e ** 4 - 1))  # τ = softplus(r) = 4
      >>> gaussian_std(jnp.array([[0.0, r]]), 1).tolist()  # 1/√τ
      [[0.5]]
    """
    return jnp.exp(-0.5 * _log_precision(z[:, d:]))


def mixture_std(z, d):
    """Standard deviation of the mixture, √(Σ_k π_k (1/τ_k + μ_k²) − (Σ_k π_k μ_k)²), (n, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> big = 30.0  # τ ≈ 30: nearly point masses at −1 and 1
      >>> mixture_std(jnp.array([[0.0, 0.0, -1.0, 1.0, big, big]]), 1).tolist()
      [[1.02]]
    """
    logits, mu, r = _mixture_parts(z, d)
    pi = jax.nn.softmax(logits, axis=-1)[..., None]
    second = jnp.sum(pi * (jnp.exp(-_log_precision(r)) + jnp.square(mu)), axis=1)
    return jnp.sqrt(jnp.maximum(second - jnp.square(jnp.sum(pi * mu, axis=1)), 0.0))


class Output(NamedTuple):
    """An output unit: its NLL, the NLL's gradient w.r.t. z, prediction and layout.

    Attributes:
      nll: (z, y) → per-example NLL (n,).
      delta: (z, y) → ∂nll/∂z (n, width).
      predict: (z, d) → labels (n,) for softmax, {0,1} (n, d) for sigmoid, means (n, d) otherwise.
      width: (d, components) → number of output pre-activations.
      target: "labels" (int, (n,)), "binary" ({0,1}, (n, d)) or "real" ((n, d)).
      proba: (z, d) → class probabilities (softmax (n, d); sigmoid: P(yⱼ = 1) (n, d)),
        or the predicted standard deviation (n, d) for real-valued outputs.

    Examples:
      >>> import jax.numpy as jnp
      >>> unit = OUTPUT["softmax"]
      >>> unit.width(3, 1), unit.target
      (3, 'labels')
      >>> unit.predict(jnp.array([[0.1, 2.0, -1.0]]), 3).tolist()
      [1]
    """

    nll: Callable
    delta: Callable
    predict: Callable
    width: Callable
    target: str
    proba: Callable


OUTPUT = {
    "sigmoid": Output(
        sigmoid_nll,
        sigmoid_delta,
        lambda z, d: (z > 0).astype(jnp.int32),
        lambda d, k: d,
        "binary",
        lambda z, d: jax.nn.sigmoid(z),
    ),
    "softmax": Output(
        softmax_nll,
        softmax_delta,
        lambda z, d: jnp.argmax(z, axis=-1),
        lambda d, k: d,
        "labels",
        lambda z, d: jax.nn.softmax(z, axis=-1),
    ),
    "linear": Output(
        linear_nll,
        linear_delta,
        lambda z, d: z,
        lambda d, k: d,
        "real",
        lambda z, d: jnp.ones_like(z),
    ),  # unit variance by construction
    "gaussian": Output(
        gaussian_nll,
        gaussian_delta,
        lambda z, d: z[:, :d],
        lambda d, k: 2 * d,
        "real",
        gaussian_std,
    ),
    "mixture": Output(
        mixture_nll, mixture_delta, mixture_mean, lambda d, k: k * (1 + 2 * d), "real", mixture_std
    ),
}
"""The output units by name: each an :class:`Output` of its nll, δ, prediction and width."""
