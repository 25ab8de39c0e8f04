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
