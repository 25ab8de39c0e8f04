"""Every real hyper-parameter refuses inf and NaN with the shared one-line message (nnbasics._checks)."""

import math
import re

import jax
import numpy as np
import pytest

import nnbasics as nb
from tests._helpers.train import NET, iris_sample

# --- infinite hyper-parameters are bad input (CONTRIBUTING: NaN/inf get a ValueError)

_X3 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


_Y3 = np.array([0, 1, 1])


def _fit_with(**kw):
    params = NET.init(jax.random.key(0), np.float64)
    X, y = iris_sample(12)
    key = jax.random.key(1)
    return nb.fit(NET, params, nb.optim.sgd(0.1), (X, y), epochs=1, batch_size=4, key=key, **kw)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("l2", lambda v: _fit_with(l2=v)),
        ("l1", lambda v: _fit_with(l1=v)),
        ("min_delta", lambda v: _fit_with(min_delta=v)),
        ("l2", lambda v: nb.linear.solve(_X3, _Y3.astype(float), l2=v)),
        ("l2", lambda v: nb.logistic.nll({"w": np.zeros(2), "b": 0.0}, _X3, _Y3, l2=v)),
        ("tol", lambda v: nb.logistic.newton({"w": np.zeros(2), "b": 0.0}, _X3, _Y3, tol=v)),
        ("noise", lambda v: nb.data.load("moons", noise=v)),
    ],
)
def test_infinite_hyper_parameters_are_refused_naming_the_argument(name, call):
    for value in (math.inf, math.nan):
        message = f"{name}: expected a real number in [0.0, inf), received {value}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            call(value)
