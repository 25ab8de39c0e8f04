"""Tests that kill the surviving mutants of nnbasics.gradcheck's sampled run (docs/mutation-report.md).

Each pins a documented claim (gradcheck's docstrings, the project's rule for bad
input: a one-line ValueError naming the argument, the expected and the received
value) to a value built independently, never read back from the code under test.
Small and fast (it runs once per mutant); float64.
"""

import re

import jax
import jax.numpy as jnp
import pytest

from nnbasics import gradcheck


def _cubes(params):
    return jnp.sum(params["a"] ** 3) + jnp.sum(params["c"] ** 2)


def test_report_refuses_grads_of_another_structure_saying_what_it_received():
    # report's docstring: manual returns grads "the same pytree as params"; a mismatch is
    # a ValueError naming manual, what was expected and the structure received.
    params = {"a": jnp.array([0.5, -1.0]), "c": jnp.array(2.0)}
    wrong = [jnp.zeros(2), jnp.zeros(())]  # a list where params is a dict
    received = str(jax.tree_util.tree_structure(wrong))
    with pytest.raises(
        ValueError, match=r"^manual: expected .*, received " + re.escape(received) + "$"
    ):
        gradcheck.report(_cubes, lambda p: (_cubes(p), wrong), params)


def _scaled(params, *, scale=1.0):
    return scale * _cubes(params)


def test_report_passes_keywords_to_manual_too():
    # report's docstring: *args, **kwargs are passed to loss AND manual; a right manual
    # gradient (jax's own) then agrees with jax.grad exactly on every leaf.
    params = {"a": jnp.array([0.5, -1.0]), "c": jnp.array(2.0)}
    rows = gradcheck.report(_scaled, jax.value_and_grad(_scaled), params, scale=3.0)
    assert [(r.path, r.manual_vs_auto) for r in rows] == [("a", 0.0), ("c", 0.0)]
    assert max(r.manual_vs_numerical for r in rows) < 1e-8
