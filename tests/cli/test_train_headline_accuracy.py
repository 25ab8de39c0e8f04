"""``nnbasics train``'s headline: its "test" row is the test split's, recomputed from the saved model.

The default run (digits, seed 0) is run with ``--save``; the test split is then
drawn again from the documented recipe (the seed's first key, ``nb.data.split``
with the default valid/test fractions, stratified), and the saved model,
loaded with ``nb.load_model``, predicts it. The printed test row must give that
split's size, accuracy and loss, and the accuracy must reach the README's 97 %.
"""

import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

import nnbasics as nb

HEADLINE_TEST_ACCURACY = 97.0  # README: "≥ 97 % test accuracy"
SEED, VALID, TEST = 0, 0.15, 0.15  # nnbasics train's defaults (--seed, --valid, --test)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("headline")
    model = folder / "model.npz"
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    out = subprocess.run(
        [sys.executable, "-m", "nnbasics", "train", "--quiet", "--save", str(model)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, model


def _row(stdout: str, split: str) -> tuple[int, float, float]:
    """(examples, loss, accuracy %) of the results table's row for ``split``."""
    (line,) = [line for line in stdout.splitlines() if re.search(rf"\b{split}\b", line)]
    examples, loss, accuracy = re.findall(r"[\d.]+", line)[-3:]
    return int(examples), float(loss), float(accuracy)


def _test_split():
    X, y = nb.data.load("digits")
    k_split = jax.random.split(jax.random.key(SEED), 3)[0]  # (split, init, fit) keys
    _, _, test = nb.data.split(k_split, X, y, valid=VALID, test=TEST, stratify=True)
    return np.asarray(test[0]), np.asarray(test[1])


def test_the_printed_test_row_is_the_test_split_of_the_saved_model(trained):
    stdout, path = trained
    X_test, y_test = _test_split()
    model = nb.load_model(str(path))
    probabilities = np.asarray(model.predict(X_test)["probabilities"], np.float64)
    accuracy = 100 * np.mean(probabilities.argmax(1) == y_test)
    nll = -np.mean(np.log(probabilities[np.arange(len(y_test)), y_test]))

    examples, loss, printed = _row(stdout, "test")
    assert examples == len(y_test)
    assert printed == pytest.approx(accuracy, abs=0.005 + 1e-9)  # printed to 2 decimals
    assert loss == pytest.approx(nll, abs=5e-5 + 1e-5)  # printed to 4 decimals; float32
    assert printed >= HEADLINE_TEST_ACCURACY
