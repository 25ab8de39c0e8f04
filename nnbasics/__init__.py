"""nnbasics: neural-network basics in JAX, every derivative and optimizer by hand.

import nnbasics as nb
net = nb.MLP(sizes=(64, 128, 10), hidden="relu", output="softmax")
params = net.init(key)
J, grads = net.backprop(params, X, y)   # hand-written; equals jax.value_and_grad(net.loss)
"""

from nnbasics import _startup

if _startup.as_command():  # Ctrl-C during the imports below: one line, exit 130
    _startup.exit_on_interrupt()

from nnbasics import (
    activations,
    checkpoint,
    compilation,
    data,
    distributed,
    gradcheck,
    graph,
    init,
    linear,
    logistic,
    losses,
    models,
    newton,
    optim,
    regularizers,
    schedules,
    search,
    train,
)
from nnbasics.compilation import disable_compilation_cache, enable_compilation_cache
from nnbasics.mlp import MLP
from nnbasics.models import Model, load_model, save_model
from nnbasics.train import FitResult, fit

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "FitResult",
    "fit",
    "disable_compilation_cache",
    "enable_compilation_cache",
    "Model",
    "load_model",
    "save_model",
    "activations",
    "checkpoint",
    "compilation",
    "data",
    "distributed",
    "gradcheck",
    "graph",
    "init",
    "linear",
    "logistic",
    "losses",
    "models",
    "newton",
    "optim",
    "regularizers",
    "schedules",
    "search",
    "train",
]
