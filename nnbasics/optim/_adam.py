r"""The Adam family: ``adam``, ``adamw``, ``nadam`` and ``amsgrad``, one engine ``_adam``.

Part of ``nnbasics.optim`` (re-exported there, with ``AdamState`` and
``AmsgradState``); the conventions (t, α_t, u_t, coupled and decoupled weight
decay) are those of ``nnbasics.optim``'s docstring.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from nnbasics import _checks
from nnbasics.optim._core import (
    ScalarOrSchedule,
    _bias_correction,
    _corrected,
    _dtype,
    _ema,
    _flag,
    _is_zero,
    _non_negative,
    _optimizer,
    _scale,
    _square,
    _unit,
)
from nnbasics.optim._recipes import _recorded

__all__ = ["AdamState", "AmsgradState", "adam", "adamw", "amsgrad", "nadam"]


class AdamState(NamedTuple):
    """State of ``adam``, ``adamw`` and ``nadam``: the count and the EMAs of g and |g|².

    Examples:
      >>> import jax.numpy as jnp
      >>> state = adam(0.1).init({"w": jnp.zeros(2)})
      >>> int(state.count), state.mu["w"].tolist(), state.nu["w"].tolist()
      (0, [0.0, 0.0], [0.0, 0.0])
    """

    count: jnp.ndarray
    mu: Any  # EMA of g
    nu: Any  # EMA of |g|²


class AmsgradState(NamedTuple):
    """State of ``amsgrad``: Adam's, plus the running maximum of the second moment.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = amsgrad(0.1).init({"w": jnp.zeros(2)})
      >>> state.nu_max["w"].tolist()
      [0.0, 0.0]
    """

    count: jnp.ndarray
    mu: Any  # EMA of g
    nu: Any  # EMA of |g|²
    nu_max: Any  # running maximum of the (corrected) EMA of |g|²


def _adam(
    learning_rate,
    b1,
    b2,
    eps,
    eps_root,
    mu_dtype,
    *,
    fold_bias_correction=False,
    coupled=0.0,
    decoupled=0.0,
    nesterov=False,
    amsgrad=False,
    correct_mu=True,
    correct_nu=True,
):
    """The Adam family: adam, adamw, nadam, amsgrad (see their docstrings)."""
    b1 = _unit("b1", b1)
    b2 = _unit("b2", b2)
    eps = _non_negative("eps", eps)
    eps_root = _non_negative("eps_root", eps_root)
    mu_dtype = _dtype("mu_dtype", mu_dtype)
    fold = _flag("fold_bias_correction", fold_bias_correction)
    nesterov = _flag("nesterov", nesterov)
    decoupled = _non_negative("weight_decay", decoupled)
    if fold and (nesterov or amsgrad):
        _checks.fail(
            "fold_bias_correction",
            "False with Nesterov momentum or AMSGrad (scikit-learn's folded form has neither)",
            fold,
        )

    def init(params):
        zeros = optax.tree.zeros_like
        return (zeros(params, dtype=mu_dtype), zeros(params)) + (
            (zeros(params),) if amsgrad else ()
        )

    def step(g, moments, count, rate, params):
        mu = _ema(b1, moments[0], g)
        nu = _ema(b2, moments[1], _square(g))
        k = count + 1
        if fold:
            c1, c2 = _bias_correction(b1, k), _bias_correction(b2, k)
            d = jax.tree.map(
                lambda m, n: (
                    m * (jnp.sqrt(c2) / c1).astype(m.dtype) / (jnp.sqrt(n + eps_root) + eps)
                ),
                mu,
                nu,
            )
        else:
            mu_hat = _corrected(mu, b1, k) if correct_mu else mu
            if nesterov:  # Dozat's look-ahead: the next step's corrected momentum
                mu_hat = jax.tree.map(
                    lambda m, gi: b1 * m + (1 - b1) * gi,
                    _corrected(mu, b1, k + 1),
                    _corrected(g, b1, k),
                )
            nu_hat = _corrected(nu, b2, k) if correct_nu else nu
            if amsgrad:
                nu_hat = jax.tree.map(jnp.maximum, moments[2], nu_hat)
            d = jax.tree.map(lambda m, n: m / (jnp.sqrt(n + eps_root) + eps), mu_hat, nu_hat)
        if not _is_zero(decoupled):
            if params is None:
                raise ValueError("params: expected the parameters (adamw), received None")
            d = jax.tree.map(lambda di, p: di + decoupled * p, d, params)
        return _scale(-rate, d), (mu, nu) + ((nu_hat,) if amsgrad else ())

    return _optimizer(AmsgradState if amsgrad else AdamState, init, step, learning_rate, coupled)


@_recorded
def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    *,
    nesterov: bool = False,
    fold_bias_correction: bool = False,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Adam: bias-corrected EMAs of the gradient and of its square.

    With g_t ← g_t + λθ_t, m_{−1} = v_{−1} = 0 and k = t + 1 (updates made,
    this one included),

        m_t = β1·m_{t−1} + (1 − β1)·g_t
        v_t = β2·v_{t−1} + (1 − β2)·g_t²
        m̂_t = m_t / (1 − β1^k),   v̂_t = v_t / (1 − β2^k)
        u_t = −α_t·m̂_t / (√(v̂_t + ε_root) + ε)

    ``eps`` is outside the root and ``eps_root`` inside, so the course's
    θ ← θ − η·ṽ/√(g̃ + ε) is ``adam(eps=0, eps_root=ε)`` (its γ is b1, its β b2).
    With ``fold_bias_correction=True`` the corrections move into the rate, as
    in scikit-learn's MLP Adam (and Kingma & Ba's "efficient" form), which
    leaves ε un-corrected and so differs when ε matters:

        u_t = −α_t·√(1 − β2^k)/(1 − β1^k) · m_t / (√(v_t + ε_root) + ε)

    Reproduces ``optax.adam`` (defaults), ``torch.optim.Adam(lr, betas, eps,
    weight_decay)`` (``weight_decay``, coupled) and scikit-learn's
    ``AdamOptimizer`` (``fold_bias_correction=True``).

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      b1: β1 in [0, 1).
      b2: β2 in [0, 1).
      eps: ε >= 0, outside the square root.
      eps_root: ε_root >= 0, inside the square root.
      mu_dtype: dtype of m (None: the parameters'), as optax's: float32 moments
        for bfloat16 parameters are the usual mixed-precision setting.
      nesterov: NAdam's look-ahead (see ``nadam``).
      fold_bias_correction: scikit-learn's step-dependent ε (see above).
      weight_decay: λ >= 0, coupled (L2 in the gradient; see ``adamw``).

    Complex parameters use v_t = β2·v_{t−1} + (1 − β2)·|g_t|², as optax does.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = adam(0.1)
      >>> params = {"w": jnp.array([0.0, 0.0])}
      >>> updates, _ = opt.update({"w": jnp.array([3.0, -1e-3])}, opt.init(params), params)
      >>> updates["w"].tolist()  # bias-corrected first step: −α·sign(g), whatever |g|
      [-0.1, 0.1]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        fold_bias_correction=fold_bias_correction,
        coupled=weight_decay,
        nesterov=nesterov,
    )


@_recorded
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    weight_decay: float = 1e-4,
    *,
    nesterov: bool = False,
    fold_bias_correction: bool = False,
) -> optax.GradientTransformation:
    """AdamW: Adam with decoupled weight decay.

    With m̂_t, v̂_t as in ``adam`` (no decay in the gradient),

        u_t = −α_t·(m̂_t / (√(v̂_t + ε_root) + ε) + λ·θ_t)

    Reproduces ``optax.adamw`` (defaults) and ``torch.optim.AdamW(lr, betas,
    eps, weight_decay)`` (PyTorch's θ ← θ(1 − αλ) before its Adam step is the
    same update; its default λ is 1e-2, optax's and ours 1e-4).

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov,
      fold_bias_correction: as in ``adam``.
      weight_decay: λ >= 0, decoupled.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``;
      ``update`` needs ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = adamw(0.1, weight_decay=0.5)
      >>> params = {"w": jnp.array([2.0])}
      >>> updates, _ = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # −α·(1 + λθ) = −0.1·(1 + 0.5·2)
      [-0.2]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        fold_bias_correction=fold_bias_correction,
        decoupled=weight_decay,
        nesterov=nesterov,
    )


@_recorded
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    *,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """NAdam: Adam with Nesterov momentum (Dozat 2016), as ``optax.nadam``.

    With m_t, v_t and k = t + 1 as in ``adam``, the first moment is looked at
    one step ahead:

        m̂_t = β1·m_t / (1 − β1^(k+1)) + (1 − β1)·g_t / (1 − β1^k)
        u_t = −α_t·m̂_t / (√(v_t/(1 − β2^k) + ε_root) + ε)

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay: as in ``adam``.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = nadam(0.1)
      >>> params = {"w": jnp.array([0.0])}
      >>> updates, state = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> int(state.count), updates["w"].shape
      (1, (1,))
    """
    return _adam(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, coupled=weight_decay, nesterov=True
    )


@_recorded
def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """AMSGrad (Reddi et al. 2018): Adam whose denominator never shrinks, as ``optax.amsgrad``.

    With m_t, v_t and k = t + 1 as in ``adam``,

        v̂_t = v_t / (1 − β2^k)   (bias_correction_nu; else v_t)
        v̂ᵐᵃˣ_t = max(v̂ᵐᵃˣ_{t−1}, v̂_t),  v̂ᵐᵃˣ_{−1} = 0
        u_t = −α_t·m̂_t / (√(v̂ᵐᵃˣ_t + ε_root) + ε)

    with m̂_t = m_t / (1 − β1^k) (bias_correction_mu; else m_t). Both
    corrections off is the paper's original form.

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay: as in ``adam``.
      bias_correction_mu, bias_correction_nu: correct m and v for their zero start.

    Returns:
      An ``optax.GradientTransformation`` with state ``AmsgradState(count, mu, nu, nu_max)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = amsgrad(0.1)
      >>> params = {"w": jnp.array([0.0])}
      >>> updates, state = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # the first step is Adam's
      [-0.1]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        coupled=weight_decay,
        amsgrad=True,
        correct_mu=_flag("bias_correction_mu", bias_correction_mu),
        correct_nu=_flag("bias_correction_nu", bias_correction_nu),
    )
