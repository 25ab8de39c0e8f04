"""nnbasics: neural-network basics in JAX, every derivative and optimizer by hand.

import nnbasics as nb
net = nb.MLP(sizes=(64, 128, 10), hidden="relu", output="softmax")
params = net.init(key)
J, grads = net.backprop(params, X, y)   # hand-written; equals jax.value_and_grad(net.loss)
"""

from nnbasics import _startup

if _startup.as_command():  # Ctrl-C while the command's imports run: one line, exit 130
    _startup.exit_on_interrupt()
    _startup.import_jax_or_exit()

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Every name is imported on first use (PEP 562), so ``import nnbasics.sklearn``
# or ``from nnbasics.mlp import MLP`` loads only what it needs, not optax and the
# whole training stack.
_FROM = {
    "MLP": "nnbasics.mlp",
    "FitResult": "nnbasics.train",
    "fit": "nnbasics.train",
    "disable_compilation_cache": "nnbasics.compilation",
    "enable_compilation_cache": "nnbasics.compilation",
    "Model": "nnbasics.models",
    "load_model": "nnbasics.models",
    "save_model": "nnbasics.models",
}


def __getattr__(name: str):
    if name in _FROM:
        value = getattr(importlib.import_module(_FROM[name]), name)
    elif name in __all__:
        value = importlib.import_module(f"nnbasics.{name}")
    else:
        raise AttributeError(f"module 'nnbasics' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
