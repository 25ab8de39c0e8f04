"""Optimizer recipes: what a program takes as input and what is structure."""

import optax

import nnbasics as nb


def test_recipe_splits_program_inputs_from_structure():
    structure, numbers = nb.optim.recipe_of(nb.optim.adamw(1e-3, weight_decay=0.0)).split()
    assert numbers == {"learning_rate": 1e-3, "eps": 1e-8}  # zeros and decay rates stay fixed
    assert (
        structure == nb.optim.recipe_of(nb.optim.adamw(5e-2, eps=1e-6, weight_decay=0.0)).split()[0]
    )
    assert nb.optim.recipe_of(optax.adam(1e-3)) is None


def test_the_structure_keeps_every_value_that_is_no_program_input():
    # b1 is a decay rate, weight_decay 0 leaves a term out: both are structure, so two
    # optimizers that differ in them never share a compiled program.
    base = nb.optim.recipe_of(nb.optim.adamw(1e-3, b1=0.9, weight_decay=0.0)).split()[0]
    for other in (nb.optim.adamw(1e-3, b1=0.8, weight_decay=0.0), nb.optim.adamw(1e-3)):
        assert nb.optim.recipe_of(other).split()[0] != base
    assert dict(base.kwargs)["b1"] == 0.9 and dict(base.kwargs)["weight_decay"] == 0.0
