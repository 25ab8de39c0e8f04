"""Per-data-set training recipes: the defaults of ``nnbasics train --dataset NAME``.

A shipped set whose documented number needs other settings than the
command's general defaults has a recipe here. ``nnbasics train --dataset
NAME`` applies it to every option not given on the command line (an option
given explicitly, even at its general default, always wins) and prints it in
the training header; the model file records the options as applied.
"""

from __future__ import annotations

import argparse

__all__ = ["RECIPES", "Given", "apply_recipe", "describe"]

# The numbers each recipe reaches are in docs/mnist1d.md and docs/cli-usage.md,
# and tests/cli/test_recipes.py checks them.
RECIPES: dict[str, dict] = {
    # docs/mnist1d.md's "one step beyond", chosen on a validation split of the
    # training set: SGD at 1.0, 40-256-256-10 relu, L2 3e-3, batches of 100,
    # 150 epochs, the parameters kept at the best validation accuracy.
    "mnist1d": {
        "hidden_sizes": (256, 256),
        "optimizer": "sgd",
        "lr": 1.0,
        "l2": 3e-3,
        "batch_size": 100,
        "epochs": 150,
        "patience": None,
        "monitor": "valid_accuracy",
    },
}


class Given(argparse.Action):
    """Stores an option's value and records its ``dest`` in ``namespace.given``."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = frozenset(getattr(namespace, "given", frozenset()) | {self.dest})


def apply_recipe(args) -> dict:
    """Sets the recipe of ``args.dataset`` on the options not given; returns what it set."""
    if getattr(args, "data", None) is not None:
        return {}
    recipe = RECIPES.get(args.dataset or "digits", {})
    given = getattr(args, "given", frozenset())
    applied = {k: v for k, v in recipe.items() if k not in given}
    if "valid" in given and not args.valid:
        # --valid 0 leaves no split to monitor: the general default (training loss) applies
        applied.pop("monitor", None)
    for k, v in applied.items():
        setattr(args, k, v)
    return applied


def describe(applied: dict) -> str:
    """The recipe as options, for the training header ('' when none applied)."""
    if not applied:
        return ""

    def shown(value):
        if value is None:
            return "none"
        if isinstance(value, tuple):
            return ",".join(map(str, value)) or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    options = " ".join(f"--{k.replace('_', '-')} {shown(v)}" for k, v in applied.items())
    return f"the data set's recipe: {options} (any option given overrides it)"
