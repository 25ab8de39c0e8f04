"""The data sets nnbasics ships or generates, loaded by name.

Sets shipped inside scikit-learn (no network): ``"digits"``,
``"breast_cancer"``, ``"iris"``, ``"wine"``, read from the data files in
scikit-learn's package directory without importing scikit-learn (whose import
alone takes most of a second); :attr:`DatasetInfo.source` cites each one.
Synthetic sets, a deterministic function of ``seed``: ``"xor"`` (the four
points of the course), ``"xor_noisy"``, ``"moons"`` and ``"blobs"`` (equal,
bit for bit, to scikit-learn's ``make_moons`` / ``make_blobs`` with
``random_state=seed``), ``"sine"`` (unimodal,
heteroscedastic regression, for a ``gaussian`` output) and ``"multimodal"``
(the inverted sine, whose p(y|x) has up to three modes, for a ``mixture``
output). :data:`DATASETS` describes each one. ``"mnist1d"`` comes from
:mod:`nnbasics.data.mnist1d`; ``load(path)`` reads a user's file through
:func:`nnbasics.data.files.read`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nnbasics import _checks
from nnbasics.data.files import FILE_SUFFIXES, read
from nnbasics.data.mnist1d import _mnist1d, _mnist1d_args

__all__ = ["DATASETS", "DatasetInfo", "info", "load", "names"]


class DatasetInfo(NamedTuple):
    """What :func:`load` returns for one name, before any ``n`` override.

    Attributes:
        kind: ``"classification"`` (int labels ``(n,)``) or ``"regression"``
            (float targets ``(n, n_outputs)``).
        n_classes: number of classes; ``None`` for regression.
        n_features: ``d``, the width of ``X``.
        n_outputs: width of a regression target; ``None`` for classification.
        n_default: number of examples loaded when ``n`` is not given.
        output: the output unit that models the set's conditional
            distribution (``"softmax"``, ``"gaussian"`` or ``"mixture"``).
        synthetic: generated from ``seed`` rather than shipped.
        description: one line for listings.
        source: where the set comes from: for a shipped set its origin, the
            file of scikit-learn's copy and the file holding its description
            and licence.
        n_test: size of the set's own test split (``load(name, split="test")``;
            ``split="train"`` gives the other ``n_default - n_test``); None for
            sets without one, which :func:`split` divides.
        citation: the publication to cite when using the set ("" if none).

    Examples:
      >>> i = info("iris")
      >>> i.kind, i.n_classes, i.n_features, i.output
      ('classification', 3, 4, 'softmax')
    """

    kind: str
    n_classes: int | None
    n_features: int
    n_outputs: int | None
    n_default: int
    output: str
    synthetic: bool
    description: str
    source: str = ""
    n_test: int | None = None
    citation: str = ""


class _ShippedFile(NamedTuple):
    """A data file in scikit-learn's ``sklearn/datasets/data/``.

    Each row is the features then the class label; ``header_rows`` lines of
    counts and class names come first.
    """

    data: str
    descr: str
    header_rows: int


_SHIPPED = {
    "digits": _ShippedFile("digits.csv.gz", "digits.rst", 0),
    "breast_cancer": _ShippedFile("breast_cancer.csv", "breast_cancer.rst", 1),
    "iris": _ShippedFile("iris.csv", "iris.rst", 1),
    "wine": _ShippedFile("wine_data.csv", "wine_data.rst", 1),
}


def _shipped_source(name: str, origin: str) -> str:
    """The :attr:`DatasetInfo.source` of shipped set ``name`` from ``origin``."""
    files = _SHIPPED[name]
    return (
        f"{origin}; scikit-learn's copy sklearn/datasets/data/{files.data}, "
        f"description and licence in sklearn/datasets/descr/{files.descr}"
    )


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "classification",
        10,
        64,
        None,
        1797,
        "softmax",
        False,
        "8x8 handwritten digits 0-9, pixel intensities 0..16 (scikit-learn)",
        _shipped_source(
            "digits",
            "UCI Optical Recognition of Handwritten Digits, test set (E. Alpaydin, C. Kaynak 1998)",
        ),
    ),
    "breast_cancer": DatasetInfo(
        "classification",
        2,
        30,
        None,
        569,
        "softmax",
        False,
        "Wisconsin breast cancer, 0 = malignant, 1 = benign (scikit-learn)",
        _shipped_source(
            "breast_cancer",
            "UCI Breast Cancer Wisconsin (Diagnostic) "
            "(W.H. Wolberg, W.N. Street, O.L. Mangasarian 1995)",
        ),
    ),
    "iris": DatasetInfo(
        "classification",
        3,
        4,
        None,
        150,
        "softmax",
        False,
        "Fisher's iris, 3 species from 4 measurements (scikit-learn)",
        _shipped_source("iris", "R.A. Fisher 1936, as in R (UCI's copy differs in two points)"),
    ),
    "wine": DatasetInfo(
        "classification",
        3,
        13,
        None,
        178,
        "softmax",
        False,
        "3 wine cultivars from 13 chemical measurements (scikit-learn)",
        _shipped_source("wine", "UCI Wine (M. Forina et al., PARVUS)"),
    ),
    "xor": DatasetInfo(
        "classification",
        2,
        2,
        None,
        4,
        "softmax",
        True,
        "the 4 XOR points (0,0) (0,1) (1,0) (1,1) with labels 0 1 1 0",
        "the XOR network example of the course",
    ),
    "xor_noisy": DatasetInfo(
        "classification",
        2,
        2,
        None,
        200,
        "softmax",
        True,
        "the XOR corners repeated evenly plus Gaussian noise (std 0.1)",
        "nnbasics, NumPy Generator(seed)",
    ),
    "moons": DatasetInfo(
        "classification",
        2,
        2,
        None,
        500,
        "softmax",
        True,
        "two interleaving half circles, Gaussian noise 0.2 (make_moons)",
        "nnbasics, equal to scikit-learn's make_moons(n, noise=noise, random_state=seed)",
    ),
    "blobs": DatasetInfo(
        "classification",
        3,
        2,
        None,
        500,
        "softmax",
        True,
        "3 isotropic Gaussian blobs in 2-D, std 1.0 (make_blobs)",
        "nnbasics, equal to scikit-learn's make_blobs(n, centers=3, n_features=2, "
        "cluster_std=noise, random_state=seed)",
    ),
    "sine": DatasetInfo(
        "regression",
        None,
        1,
        1,
        500,
        "gaussian",
        True,
        "y = sin(2 pi x) + N(0, (0.2 (0.25 + x))^2), x ~ U[0, 1]: noise grows with x",
        "nnbasics, NumPy Generator(seed)",
    ),
    "multimodal": DatasetInfo(
        "regression",
        None,
        1,
        1,
        500,
        "mixture",
        True,
        "inverted sine x = y + 0.3 sin(2 pi y) + U(-0.1, 0.1): p(y|x) multimodal",
        "Bishop 1994, Mixture Density Networks; nnbasics, NumPy Generator(seed)",
    ),
    "mnist1d": DatasetInfo(
        "classification",
        10,
        40,
        None,
        5000,
        "softmax",
        True,
        "MNIST-1D: 10 digit templates as 1-D signals of 40 points, padded, scaled, translated, "
        "sheared and noised (4000 train + 1000 test)",
        "the authors' generator, package mnist1d (github.com/greydanus/mnist1d): "
        "make_dataset with get_dataset_args()'s defaults (MNIST1D_ARGS), the paper's data; "
        "cached in cache_dir()",
        n_test=1000,
        citation="S. Greydanus, D. Kobak. Scaling Down Deep Learning with MNIST-1D. ICML 2024, "
        "PMLR 235:16404-16415 (arXiv:2011.14439)",
    ),
}
"""The bundled and generated data sets by name, each described by its :class:`DatasetInfo`."""

# Default noise level per synthetic set, in the units the generator takes.
# For "mnist1d", a factor on the generator's two noise scales (1: the paper's).
_NOISE = {
    "xor_noisy": 0.1,
    "moons": 0.2,
    "blobs": 1.0,
    "sine": 0.2,
    "multimodal": 0.1,
    "mnist1d": 1.0,
}

_XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
_XOR_Y = np.array([0, 1, 1, 0], np.int32)


def names() -> tuple[str, ...]:
    """The names :func:`load` accepts, in the order of :data:`DATASETS`.

    Examples:
      >>> {"digits", "iris", "xor"} <= set(names())
      True
    """
    return tuple(DATASETS)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; ValueError listing the names if unknown.

    Examples:
      >>> info("digits").n_default
      1797
    """
    _check_name(name)
    return DATASETS[name]


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or name not in DATASETS:
        _checks.fail("name", "one of " + ", ".join(repr(k) for k in DATASETS), name)
    return name


def load(
    name: str | os.PathLike,
    *,
    seed: int | None = None,
    n: int | None = None,
    noise: float | None = None,
    split: str | None = None,
    shuffle: bool = False,
    target: str | int | None = None,
    task: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads a data set by name, or a user's data file by path.

    ``name`` is a path when it is an ``os.PathLike``, or a string that is not
    one of :func:`names` and either ends in one of :data:`FILE_SUFFIXES` or
    names an existing file: then ``load`` returns ``read(name, target=target,
    task=task)[:2]`` (see :func:`read`), and ``seed``, ``n``, ``noise``,
    ``split`` and ``shuffle`` must keep their defaults.

    ``seed`` is an int rather than a JAX key because the generators are
    NumPy's (``"moons"`` and ``"blobs"`` draw from ``RandomState(seed)``, as
    scikit-learn's do), which take integer seeds; the same seed gives the same
    arrays on every machine.

    Args:
        name: one of :func:`names`, or a data file's path.
        seed: non-negative int; draws the synthetic sets and the subset taken
            from a shipped set when ``n`` is given. None: 0, except 42 for
            ``"mnist1d"`` (the authors' seed, the paper's data).
        n: number of examples. Synthetic sets: how many to draw (default
            ``DATASETS[name].n_default``). Shipped sets: a random subset of
            this size without replacement (default: all of them). ``"xor"``
            is always its 4 points; use ``"xor_noisy"`` for more.
            ``"mnist1d"``: how many the generator makes (its ``num_samples``,
            a multiple of 10: n/10 of each digit), the first 80 % for train.
        noise: noise level of a synthetic set (see :data:`DATASETS`; the
            default in its description when ``None``). Must be ``None`` for
            shipped sets and ``"xor"``. ``"mnist1d"``: a factor on the
            generator's correlated and i.i.d. noise scales (1, the paper's,
            when ``None``; 0 for none).
        split: None for every example (a set's own train rows first);
            ``"train"`` or ``"test"`` for one part of a set that has its own
            split (``DATASETS[name].n_test``, e.g. ``"mnist1d"``).
        shuffle: ``"mnist1d"`` only: the paper's "shuffle" row, the same
            examples with their 40 features in one fixed random order (the
            generator's ``shuffle_seq``), which hides the spatial structure
            but keeps every value.
        target, task: a data file's target column and task, as in
            :func:`read`; None for a named set.

    Returns:
        ``(X, y)``: ``X`` float32 ``(n, d)``; ``y`` int32 ``(n,)`` for
        classification, float32 ``(n, n_outputs)`` for regression.

    Raises:
        ValueError: unknown ``name``, or a bad ``seed``, ``n``, ``noise``,
            ``split`` or ``shuffle``; scikit-learn's data file for a shipped
            ``name`` missing or malformed; the ``mnist1d`` package missing;
            a data file that :func:`read` rejects.

    Examples:
      >>> X, y = load("iris")
      >>> X.shape, X.dtype.name, y.dtype.name, sorted(set(y.tolist()))
      ((150, 4), 'float32', 'int32', [0, 1, 2])
      >>> X, y = load("moons", n=10, seed=1)  # synthetic: drawn from the seed
      >>> X.shape
      (10, 2)
    """
    if _is_file_path(name):
        defaults = dict(seed=None, n=None, noise=None, split=None, shuffle=False)
        for arg, value in dict(seed=seed, n=n, noise=noise, split=split, shuffle=shuffle).items():
            if value is not defaults[arg]:
                _checks.fail(arg, f"{defaults[arg]} for a data file", _checks.shown(value))
        return read(name, target=target, task=task)[:2]
    name = _check_name(name)
    for arg, value in (("target", target), ("task", task)):
        if value is not None:
            _checks.fail(
                arg, f"None for the named set {name!r} (it is for data files)", _checks.shown(value)
            )
    seed = _checks.non_negative_int("seed", _DEFAULT_SEED.get(name, 0) if seed is None else seed)
    about = DATASETS[name]
    if n is not None:
        n = _checks.positive_int("n", n)
    if noise is not None and name not in _NOISE:
        _checks.fail("noise", f"None for the {name!r} set, which has no noise parameter", noise)
    if noise is not None:
        noise = float(_checks.non_negative("noise", noise))
    else:
        noise = _NOISE.get(name)
    _check_split_and_shuffle(name, split, shuffle)

    if name in _SHIPPED:
        X, y = _read_shipped(name)
        if n is not None:
            if n > len(X):
                _checks.fail("n", f"at most {len(X)} for {name!r}", n)
            keep = np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))
            X, y = X[keep], y[keep]
    elif name == "xor":
        if n is not None and n != 4:
            _checks.fail("n", "None or 4 for 'xor' (use 'xor_noisy' for more points)", n)
        X, y = _XOR_X.copy(), _XOR_Y.copy()
    else:
        assert noise is not None  # every generated set has a default level in _NOISE
        if name == "mnist1d":
            X, y, n_train = _mnist1d(_mnist1d_args(n, noise, seed, shuffle))
            rows = {None: slice(None), "train": slice(n_train), "test": slice(n_train, None)}
            X, y = X[rows[split]], y[rows[split]]
        else:
            X, y = _SYNTHETIC[name](np.random.default_rng(seed), n or about.n_default, noise, seed)

    X = np.asarray(X, np.float32)
    if about.kind == "classification":
        return X, np.asarray(y, np.int32)
    assert about.n_outputs is not None  # set for every regression set
    return X, np.asarray(y, np.float32).reshape(len(X), about.n_outputs)


def _is_file_path(name: Any) -> bool:
    """Whether :func:`load` reads ``name`` as a data file rather than a set's name."""
    if isinstance(name, os.PathLike):
        return True
    return (
        isinstance(name, str)
        and name not in DATASETS
        and (name.lower().endswith(FILE_SUFFIXES) or os.path.isfile(name))
    )


# The seed load uses when given None, where it is not 0.
_DEFAULT_SEED = {"mnist1d": 42}


def _check_split_and_shuffle(name: str, split: Any, shuffle: Any) -> None:
    """Rejects a ``split`` or ``shuffle`` that the set ``name`` does not offer."""
    if split is not None:
        if DATASETS[name].n_test is None:
            _checks.fail(
                "split",
                f"None for {name!r}, which has no test split of its own "
                "(divide it with nnbasics.data.split)",
                split,
            )
        _checks.one_of("split", split, (None, "train", "test"))
    if not isinstance(shuffle, bool):
        _checks.fail("shuffle", "True or False", shuffle)
    if shuffle and name != "mnist1d":
        _checks.fail(
            "shuffle", f"False for {name!r} (only 'mnist1d' has a shuffled variant)", shuffle
        )


def _sklearn_data_dir() -> Path | None:
    """``sklearn/datasets/data/``, or None if scikit-learn is not installed.

    ``find_spec`` of a top-level package locates it without running its
    ``__init__``, so scikit-learn is never imported.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def _read_shipped(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads shipped set ``name`` from scikit-learn's data file.

    Returns:
        ``(X, y)``: float64 ``(n, d)`` and int ``(n,)``, equal to
        ``sklearn.datasets.load_<name>()``'s ``data`` and ``target``.
    """
    files, about = _SHIPPED[name], DATASETS[name]
    folder = _sklearn_data_dir()
    path = None if folder is None else folder / files.data
    if path is None or not path.is_file():
        _checks.fail(
            "name",
            f"{name!r} read from scikit-learn's data file "
            f"sklearn/datasets/data/{files.data} (pip install 'scikit-learn>=1.4')",
            "scikit-learn not installed" if folder is None else f"no file {path}",
        )
    # Labels are whole numbers, so reading them as float64 and casting is exact.
    table = np.loadtxt(path, delimiter=",", skiprows=files.header_rows, ndmin=2)
    if table.shape != (about.n_default, about.n_features + 1):
        _checks.fail(
            "name",
            f"{name!r} read from {path} as a table of shape "
            f"({about.n_default}, {about.n_features + 1})",
            f"shape {table.shape}",
        )
    return table[:, :-1], table[:, -1].astype(int)


def _xor_noisy(rng: np.random.Generator, n: int, noise: float, seed: int):
    # Corners are dealt evenly (rather than drawn) so the classes stay balanced.
    corner = rng.permutation(np.arange(n) % 4)
    return _XOR_X[corner] + noise * rng.standard_normal((n, 2)), _XOR_Y[corner]


def _random_state(seed: int) -> np.random.RandomState:
    """``RandomState(seed)``, the stream scikit-learn's generators draw from."""
    if seed >= 2**32:
        _checks.fail(
            "seed",
            "an integer below 2**32 for 'moons' and 'blobs' (the seeds of NumPy's RandomState)",
            seed,
        )
    return np.random.RandomState(seed)


def _moons(rng: np.random.Generator, n: int, noise: float, seed: int):
    """Two unit half circles, shuffled, plus N(0, noise²) on each coordinate:
    ``n // 2`` points on the upper one around (0, 0) (label 0), the rest on
    the lower one around (1, 0.5) (label 1).

    Returns:
        ``(X, y)``: float64 ``(n, 2)``, int ``(n,)``.
    """
    # sklearn's make_moons, draw for draw (the shuffle, then the noise), so
    # that the same seed gives the same set.
    state = _random_state(seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    X = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
            np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1),
        ]
    )
    y = np.repeat([0, 1], [n_out, n - n_out])
    order = state.permutation(n)
    return X[order] + state.normal(scale=noise, size=(n, 2)), y[order]


_BLOB_CENTERS, _BLOB_BOX = 3, (-10.0, 10.0)


def _blobs(rng: np.random.Generator, n: int, noise: float, seed: int):
    """Centers ``(3, 2)`` drawn from U[-10, 10]²; ``n // 3`` points (one more
    for the first ``n % 3`` centers) from N(center, noise² I) each, shuffled.

    Returns:
        ``(X, y)``: float64 ``(n, 2)``, int ``(n,)`` (the index of the center).
    """
    # sklearn's make_blobs, draw for draw (centers, each blob in turn, then
    # the shuffle).
    state = _random_state(seed)
    centers = state.uniform(*_BLOB_BOX, size=(_BLOB_CENTERS, 2))
    sizes = [n // _BLOB_CENTERS + (i < n % _BLOB_CENTERS) for i in range(_BLOB_CENTERS)]
    X = np.concatenate(
        [state.normal(loc=c, scale=noise, size=(m, 2)) for c, m in zip(centers, sizes)]
    )
    y = np.repeat(np.arange(_BLOB_CENTERS), sizes)
    order = state.permutation(n)
    return X[order], y[order]


def _sine(rng: np.random.Generator, n: int, noise: float, seed: int):
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    std = noise * (0.25 + x)
    return x, np.sin(2 * np.pi * x) + std * rng.standard_normal((n, 1))


def _multimodal(rng: np.random.Generator, n: int, noise: float, seed: int):
    # Drawing y first and solving for x makes x -> y one-to-many (Bishop 1994).
    y = rng.uniform(0.0, 1.0, size=(n, 1))
    x = y + 0.3 * np.sin(2 * np.pi * y) + rng.uniform(-noise, noise, size=(n, 1))
    return x, y


_SYNTHETIC = {
    "xor_noisy": _xor_noisy,
    "moons": _moons,
    "blobs": _blobs,
    "sine": _sine,
    "multimodal": _multimodal,
}
