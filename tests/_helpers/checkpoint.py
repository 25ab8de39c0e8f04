"""The iris network and its float64 parameters, shared by the checkpoint tests."""

import jax
import numpy as np

import nnbasics as nb

NET = nb.MLP((4, 8, 3), hidden="tanh", output="softmax")


def _params(net=NET):
    return jax.tree.map(lambda a: a.astype(np.float64), net.init(jax.random.key(0)))
