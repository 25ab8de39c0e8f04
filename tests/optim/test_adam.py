"""The Adam family's own refusals (nnbasics.optim)."""

import jax.numpy as jnp
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
