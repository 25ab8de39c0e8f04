"""A regression problem on its own scale (y = 300 + 120·s + noise(10)) written as a CSV."""

import csv

import numpy as np


def linear_problem(n, seed):
    """y = 300 + 120·s + noise(10), s the standardized sum of 5 normal features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    s = X.sum(axis=1) / np.sqrt(5)
    return X, 300 + 120 * s + rng.normal(0, 10, n)


def write_prices(path, X, y):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"x{j}" for j in range(X.shape[1])] + ["price"])
        writer.writerows([[f"{v:.6f}" for v in row] + [f"{t:.6f}"] for row, t in zip(X, y)])
    return path


def rmse(a, b):
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))
