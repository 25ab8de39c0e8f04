"""Per-data-set recipes of ``nnbasics train`` and early stopping on validation accuracy.

Issue 16, point 11: ``nnbasics train --dataset mnist1d`` with no options reaches
the documented MLP accuracy through the set's recipe, which any explicit
option overrides and the header prints.
"""

import re
from pathlib import Path

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import cli
from nnbasics.cli._recipes import RECIPES, apply_recipe

DOCS = Path(__file__).resolve().parents[1] / "docs"


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def parsed(*argv):
    args = cli.build_parser().parse_args(["train", *argv])
    args.recipe = apply_recipe(args)
    return args


def test_recipe_sets_every_option_not_given():
    args = parsed("--dataset", "mnist1d")
    assert args.recipe == RECIPES["mnist1d"]
    for option, value in RECIPES["mnist1d"].items():
        assert getattr(args, option) == value


def test_explicit_options_override_the_recipe_even_at_the_general_default():
    general = cli.build_parser().parse_args(["train"])
    args = parsed("--dataset", "mnist1d", "--lr", "0.5", "--epochs", str(general.epochs))
    assert args.lr == 0.5 and args.epochs == general.epochs
    assert "lr" not in args.recipe and "epochs" not in args.recipe
    assert args.hidden_sizes == RECIPES["mnist1d"]["hidden_sizes"]


@pytest.mark.parametrize("argv", [(), ("--dataset", "iris"), ("--data", "x.csv")])
def test_sets_without_a_recipe_keep_the_general_defaults(argv):
    general = cli.build_parser().parse_args(["train"])
    args = parsed(*argv)
    assert args.recipe == {}
    for option in RECIPES["mnist1d"]:
        assert getattr(args, option) == getattr(general, option)


@pytest.mark.slow
def test_recipe_is_printed_applied_and_recorded(capsys, tmp_path):
    pytest.importorskip("mnist1d")
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--dataset", "mnist1d", "--epochs", "1", "--save", model)
    assert code == 0, err
    text = " ".join(out.split())  # rich wraps the caption
    recipe = text.split("the data set's recipe:")[1].split("(any option given overrides it)")[0]
    assert "--optimizer sgd" in recipe and "--monitor valid_accuracy" in recipe
    assert "--epochs" not in recipe  # given explicitly
    loaded = nb.load_model(model)
    sizes = RECIPES["mnist1d"]["hidden_sizes"]
    assert loaded.net.sizes == (40, *sizes, 10)
    options = loaded.meta["options"]
    assert options["epochs"] == 1 and options["optimizer"] == RECIPES["mnist1d"]["optimizer"]
    assert options["monitor"] == "valid_accuracy" and options["lr"] == RECIPES["mnist1d"]["lr"]


def _documented_mlp_accuracy() -> float:
    """The MLP's test accuracy in docs/mnist1d.md's table (the README points there)."""
    text = (DOCS / "mnist1d.md").read_text()
    return float(re.search(r"\| MLP 40-100-100-10 relu \| \*\*([\d.]+) %", text).group(1)) / 100


@pytest.mark.slow
def test_mnist1d_defaults_reach_the_documented_accuracy(capsys, tmp_path):
    pytest.importorskip("mnist1d")
    model = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--dataset", "mnist1d", "--save", model, "--quiet")
    assert code == 0, err
    accuracy = nb.load_model(model).meta["metrics"]["test"]["accuracy"]
    assert accuracy >= _documented_mlp_accuracy(), accuracy


# ------------------------------------------------ nb.fit(monitor="valid_accuracy")


def _fit(monitor, patience=None, epochs=25):
    X, y = nb.data.load("iris")
    stats = nb.data.Standardizer.fit(X)
    X = np.asarray(nb.data.transform(stats, X))
    train, valid, _ = nb.data.split(jax.random.key(0), X, y, valid=0.3, test=0.0, stratify=True)
    net = nb.MLP((4, 8, 3))
    return (
        nb.fit(
            net,
            net.init(jax.random.key(1)),
            nb.optim.sgd(0.05),
            train,
            epochs=epochs,
            batch_size=16,
            key=jax.random.key(2),
            valid=valid,
            patience=patience,
            monitor=monitor,
        ),
        net,
        valid,
    )


def test_valid_accuracy_monitor_keeps_the_best_and_stops_after_patience():
    r, net, valid = _fit("valid_accuracy", patience=3, epochs=200)
    accuracy = r.history["valid_accuracy"]
    assert r.best_epoch == int(np.argmax(accuracy))  # the first epoch of the best accuracy
    # The kept parameters are that epoch's: their accuracy is the best one.
    _, kept = nb.train.metrics(net, r.params, *valid)
    assert float(kept) == pytest.approx(accuracy.max())
    # Patience counts epochs without a better accuracy, whatever the loss does.
    assert r.stopped_early and len(accuracy) == r.best_epoch + 1 + 3
    assert int(np.argmin(r.history["valid_loss"])) != r.best_epoch


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


def test_cli_monitor_without_validation_is_one_line(capsys):
    code, out, err = run(
        capsys, "train", "--dataset", "iris", "--valid", "0", "--patience", "none",
        "--monitor", "valid_accuracy", "--epochs", "1", "--quiet",
    )  # fmt: skip
    assert code == 2 and "monitor" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_digits_defaults_reach_the_readme_accuracy(capsys, tmp_path):
    """The README's "nnbasics train reaches ≥ 97 % test accuracy on digits", as shipped."""
    readme = (DOCS.parent / "README.md").read_text()
    claim = float(re.search(r"reaches ≥ ([\d.]+) % test accuracy on digits", readme).group(1))
    model = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--save", model, "--quiet")
    assert code == 0, err
    accuracy = nb.load_model(model).meta["metrics"]["test"]["accuracy"]
    assert accuracy >= claim / 100, accuracy
