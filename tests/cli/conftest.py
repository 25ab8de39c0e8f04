"""Fixtures shared by the command-line tests."""

import os
import subprocess

import numpy as np
import pytest

import nnbasics as nb
from tests._helpers.files import write_csv


@pytest.fixture
def read_only_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("not root: a read-only mount needs root (chmod does not stop root)")
    d = tmp_path / "ro"
    d.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(d)]).returncode:
        pytest.skip("mount -t tmpfs -o ro is not permitted here")
    yield d
    subprocess.run(["umount", str(d)], check=False)


@pytest.fixture
def iris_csv(tmp_path):
    X, y = nb.data.load("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    write_csv(
        tmp_path / "iris.csv",
        header + ["species"],
        [[f"{v:g}" for v in row] + [n] for row, n in zip(X, names)],
    )
    write_csv(tmp_path / "new.csv", header, [[f"{v:g}" for v in row] for row in X[::25]])
    return tmp_path
