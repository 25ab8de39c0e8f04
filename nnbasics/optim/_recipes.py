"""Optimizer recipes: how an ``nb.optim`` optimizer was built, so that equal ones compare equal.

Part of ``nnbasics.optim`` (re-exported there): ``Recipe``, ``recipe_of``,
``PROGRAM_INPUTS`` and ``is_tunable``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable

import numpy as np
import optax


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How an optimizer was built: its factory and every argument, compared by value.

    Two ``nb.optim`` optimizers built by the same factory with the same
    arguments are equal and hash alike (``adam(1e-3) == adam(1e-3)``), so a
    compiled training program keyed by the optimizer serves both.

    Attributes:
      factory: the public builder, e.g. ``nnbasics.optim.adam``.
      kwargs: ``((name, value), ...)``, every argument by name (defaults
        included), sorted by name.
    """

    factory: Callable
    kwargs: tuple

    def build(self, **changes) -> optax.GradientTransformation:
        """The optimizer again, with ``changes`` replacing some arguments (values may be traced)."""
        return self.factory(**{**dict(self.kwargs), **changes})

    def split(self) -> tuple[Recipe, dict]:
        """(structure, numbers): the arguments a compiled program can take as inputs, and the rest.

        ``numbers`` are the nonzero floats among :data:`PROGRAM_INPUTS`;
        ``structure.build(**numbers)`` rebuilds the optimizer from them (traced
        or not), so one program serves every learning rate, ε or weight decay.
        Zeros stay in the structure: a zero weight decay leaves its term out of
        the program, as the optimizer built from a literal 0 does.
        """
        numbers_ = {k: v for k, v in self.kwargs if k in PROGRAM_INPUTS and is_tunable(v)}
        kept = tuple((k, _TRACED if k in numbers_ else v) for k, v in self.kwargs)
        return Recipe(self.factory, kept), numbers_


# The hyper-parameters that enter an update only as themselves (α·g, g + λθ,
# √v + ε, β·m), so that a traced value gives bit for bit the update of a
# constant one. Decay rates (b1, b2, decay, dampening) are left out: their
# 1 − β is computed in float64 by Python for a constant but in float32 for a
# traced value, which moves float32 trajectories by an ulp of the rate.
PROGRAM_INPUTS = frozenset(
    {
        "learning_rate",
        "weight_decay",
        "eps",
        "eps_root",
        "initial_accumulator_value",
        "initial_scale",
        "beta",
        "momentum",
    }
)
_TRACED = "<program input>"


def is_tunable(value) -> bool:
    """Whether a hyper-parameter value can be a compiled program's input: a nonzero float."""
    return isinstance(value, (float, np.floating)) and value != 0


@dataclasses.dataclass(frozen=True)
class _Method:
    """``init`` or ``update`` of a recorded optimizer: calls ``fn``, compares by recipe."""

    fn: Callable = dataclasses.field(compare=False, repr=False)
    recipe: Recipe
    name: str

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _recorded(factory: Callable) -> Callable:
    """Makes ``factory``'s optimizers carry their :class:`Recipe` (equal by value)."""
    signature = inspect.signature(factory)

    @functools.wraps(factory)
    def build(*args, **kwargs):
        opt = factory(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        recipe = Recipe(build, tuple(sorted(bound.arguments.items())))
        return optax.GradientTransformationExtraArgs(
            _Method(opt.init, recipe, "init"), _Method(opt.update, recipe, "update")
        )

    return build


def recipe_of(optimizer) -> Recipe | None:
    """The :class:`Recipe` of an ``nb.optim`` optimizer; None for any other transformation."""
    update = getattr(optimizer, "update", None)
    return update.recipe if isinstance(update, _Method) else None
