"""nb.fit's argument checks: bad input refused in one line, before any work."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics.train import _epoch as _train_epoch
from nnbasics.train import cast_data, to_device
from tests._helpers.train import NET, X4, XOR_NET, Y4, fit_refusal, params64


def test_a_compute_dtype_that_is_no_dtype_name_is_refused(tmp_path):
    # fit's docstring: compute_dtype is None, bfloat16 or float16; an unknown name is bad input.
    assert fit_refusal(compute_dtype="half-precision") == (
        "compute_dtype: expected one of None, 'bfloat16', 'float16', received 'half-precision'"
    )


@pytest.mark.parametrize("as_jax", [False, True])
def test_cast_data_puts_targets_in_the_dtype_and_keeps_labels_integers(as_jax):
    # cast_data's docstring: X in dtype, y as int labels (softmax) or in dtype.
    put = jnp.asarray if as_jax else np.asarray
    X, y = cast_data(XOR_NET, (put(X4), put(Y4)), jnp.float32)
    assert (X.dtype, y.dtype.kind) == (jnp.float32, "i")
    linear = nb.MLP((2, 1), output="linear")
    X, y = cast_data(linear, (put(X4), put(X4[:, :1])), jnp.float32)
    assert (X.dtype, y.dtype) == (jnp.float32, jnp.float32)
    # to_device(x) without a dtype is jnp.asarray(x): the dtype is kept.
    assert to_device(put(Y4)).dtype == put(Y4).dtype


def test_a_net_or_optimizer_of_another_type_is_refused_naming_the_type():
    # Bad input names the argument, the expected and the received value (DESIGN.md).
    assert fit_refusal(net="mlp") == "net: expected an nnbasics.MLP, received str"
    assert fit_refusal(optimizer="adam") == (
        "optimizer: expected an optax.GradientTransformation (nb.optim or optax), received str"
    )


def test_a_train_set_that_is_no_pair_is_refused_naming_its_type():
    assert fit_refusal(train=X4) == "train: expected a pair (X, y), received ndarray"
    assert fit_refusal(train=(X4,)) == "train: expected a pair (X, y), received tuple"


def test_monitor_valid_accuracy_needs_a_valid_set_and_a_classification_output():
    # fit's docstring: monitor "valid_accuracy" for softmax/sigmoid outputs, with valid.
    expected = (
        "monitor: expected 'valid_loss' unless valid is given and the output is softmax or sigmoid"
    )
    assert (
        fit_refusal(monitor="valid_accuracy")
        == f"{expected}, received 'valid_accuracy' with no valid set"
    )
    linear = nb.MLP((2, 1), output="linear")
    pair = (X4, X4[:, :1])
    assert fit_refusal(
        net=linear,
        params=linear.init(jax.random.key(0)),
        train=pair,
        valid=pair,
        monitor="valid_accuracy",
    ) == (f"{expected}, received 'valid_accuracy' with linear output")
    kw = dict(epochs=1, key=jax.random.key(1), valid=(X4, Y4), monitor="valid_accuracy")
    result = nb.fit(XOR_NET, XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), (X4, Y4), **kw)
    assert len(result.history["valid_accuracy"]) == 1


def test_params_that_are_one_array_are_refused_naming_params():
    # Bad input, here params that are no list of layers, is a ValueError naming the argument
    # and what it received: the array's shape, not the type of the tracer fit checks it as.
    message = fit_refusal(params=jnp.zeros((2, 3)))
    assert message == (
        "params: expected a list of 2 layers {'W', 'b'}, received an array of shape (2, 3)"
    )


# --- bad input, rejected before any work


@pytest.fixture
def no_work(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(_train_epoch, "train_epoch", boom)


def _bad_cases(X, y):
    Xnan = X.copy()
    Xnan[3, 1] = np.nan
    Xinf = X.copy()
    Xinf[0, 0] = np.inf
    y_big = y.copy()
    y_big[0] = 3
    y_neg = y.copy()
    y_neg[0] = -1
    return [
        (dict(train=(Xnan, y)), r"train\[0\] \(X\): expected finite"),
        (dict(train=(Xinf, y)), r"train\[0\] \(X\): expected finite"),
        (dict(train=(X, y_big)), r"train\[1\] \(y\): expected labels"),
        (dict(train=(X, y_neg)), r"train\[1\] \(y\): expected labels"),
        (dict(train=(X, y.astype(np.float64))), r"train\[1\] \(y\): expected integer"),
        (dict(train=(X, y[:-1])), r"train\[1\] \(y\): expected \d+ rows"),
        (dict(train=(X[:, :3], y)), r"train\[0\] \(X\): expected 4 features"),
        (dict(valid=(X[:, :2], y)), r"valid\[0\] \(X\): expected 4 features"),
        (dict(train=X), r"train: expected a pair \(X, y\)"),
        (dict(batch_size=0), "batch_size: expected an integer from 1"),
        (dict(batch_size=len(X) + 1), "batch_size: expected an integer from 1"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(epochs=0), "epochs: expected a positive integer"),
        (dict(patience=-1), "patience: expected a non-negative integer"),
        (dict(patience=3, valid=None), "patience: expected None when no valid"),
        (dict(grad="symbolic"), "grad: expected one of 'manual', 'auto'"),
        (dict(optimizer="adam"), "optimizer: expected an optax.GradientTransformation"),
        (dict(l2=-1.0), "l2: expected a real number"),
        (dict(l1=float("nan")), "l1: expected a real number"),
        (dict(min_delta=-0.1), "min_delta"),
        (dict(net="mlp"), "net: expected an nnbasics.MLP"),
        (dict(resume=True), "resume: expected False unless checkpoint_dir"),
        (dict(checkpoint_dir=__file__), "checkpoint_dir: expected a directory"),
    ]


def test_bad_input_is_rejected_before_any_work(iris, no_work):
    (X, y), valid = iris
    for change, match in _bad_cases(X, y):
        kw = dict(
            net=NET,
            params=params64(),
            optimizer=nb.optim.sgd(0.1),
            train=(X, y),
            epochs=3,
            batch_size=8,
            key=jax.random.PRNGKey(0),
            valid=valid,
        )
        kw.update(change)
        with pytest.raises(ValueError, match=match):
            nb.fit(kw.pop("net"), kw.pop("params"), kw.pop("optimizer"), kw.pop("train"), **kw)


def test_bad_params_are_rejected(iris, no_work):
    (X, y), _ = iris
    wrong = nb.MLP((4, 5, 3)).init(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"params\[0\]\['W'\]: expected shape \(4, 8\)"):
        nb.fit(NET, wrong, nb.optim.sgd(0.1), (X, y), epochs=1, key=jax.random.PRNGKey(0))


def test_bad_compute_dtype_is_rejected(iris):
    with pytest.raises(ValueError, match=r"^compute_dtype: expected one of None, 'bfloat16'"):
        nb.fit(
            NET,
            params64(),
            nb.optim.sgd(0.1),
            iris[0],
            epochs=1,
            key=jax.random.PRNGKey(0),
            compute_dtype="int8",
        )


@pytest.mark.parametrize(
    ("output", "valid", "monitor", "message"),
    [
        ("softmax", True, "valid_acc", "monitor"),
        ("softmax", False, "valid_accuracy", "no valid set"),
        ("linear", True, "valid_accuracy", "linear output"),
    ],
)
def test_bad_monitor_is_refused_before_work(output, valid, monitor, message):
    net = nb.MLP((2, 3), output=output)
    X = np.zeros((4, 2))
    y = np.zeros(4, np.int32) if output == "softmax" else np.zeros((4, 3))
    with pytest.raises(ValueError, match="monitor") as e:
        nb.fit(
            net,
            net.init(jax.random.key(0)),
            nb.optim.sgd(0.1),
            (X, y),
            epochs=1,
            key=jax.random.key(0),
            valid=(X, y) if valid else None,
            monitor=monitor,
        )
    assert message in str(e.value)
