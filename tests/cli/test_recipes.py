"""Per-data-set recipes of ``nnbasics train``.

``nnbasics train --dataset mnist1d`` with no options reaches the documented MLP
accuracy through the set's recipe, which any explicit option overrides and the
header prints.
"""

import re
from pathlib import Path

import pytest

import nnbasics as nb
from nnbasics import cli
from nnbasics.cli._recipes import RECIPES, apply_recipe
from tests._helpers.cli import run

DOCS = Path(__file__).resolve().parents[2] / "docs"


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
