"""The Adam family: its own refusals and the folded bias correction (nnbasics.optim)."""

import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import optim
from tests._helpers.messages import whole


def test_folded_bias_correction_is_refused_with_nesterov():
    # adam's docstring: scikit-learn's folded form has no Nesterov momentum (nor AMSGrad,
    # which has no fold_bias_correction option to refuse).
    message = (
        "fold_bias_correction: expected False with Nesterov momentum or AMSGrad "
        "(scikit-learn's folded form has neither), received True"
    )
    with pytest.raises(ValueError, match=whole(message)):
        optim.adam(0.1, nesterov=True, fold_bias_correction=True)


def test_adamw_without_params_is_refused_by_name():
    opt = optim.adamw(0.1)
    grads = {"w": jnp.ones(2)}
    with pytest.raises(
        ValueError, match=r"^params: expected the parameters \(adamw\), received None$"
    ):
        opt.update(grads, opt.init(grads))


def test_folded_bias_correction_adds_an_uncorrected_eps_to_the_root():
    # adam's docstring: u_t = −α·√(1 − β2^k)/(1 − β1^k) · m_t / (√(v_t + ε_root) + ε); one
    # step, with an ε large enough to matter.
    opt = optim.adam(0.1, 0.9, 0.999, 1.0, fold_bias_correction=True)
    g = {"w": jnp.array([2.0, -0.5])}
    updates, _ = opt.update(g, opt.init(g), g)
    m, v = 0.1 * g["w"], 0.001 * g["w"] ** 2
    expected = -0.1 * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1.0)
    np.testing.assert_allclose(updates["w"], expected, rtol=1e-12)
