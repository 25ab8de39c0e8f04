"""The optimizer registry: names, defaults, hyper-parameters and their description."""

import inspect

import optax
import pytest

from nnbasics import (
    optim,
    schedules,
)
from tests._helpers.messages import whole

# ------------------------------------------------------------------ registry


def test_registry_builds_every_named_optimizer_with_its_defaults():
    assert set(optim.names()) >= {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "nadam",
        "amsgrad",
    }
    for name, spec in optim.REGISTRY.items():
        opt = optim.get(name, learning_rate=spec.default_lr)
        assert opt == spec.factory(learning_rate=spec.default_lr, **spec.fixed)
        assert next(iter(spec.numeric)) == "learning_rate"
        params = inspect.signature(spec.factory).parameters
        assert all(k in params for k in (*spec.numeric, *spec.structural)), name
    assert optim.get("nesterov", learning_rate=0.1) == optim.momentum(0.1, nesterov=True)


def test_registry_rejects_unknown_names_and_hyperparameters():
    with pytest.raises(ValueError, match=r"^name: expected one of 'sgd'.*received 'adamx'"):
        optim.get("adamx")
    with pytest.raises(ValueError, match=r"^hyperparameters: expected names that 'adam' takes"):
        optim.get("adam", learning_rate=0.1, beta=0.9)


def test_describe_names_every_hyperparameter():
    text = optim.describe(optim.adam(1e-3, b2=0.99))
    assert text.startswith("adam(") and "b2=0.99" in text and "learning_rate=0.001" in text
    assert optim.describe(optim.sgd(schedules.power(0.1, 0.75))) == (
        "sgd(accumulator_dtype=None, learning_rate=power(0.1, 0.75, 0), weight_decay=0.0)"
    )
    assert optim.describe(optax.sgd(0.1)) is None


# --- optim's registry: what a checkpoint records, and the refusal of unknown names


def test_hyperparameters_record_every_argument_with_schedules_as_text():
    # Docstring: {"factory": "adam", "b1": 0.9, ..., "learning_rate": 0.001}, schedules as
    # text; None for an optimizer that is not nb.optim's. adam's defaults are optax's.
    assert optim.hyperparameters(optim.adam(1e-3, b2=0.99)) == {
        "factory": "adam",
        "b1": 0.9,
        "b2": 0.99,
        "eps": 1e-8,
        "eps_root": 0.0,
        "fold_bias_correction": False,
        "learning_rate": 0.001,
        "mu_dtype": None,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    recorded = optim.hyperparameters(optim.sgd(schedules.power(0.1, 0.75)))
    assert recorded["learning_rate"] == "power(0.1, 0.75, 0)"
    assert optim.hyperparameters(optax.sgd(0.1)) is None


def test_get_names_what_it_takes_and_every_unknown_hyperparameter():
    # "nesterov" is momentum with nesterov=True fixed: that name is not taken again.
    message = (
        "hyperparameters: expected names that 'nesterov' takes (accumulator_dtype, beta, "
        "dampening, learning_rate, lr_in_velocity, weight_decay), received 'nesterov', 'foo'"
    )
    with pytest.raises(ValueError, match=whole(message)):
        optim.get("nesterov", learning_rate=0.1, nesterov=False, foo=1)


# --- documented constants pinned to the documented values


@pytest.mark.parametrize(
    ("name", "lr"),
    [
        ("sgd", 0.1),
        ("momentum", 0.01),
        ("nesterov", 0.01),
        ("adagrad", 0.1),
        ("rmsprop", 1e-3),
        ("adam", 1e-3),
        ("adamw", 1e-3),
        ("nadam", 1e-3),
        ("amsgrad", 1e-3),
    ],
)
def test_default_learning_rates_are_the_documented_ones(name, lr):
    assert optim.REGISTRY[name].default_lr == lr
