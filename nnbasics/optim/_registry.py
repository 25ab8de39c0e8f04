"""The optimizer registry: every named optimizer, its valid ranges, and lookups by name.

Part of ``nnbasics.optim`` (re-exported there): ``nb.optim.REGISTRY``, ``get``,
``names``, ``hyperparameters`` and ``describe``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import NamedTuple

import optax

from nnbasics import _checks
from nnbasics.optim._adam import adam, adamw, amsgrad, nadam
from nnbasics.optim._basic import adagrad, momentum, rmsprop, sgd
from nnbasics.optim._recipes import recipe_of

POSITIVE = (0.0, math.inf, True, True)  # (lo, hi, lo_open, hi_open)
NON_NEGATIVE = (0.0, math.inf, False, True)
UNIT = (0.0, 1.0, False, True)  # decay rates and betas: [0, 1)
CLOSED_UNIT = (0.0, 1.0, False, False)


class Spec(NamedTuple):
    """One named optimizer: how to build it and what it takes.

    Attributes:
      factory: the ``nb.optim`` function.
      fixed: arguments the name implies (``"nesterov"`` is momentum with nesterov=True).
      default_lr: the learning rate the command line uses when none is given.
      numeric: hyper-parameter name -> valid range (lo, hi, lo_open, hi_open),
        learning_rate first; the numbers ``nb.search`` may vary and vmap over.
      structural: option names (bools) that change the program, not its numbers.
    """

    factory: Callable
    fixed: dict
    default_lr: float
    numeric: dict
    structural: tuple

    def build(self, **hyperparameters) -> optax.GradientTransformation:
        """``factory(**fixed, **hyperparameters)``; values may be traced."""
        return self.factory(**self.fixed, **hyperparameters)


_ADAM = {
    "learning_rate": POSITIVE,
    "b1": UNIT,
    "b2": UNIT,
    "eps": NON_NEGATIVE,
    "eps_root": NON_NEGATIVE,
    "weight_decay": NON_NEGATIVE,
}
_MOMENTUM = {
    "learning_rate": POSITIVE,
    "beta": UNIT,
    "dampening": CLOSED_UNIT,
    "weight_decay": NON_NEGATIVE,
}

REGISTRY: dict[str, Spec] = {
    "sgd": Spec(sgd, {}, 0.1, {"learning_rate": POSITIVE, "weight_decay": NON_NEGATIVE}, ()),
    "momentum": Spec(momentum, {}, 0.01, _MOMENTUM, ("nesterov",)),
    "nesterov": Spec(momentum, {"nesterov": True}, 0.01, _MOMENTUM, ()),
    "adagrad": Spec(
        adagrad,
        {},
        0.1,
        {
            "learning_rate": POSITIVE,
            "initial_accumulator_value": NON_NEGATIVE,
            "eps": NON_NEGATIVE,
            "weight_decay": NON_NEGATIVE,
        },
        (),
    ),
    "rmsprop": Spec(
        rmsprop,
        {},
        1e-3,
        {
            "learning_rate": POSITIVE,
            "decay": UNIT,
            "eps": NON_NEGATIVE,
            "initial_scale": NON_NEGATIVE,
            "weight_decay": NON_NEGATIVE,
        },
        ("centered",),
    ),
    "adam": Spec(adam, {}, 1e-3, _ADAM, ()),
    "adamw": Spec(adamw, {}, 1e-3, _ADAM, ()),
    "nadam": Spec(nadam, {}, 1e-3, _ADAM, ()),
    "amsgrad": Spec(amsgrad, {}, 1e-3, _ADAM, ()),
}
"""Every named optimizer, used by the command line, ``nb.search`` and checkpoints.

Adding an optimizer is one entry here (and its factory above)."""


def names() -> tuple[str, ...]:
    """The names :func:`get` accepts."""
    return tuple(REGISTRY)


def get(name: str, **hyperparameters) -> optax.GradientTransformation:
    """The optimizer called ``name`` with ``hyperparameters`` (the rest at their defaults).

    Example: ``nb.optim.get("adam", learning_rate=1e-3, b2=0.99)``.

    Raises:
      ValueError: an unknown name, or a hyper-parameter ``name`` does not take.
    """
    _checks.one_of("name", name, tuple(REGISTRY))
    spec = REGISTRY[name]
    accepted = sorted(set(inspect.signature(spec.factory).parameters) - set(spec.fixed))
    unknown = [key for key in hyperparameters if key not in accepted]
    if unknown:
        _checks.fail(
            "hyperparameters",
            f"names that {name!r} takes ({', '.join(accepted)})",
            ", ".join(map(repr, unknown)),
        )
    return spec.build(**hyperparameters)


def hyperparameters(optimizer) -> dict | None:
    """``{"factory": "adam", "b1": 0.9, ..., "learning_rate": 0.001}`` for an ``nb.optim``
    optimizer (schedules and dtypes as text), else None: what a checkpoint records,
    so that a resume with other hyper-parameters is refused field by field."""
    recipe = recipe_of(optimizer)
    if recipe is None:
        return None
    plain = (bool, int, float, str, type(None))
    return {
        "factory": recipe.factory.__name__,
        **{k: v if isinstance(v, plain) else repr(v) for k, v in recipe.kwargs},
    }


def describe(optimizer) -> str | None:
    """``"adam(b1=0.9, ..., learning_rate=0.001)"`` for an ``nb.optim`` optimizer, else None."""
    recipe = recipe_of(optimizer)
    if recipe is None:
        return None
    return f"{recipe.factory.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in recipe.kwargs) + ")"
