"""Three features of very different scales, written with or without a header."""

import numpy as np

NAMES = ["alpha", "beta", "gamma"]


def write_table(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def three_scales(n=40, seed=0):
    """Three features of very different scales, so that a column swap changes the predictions."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * np.array([1.0, 10.0, 100.0]) + np.array([0.0, 5.0, -50.0])
    y = (X[:, 0] + X[:, 1] / 10 - X[:, 2] / 100 > 0.5).astype(int)
    return np.round(X, 4), y


def numbers_in(text):
    return [c for line in text.splitlines()[1:] for c in line.split(",") if "." in c]
