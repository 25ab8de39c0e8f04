"""Regression on the targets' own scale: `nnbasics train` defaults vs scikit-learn.

    python benchmarks/regression_scale.py [--seeds 3]

Two problems of 1000 training and 1000 new examples, 5 standard-normal
features, s = (x₀ + … + x₄)/√5:

- linear:     y = 300 + 120·s + noise(10)
- non-linear: y = 300 + 120·sin(2s) + 40·x₀·x₁ + noise(10)

Each is written to a CSV, trained with `nnbasics train --data FILE --save M`
(every other option at its default), and the saved model's RMSE on the new
examples is printed beside scikit-learn's LinearRegression,
MLPRegressor (defaults, max_iter=1000) and HistGradientBoostingRegressor, all
fitted on the same 1000 rows. The noise's own RMSE (10) is the floor.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np


def problem(kind: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    s = X.sum(axis=1) / np.sqrt(5)
    if kind == "linear":
        y = 300 + 120 * s
    else:
        y = 300 + 120 * np.sin(2 * s) + 40 * X[:, 0] * X[:, 1]
    return X, y + rng.normal(0, 10, n)


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))


def ours(X, y, X_new, seed: int) -> float:
    import nnbasics as nb

    with tempfile.TemporaryDirectory() as d:
        data, model = os.path.join(d, "train.csv"), os.path.join(d, "m.npz")
        header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
        np.savetxt(data, np.column_stack([X, y]), delimiter=",", header=header, comments="")
        subprocess.run(
            [sys.executable, "-m", "nnbasics", "train", "--data", data, "--save", model]
            + ["--seed", str(seed), "--quiet"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return nb.load_model(model).predict(X_new)["mean"]


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPRegressor

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # reported as measured
    models = {
        "nnbasics train (defaults)": None,
        "LinearRegression": lambda s: LinearRegression(),
        "MLPRegressor (defaults)": lambda s: MLPRegressor(max_iter=1000, random_state=s),
        "HistGradientBoostingRegressor": lambda s: HistGradientBoostingRegressor(random_state=s),
    }
    print("| problem | " + " | ".join(models) + " |")
    print("|---" * (len(models) + 1) + "|")
    for kind in ("linear", "non-linear"):
        scores = {name: [] for name in models}
        for seed in range(args.seeds):
            X, y = problem(kind, 1000, seed)
            X_new, y_new = problem(kind, 1000, 1000 + seed)
            for name, make in models.items():
                if make is None:
                    predicted = ours(X, y, X_new, seed)
                else:
                    predicted = make(seed).fit(X, y).predict(X_new)
                scores[name].append(rmse(predicted, y_new))
        cells = [f"{np.mean(v):.1f} ± {np.std(v):.1f}" for v in scores.values()]
        print(f"| {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
