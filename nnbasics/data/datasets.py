"""Data sets, train/valid/test splits, standardization and input checks.

Every loader returns NumPy arrays so that the caller chooses the device:
features ``X`` of shape ``(n, d)`` and dtype float32, as shipped (not
standardized); class labels ``y`` of shape ``(n,)`` and dtype int32 in
``0 .. n_classes - 1``; regression targets ``y`` of shape ``(n, d_out)`` and
dtype float32.

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
output). :data:`DATASETS` describes each one.

``"mnist1d"`` (Greydanus & Kobak 2024) is made by the authors' generator, the
optional package ``mnist1d`` (``pip install "nnbasics[mnist1d]"``), with their
default arguments: the paper's 4000 training and 1000 test examples, which
``load("mnist1d", split="train")`` and ``split="test"`` return. The first call
generates it (about a second) and caches it in :func:`cache_dir`; later calls
read the cache without importing the generator.

A user's own data files: :func:`read` reads a CSV/TSV table, an ``.npz``
archive or an ``.npy`` pair into a :class:`DataFile` (arrays as above, plus
class names, column names, the task and the file's SHA-256);
``load(path)`` returns its ``(X, y)``.

Example:
    >>> import jax
    >>> from nnbasics import data
    >>> X, y = data.load("digits")
    >>> train, valid, test = data.split(jax.random.key(0), X, y, stratify=True)
    >>> stats = data.Standardizer.fit(train[0])
    >>> X_train = data.transform(stats, train[0])
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import math
import numbers
import os
import random
import tempfile
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks

__all__ = [
    "DATASETS",
    "DataFile",
    "DatasetInfo",
    "FILE_SUFFIXES",
    "MAX_INFERRED_CLASSES",
    "MNIST1D_ARGS",
    "Standardizer",
    "TASKS",
    "cache_dir",
    "check_dataset",
    "info",
    "inverse_transform",
    "load",
    "names",
    "read",
    "read_features",
    "split",
    "standardize",
    "transform",
]


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
    """The names :func:`load` accepts, in the order of :data:`DATASETS`."""
    return tuple(DATASETS)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; ValueError listing the names if unknown."""
    _check_name(name)
    return DATASETS[name]


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or name not in DATASETS:
        _checks.fail("name", "one of " + ", ".join(repr(k) for k in DATASETS), name)


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
    """
    if _is_file_path(name):
        defaults = dict(seed=None, n=None, noise=None, split=None, shuffle=False)
        for arg, value in dict(seed=seed, n=n, noise=noise, split=split, shuffle=shuffle).items():
            if value is not defaults[arg]:
                _checks.fail(arg, f"{defaults[arg]} for a data file", _checks.shown(value))
        return read(name, target=target, task=task)[:2]
    _check_name(name)
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
        noise = float(_checks.real_in("noise", noise, 0.0, math.inf))
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
    elif name == "mnist1d":
        X, y, n_train = _mnist1d(_mnist1d_args(n, noise, seed, shuffle))
        rows = {None: slice(None), "train": slice(n_train), "test": slice(n_train, None)}[split]
        X, y = X[rows], y[rows]
    else:
        X, y = _SYNTHETIC[name](np.random.default_rng(seed), n or about.n_default, noise, seed)

    X = np.asarray(X, np.float32)
    if about.kind == "classification":
        return X, np.asarray(y, np.int32)
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


# --------------------------------------------------------------------------
# MNIST-1D: the authors' generator, cached

# get_dataset_args() of mnist1d 0.0.2 without its download URL: the arguments
# of the paper's data. Kept here, rather than read from the package, so that
# a cache hit needs no import of mnist1d (which imports matplotlib and scipy).
MNIST1D_ARGS: dict[str, Any] = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 0.02,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}


def cache_dir() -> Path:
    """Where generated data sets are cached.

    ``$XDG_CACHE_HOME/nnbasics/data`` when that variable is set, else
    ``~/.cache/nnbasics/data``; each file is named by what it holds, so
    deleting any of them is safe.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnbasics" / "data"


def _mnist1d_args(n: int | None, noise: float, seed: int, shuffle: bool) -> dict:
    """:data:`MNIST1D_ARGS` with :func:`load`'s ``n``, ``noise`` factor, ``seed`` and ``shuffle``."""
    if seed >= 2**32:
        _checks.fail(
            "seed",
            "an integer below 2**32 for 'mnist1d' (the generator seeds NumPy's global RandomState)",
            seed,
        )
    args = dict(
        MNIST1D_ARGS,
        seed=seed,
        shuffle_seq=shuffle,
        corr_noise_scale=MNIST1D_ARGS["corr_noise_scale"] * noise,
        iid_noise_scale=MNIST1D_ARGS["iid_noise_scale"] * noise,
    )
    if n is not None:
        if n % 10:
            _checks.fail(
                "n",
                "a multiple of 10 for 'mnist1d' (the generator makes n/10 examples of each digit)",
                n,
            )
        args["num_samples"] = n
    return args


def _mnist1d_version() -> str:
    """The installed ``mnist1d`` package's version; ValueError saying how to install it."""
    if importlib.util.find_spec("mnist1d") is None:
        _checks.fail(
            "name",
            "'mnist1d' made by the optional package mnist1d (pip install \"nnbasics[mnist1d]\")",
            "mnist1d is not installed",
        )
    try:
        return importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:  # a source checkout on sys.path
        return "unknown"


def _mnist1d(args: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """The MNIST-1D set that the generator makes from ``args``, cached on disk.

    The cache file's name holds a digest of the generator's version and
    ``args``, so other arguments (or a new generator) never read a stale set.

    Returns:
        ``(X, y, n_train)``: float32 ``(n, 40)``, int32 ``(n,)``, the
        generator's train rows then its test rows.
    """
    key = json.dumps({"generator": f"mnist1d {_mnist1d_version()}", "args": args}, sort_keys=True)
    path = cache_dir() / f"mnist1d-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    shape = (args["num_samples"], args["final_seq_length"])
    cached = _read_cache(path, key, shape)
    if cached is not None:
        return cached
    X, y, n_train = _generate_mnist1d(args)
    _write_cache(path, dict(X=X, y=y, n_train=np.int64(n_train), key=np.array(key)))
    return X, y, n_train


def _generate_mnist1d(args: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """Runs the authors' ``make_dataset(args)`` (no network: only their ``get_dataset`` downloads).

    Returns:
        ``(X, y, n_train)`` as :func:`_mnist1d`.
    """
    from mnist1d.data import make_dataset

    # make_dataset seeds NumPy's and Python's global generators; the caller's
    # streams are put back so that loading a data set draws nothing from them.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(types.SimpleNamespace(**args))
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    X = np.concatenate([made["x"], made["x_test"]]).astype(np.float32)
    y = np.concatenate([made["y"], made["y_test"]]).astype(np.int32)
    return X, y, len(made["y"])


def _read_cache(path: Path, key: str, shape: tuple[int, int]):
    """``(X, y, n_train)`` from the cache file ``path`` if it holds ``key``'s set, else None.

    A missing, unreadable or mismatched file gives None: the caller makes the
    set again and replaces the file.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            X, y, n_train = f["X"], f["y"], int(f["n_train"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if X.shape != shape or X.dtype != np.float32 or y.shape != shape[:1] or y.dtype != np.int32:
        return None
    return X, y, n_train


def _write_cache(path: Path, arrays: dict) -> None:
    """Writes ``arrays`` to the ``.npz`` file ``path`` atomically.

    The archive goes to a temporary file in the same directory, then
    ``os.replace`` renames it onto ``path``: a reader (another process loading
    the same set) sees the old file or the whole new one, never part of it.
    A directory that cannot be written is a ``UserWarning``, not an error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        warnings.warn(
            f"data set not cached: cannot write {path} "
            f"({e.strerror or type(e).__name__}); it is made again on the next call",
            UserWarning,
            stacklevel=4,
        )


# --------------------------------------------------------------------------
# A user's data files

TASKS = ("classification", "regression")

# The column delimiter of each text suffix; None: sniffed among _SNIFFED.
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}
_SNIFFED = ",\t; "
_ARRAY_SUFFIXES = (".npz", ".npy")
FILE_SUFFIXES = (*_DELIMITERS, *_ARRAY_SUFFIXES)

# Cells read as a missing value (compared in lower case).
_MISSING = ("", "na", "n/a", "nan", "null", "none", "?")

# Integer targets with at most this many distinct values are read as classes.
MAX_INFERRED_CLASSES = 20

# How many rows below the first are looked at to tell a header from data.
_HEADER_PROBE_ROWS = 100


class DataFile(NamedTuple):
    """A user's data file as :func:`read` returns it; ``read(path)[:2]`` is ``(X, y)``.

    Attributes:
        X: float32 ``(n, d)`` features.
        y: int32 ``(n,)`` class indices into ``classes`` (classification), or
            float32 ``(n, d_out)`` targets (regression).
        classes: the ``k`` class names as strings, ``classes[i]`` for label
            ``i``; None for regression.
        feature_names: ``d`` names: a text file's header cells, else
            ``"column 1"``, ``"column 2"``, ... (the columns' positions in the
            file); ``"X[:, 0]"``, ... for arrays.
        target_name: the target column's name in the same form; ``"y"`` for arrays.
        task: ``"classification"`` or ``"regression"``.
        sha256: hex SHA-256 of the file's bytes (an ``.npy`` pair: of the
            features file's bytes followed by the target file's).
        path: the path as given.
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...] | None
    feature_names: tuple[str, ...]
    target_name: str
    task: str
    sha256: str
    path: str


def read(
    path: str | os.PathLike, *, target: str | int | None = None, task: str | None = None
) -> DataFile:
    """Reads a user's data file: a table of examples, one per row.

    Formats, chosen by the file's suffix:

    * ``.csv`` (comma), ``.tsv`` (tab), ``.txt`` (delimiter sniffed among
      comma, tab, semicolon and space): UTF-8 text, read with the standard
      library's ``csv`` module (quoted cells allowed). The first row is a
      header when one of its cells is not a number while the same column
      holds a number in one of the next 100 rows (or, in a one-row file, when
      any cell is not a number). Blank lines are skipped.
    * ``.npz``: NumPy's ``savez`` archive holding arrays ``X`` ``(n, d)`` and
      ``y`` ``(n,)`` or ``(n, d_out)``.
    * ``.npy``: a pair of NumPy ``save`` files in one directory: ``NAME.npy``
      holds ``X`` and ``NAME.y.npy`` holds ``y`` (for ``X.npy``, the target
      file is ``y.npy``). Give the features file's path.

    Classification or regression, unless ``task`` says: string labels are
    classes; integer targets (an integer dtype, or text cells all written as
    integers such as ``3`` or ``-1``) with at most
    :data:`MAX_INFERRED_CLASSES` distinct values are classes; anything else
    (``0.5``, ``1.0``, more distinct integers, several target columns) is
    regression. Class labels map to ``0 .. k−1`` in sorted order: numeric
    order for numbers, Python's string order for strings.

    Args:
        path: the file.
        target: text files only: the target column, by header name or by
            index (negative counts from the end; a string of digits is an
            index unless it is a header name); None for the last column.
            Every other column is a feature.
        task: None to infer, ``"classification"`` or ``"regression"``.

    Returns:
        A :class:`DataFile`.

    Raises:
        ValueError: one line naming the file, the line and column (text:
            1-based line numbers as an editor shows them) and the problem: an
            unsupported, unreadable or empty file; ragged rows; a missing
            value (empty cell, ``NA``, ``nan``, ...); a non-numeric or
            non-finite feature; an unknown ``target``; a single class.
    """
    shown, suffix = _data_path(path)
    _checks.one_of("task", task, (None, *TASKS))
    reader = _read_arrays if suffix in _ARRAY_SUFFIXES else _read_text
    raw, X, values, feature_names, target_name, where = reader(shown, suffix, target)
    task = task or _infer_task(values)
    if task == "classification":
        y, classes = _encode_classes(values, where)
    else:
        y, classes = _regression_targets(values, where), None
    return DataFile(
        X.astype(np.float32),
        y,
        classes,
        feature_names,
        target_name,
        task,
        hashlib.sha256(raw).hexdigest(),
        shown,
    )


def read_features(path: str | os.PathLike) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every column of a data file as features: new examples to predict, without targets.

    Text tables follow :func:`read`'s rules (header detection, delimiters,
    one-line errors naming the line and column of a missing or non-numeric
    cell); ``.npz`` needs only ``X``; ``.npy`` is the features file alone.

    Returns:
        ``(X, names)``: float32 ``(n, d)`` and the column names.
    """
    shown, suffix = _data_path(path)
    if suffix in _ARRAY_SUFFIXES:
        raw = _read_bytes(shown)
        if suffix == ".npz":
            with _npz(shown, raw) as archive:
                if "X" not in archive.files:
                    _checks.fail(
                        shown, "an .npz archive holding an array 'X'", f"arrays {archive.files}"
                    )
                X = archive["X"]
        else:
            X = _npy(shown, raw)
        _check_arrays(shown, X, np.zeros(np.shape(X)[:1]))
        return X.astype(np.float32), tuple(f"X[:, {j}]" for j in range(X.shape[1]))
    _, header, table, lines = _table(shown, suffix)
    cell, _ = _cell_names(shown, lines, header, table.shape[1])
    X = np.column_stack(
        [
            _feature_column(table[:, j], functools.partial(cell, j=j), "absent")
            for j in range(table.shape[1])
        ]
    )
    names = tuple(c or f"column {j + 1}" for j, c in enumerate(header or [""] * table.shape[1]))
    return X.astype(np.float32), names


def _data_path(path: Any) -> tuple[str, str]:
    """``(path as a str, its lower-case suffix)``; ValueError unless a supported data file."""
    if not isinstance(path, (str, os.PathLike)):
        _checks.fail("path", "a file path (str or os.PathLike)", repr(path))
    shown = os.fspath(path)
    suffix = Path(shown).suffix.lower()
    if suffix not in FILE_SUFFIXES:
        _checks.fail("path", "a data file ending in " + ", ".join(FILE_SUFFIXES), repr(shown))
    return shown, suffix


def _read_bytes(path: str | Path) -> bytes:
    """The bytes of ``path``; a one-line ValueError if it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as e:
        _checks.fail(str(path), "a readable file", e.strerror or type(e).__name__)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _first_non_number(cells: np.ndarray) -> int:
    return next(i for i, cell in enumerate(cells) if not _is_number(cell))


def _table(path: str, suffix: str):
    """``(raw bytes, header row or None, cells (n, width) str, 1-based line numbers)``."""
    raw = _read_bytes(path)
    rows, lines = _text_rows(path, raw, _DELIMITERS[suffix])
    skip = int(_has_header(rows))
    header = rows[0] if skip else None
    rows, lines = rows[skip:], lines[skip:]
    if not rows:
        _checks.fail(path, "data rows below the header", "a header only")
    return raw, header, np.array(rows, dtype=str), lines


def _read_text(path: str, suffix: str, target: Any):
    """Reads a CSV/TSV/TXT table for :func:`read`.

    Returns:
        ``(raw, X, values, feature_names, target_name, where)``: the file's
        bytes; float ``(n, d)`` features; the target column (int64, float64
        or str ``(n,)``); names; ``where(i)`` names the file, line and target
        column of target row ``i`` (the column alone for None).
    """
    raw, header, table, lines = _table(path, suffix)
    width = table.shape[1]
    names = [cell or f"column {j + 1}" for j, cell in enumerate(header or [""] * width)]
    cell, columns = _cell_names(path, lines, header, width)
    t = _target_index(target, header, width, path)
    features = [j for j in range(width) if j != t]
    if not features:
        _checks.fail(path, "at least one feature column besides the target", "a single column")
    X = np.column_stack(
        [_feature_column(table[:, j], functools.partial(cell, j=j), columns[t]) for j in features]
    )
    where = functools.partial(cell, j=t)
    return (
        raw,
        X,
        _column_values(table[:, t], where),
        tuple(names[j] for j in features),
        names[t],
        where,
    )


def _text_rows(path: str, raw: bytes, delimiter: str | None) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows of a text table, cells stripped, and their 1-based line numbers.

    Rejects undecodable text, an empty file and rows whose number of cells
    differs from the first row's.
    """
    try:
        text = raw.decode("utf-8-sig")  # -sig: a byte-order mark is not part of the first cell
    except UnicodeDecodeError as e:
        _checks.fail(path, "UTF-8 text", f"a byte that is not UTF-8 at offset {e.start}")
    if delimiter is None:
        delimiter = _sniff_delimiter(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    rows, lines = [], []
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                rows.append(cells)
                lines.append(reader.line_num)
    except csv.Error as e:
        _checks.fail(f"{path}, line {reader.line_num}", "CSV text", str(e))
    if not rows:
        _checks.fail(path, "a table with one example per line", "an empty file")
    for row, line in zip(rows, lines):
        if len(row) != len(rows[0]):
            _checks.fail(
                f"{path}, line {line}",
                f"{len(rows[0])} cells, as in line {lines[0]}",
                f"{len(row)} cells",
            )
    return rows, lines


def _sniff_delimiter(path: str, text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=_SNIFFED).delimiter
    except csv.Error:
        _checks.fail(
            path,
            "columns separated by commas, tabs, semicolons or spaces",
            "no consistent delimiter",
        )


def _has_header(rows: list[list[str]]) -> bool:
    """Whether ``rows[0]`` names the columns rather than holding an example.

    It does when one of its cells is neither a number nor a missing-value
    marker while the same column holds a number in one of the next rows; a
    lone row, when any cell is such a name.
    """
    below = rows[1 : 1 + _HEADER_PROBE_ROWS]
    return any(
        not _is_number(cell)
        and cell.lower() not in _MISSING
        and (not below or any(_is_number(row[j]) for row in below))
        for j, cell in enumerate(rows[0])
    )


def _cell_names(path: str, lines: list[int], header: list[str] | None, width: int):
    """How messages name a table's cells and columns.

    Returns:
        ``(where, columns)``: ``where(i, j)`` is ``"<path>, line <line of row
        i>, column <j's name>"`` (``i`` None: the column alone); ``columns[j]``
        is ``"column 'name'"`` with a header, else ``"column <j + 1>"``.
    """
    columns = (
        [f"column {name!r}" for name in header]
        if header
        else [f"column {j + 1}" for j in range(width)]
    )

    def where(i: int | None, j: int) -> str:
        line = "" if i is None else f", line {lines[i]}"
        return f"{path}{line}, {columns[j]}"

    return where, columns


def _target_index(target: Any, header: list[str] | None, width: int, path: str) -> int:
    """The 0-based index of the ``target`` column (None: the last) of a ``width``-column table."""
    if target is None:
        return width - 1
    if header is not None and isinstance(target, str) and target in header:
        return header.index(target)
    index = target
    if isinstance(target, str):
        try:
            index = int(target)
        except ValueError:
            pass
    if (
        isinstance(index, numbers.Integral)
        and not isinstance(index, bool)
        and -width <= index < width
    ):
        return int(index) % width
    names = f"a column name ({', '.join(map(repr, header))}) or " if header else ""
    _checks.fail(
        "target",
        f"{names}a column index from {-width} to {width - 1} of {path}",
        _checks.shown(target),
    )


def _column_values(cells: np.ndarray, where) -> np.ndarray:
    """A text column's values: int64 if every cell is an integer, float64 if a number, else str.

    Args:
        cells: str ``(n,)``.
        where: ``where(i)`` names row ``i``'s cell in the messages.

    Raises:
        ValueError: a missing value, or a number that is not finite in float32.
    """
    missing = np.isin(np.char.lower(cells), _MISSING)
    if missing.any():
        i = int(np.argmax(missing))
        _checks.fail(
            where(i),
            "a value in every cell (missing values are not supported)",
            f"the missing value {str(cells[i])!r}" if cells[i] else "an empty cell",
        )
    for dtype in (np.int64, np.float64):
        try:
            values = cells.astype(dtype)
        except (ValueError, OverflowError):
            continue
        with np.errstate(over="ignore"):  # overflow to inf is what this check reports
            finite = np.isfinite(values.astype(np.float32))
        if not finite.all():
            i = int(np.argmin(finite))
            _checks.fail(where(i), "a finite number within float32's range", repr(str(cells[i])))
        return values
    return cells


def _feature_column(cells: np.ndarray, where, target: str) -> np.ndarray:
    """A feature column's numbers ``(n,)``; ``target`` names the target column for the message."""
    values = _column_values(cells, where)
    if values.dtype.kind == "U":
        i = _first_non_number(values)
        _checks.fail(where(i), f"a number (a feature; the target is {target})", repr(str(cells[i])))
    return values


def _read_arrays(path: str, suffix: str, target: Any):
    """Reads an ``.npz`` file or an ``.npy`` pair for :func:`read`.

    Returns:
        As :func:`_read_text`: ``where(i)`` names ``y[i]`` (``y`` alone for None).
    """
    if target is not None:
        _checks.fail(
            "target", f"None for {path} (its y array is the target)", _checks.shown(target)
        )
    if suffix == ".npz":
        raw = _read_bytes(path)
        with _npz(path, raw) as archive:
            if not {"X", "y"} <= set(archive.files):
                _checks.fail(
                    path, "an .npz archive holding arrays 'X' and 'y'", f"arrays {archive.files}"
                )
            X, y = archive["X"], archive["y"]
    else:
        y_path = _npy_target_path(path)
        raw_X, raw_y = _read_bytes(path), _read_bytes(y_path)
        X, y = _npy(path, raw_X), _npy(str(y_path), raw_y)
        raw = raw_X + raw_y  # .npy headers carry their lengths: the pair's bytes are unambiguous
    _check_arrays(path, X, y)
    where = lambda i: f"{path}, y" + ("" if i is None else f"[{i}]")
    return raw, X, y, tuple(f"X[:, {j}]" for j in range(X.shape[1])), "y", where


def _np_load(path: str, raw: bytes, what: str, kind: type, magic: bytes):
    """``np.load`` of a file's bytes, without pickles; a one-line ValueError unless a ``kind``."""
    # np.load takes any bytes without its magic string for a pickle, and
    # its refusal to unpickle would then misname the problem.
    if not raw.startswith(magic):
        _checks.fail(path, what, "a file in another format")
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        _checks.fail(path, what, f"a file NumPy cannot read ({first})")
    if not isinstance(loaded, kind):
        _checks.fail(path, what, f"a {type(loaded).__name__}")
    return loaded


def _npz(path: str, raw: bytes) -> np.lib.npyio.NpzFile:
    return _np_load(
        path, raw, "an .npz archive of arrays X and y (numpy.savez)", np.lib.npyio.NpzFile, b"PK"
    )


def _npy(path: str, raw: bytes) -> np.ndarray:
    return _np_load(path, raw, "an array saved by numpy.save", np.ndarray, b"\x93NUMPY")


def _npy_target_path(path: str) -> Path:
    """The target file of the ``.npy`` pair whose features file is ``path``.

    ``NAME.npy`` holds X and ``NAME.y.npy`` holds y; ``X.npy`` pairs with ``y.npy``.
    """
    p = Path(path)
    convention = "NAME.npy holds X and NAME.y.npy beside it holds y; X.npy pairs with y.npy"
    if p.name.lower().endswith(".y.npy") or p.name.lower() == "y.npy":
        _checks.fail("path", f"the features file of an .npy pair ({convention})", repr(path))
    y_path = p.with_name("y.npy" if p.name == "X.npy" else p.name[:-4] + ".y.npy")
    if not y_path.exists():
        _checks.fail(path, f"its targets in {y_path} ({convention})", "no such file")
    return y_path


def _check_arrays(path: str, X: np.ndarray, y: np.ndarray) -> None:
    """Rejects arrays that are not numeric finite features ``(n, d)`` and ``n`` targets."""
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        _checks.fail(f"{path}, X", "a numeric array of shape (n, d)", _describe(X))
    n = X.shape[0]
    if n == 0:
        _checks.fail(f"{path}, X", "at least one example", "an empty data set (0 rows)")
    if y.ndim not in (1, 2) or y.shape[0] != n or y.dtype.kind not in "biufU":
        _checks.fail(
            f"{path}, y",
            f"numbers or strings of shape ({n},) or ({n}, d_out), a row per row of X",
            _describe(y),
        )
    _checks.finite_rows(f"{path}, X", X.astype(np.float32))
    if y.dtype.kind == "f":
        _checks.finite_rows(f"{path}, y", y.astype(np.float32))


def _infer_task(values: np.ndarray) -> str:
    """``"classification"`` for string labels or few distinct integers, else ``"regression"``."""
    if values.dtype.kind == "U":
        return "classification"
    if (
        values.dtype.kind in "biu"
        and (values.ndim == 1 or values.shape[1] == 1)
        and len(np.unique(values)) <= MAX_INFERRED_CLASSES
    ):
        return "classification"
    return "regression"


def _encode_classes(values: np.ndarray, where) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels ``(n,)`` or ``(n, 1)`` as int32 indices ``0 .. k−1`` and the ``k`` sorted names."""
    if values.ndim == 2 and values.shape[1] != 1:
        _checks.fail(
            where(None), "one target column for task='classification'", f"{values.shape[1]} columns"
        )
    names, y = np.unique(values.reshape(-1), return_inverse=True)
    if len(names) < 2:
        _checks.fail(
            where(None),
            "at least 2 classes",
            f"1 class ({_class_name(names[0])!r}) in all {len(y)} rows",
        )
    return y.astype(np.int32), tuple(_class_name(v) for v in names)


def _class_name(value: Any) -> str:
    """A label as text: ``3`` for 3 and 3.0, ``0.5``, ``setosa``."""
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _regression_targets(values: np.ndarray, where) -> np.ndarray:
    """Targets as float32 ``(n, d_out)``; ValueError at the first one that is not a number."""
    if values.dtype.kind == "U":
        i = _first_non_number(values)
        _checks.fail(where(i), "a number (task='regression')", repr(str(values[i])))
    return values.astype(np.float32).reshape(len(values), -1)


# --------------------------------------------------------------------------
# Splits


def _describe(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return repr(x)


def _sizes(m: int, valid: float, test: float) -> tuple[int, int, int]:
    """(train, valid, test) sizes of ``m`` examples, each rounded half up."""
    n_valid = math.floor(m * valid + 0.5)
    # Rounding the valid+test boundary (not test alone) keeps train within
    # half an example of its share too.
    n_held = max(math.floor(m * (valid + test) + 0.5), n_valid)
    return m - n_held, n_valid, n_held - n_valid


def split(
    key: jax.Array, X: Any, y: Any, valid: float = 0.15, test: float = 0.15, stratify: bool = False
):
    """Shuffles ``(X, y)`` with ``key`` and cuts it into train, valid and test.

    Without ``stratify``, ``n_valid = round(n·valid)``, ``n_test =
    round(n·(valid + test)) − n_valid`` and train takes the rest. With
    ``stratify``, the same rounding is applied to each class separately, so
    every split holds each class in its proportion to within one example; the
    split totals may then differ from the unstratified ones by up to half the
    number of classes. Rows keep their shuffled order within each split.

    Args:
        key: JAX PRNG key; the same key gives the same split.
        X: features ``(n, ...)``, NumPy or JAX array (the type is kept).
        y: targets ``(n, ...)``; int class labels ``(n,)`` for ``stratify``.
        valid: fraction in [0, 1) for validation; 0 gives 0-row arrays.
        test: fraction in [0, 1) for test; ``valid + test < 1``.
        stratify: keep class proportions in every split.

    Returns:
        ``((X_train, y_train), (X_valid, y_valid), (X_test, y_test))``; every
        row of ``X`` lands in exactly one of them.

    Raises:
        ValueError: bad ``key``, ``valid`` or ``test``; ``X`` and ``y`` of
            different lengths; ``y`` not int labels with ``stratify``; or too
            few examples for a non-empty train split and non-empty valid/test
            splits wherever their fraction is positive.
    """
    _checks.prng_key("key", key)
    _checks.real_in("valid", valid, 0.0, 1.0, hi_open=True)
    _checks.real_in("test", test, 0.0, 1.0, hi_open=True)
    if valid + test >= 1:
        _checks.fail(
            "valid + test", "a sum below 1, leaving examples to train on", float(valid + test)
        )
    if not isinstance(stratify, bool):
        _checks.fail("stratify", "True or False", stratify)
    for name, a in (("X", X), ("y", y)):
        if not hasattr(a, "shape") or len(a.shape) < 1:
            _checks.fail(name, "an array of shape (n, ...)", _describe(a))
    n = X.shape[0]
    if y.shape[0] != n:
        _checks.fail("y", f"{n} rows, as many as X", f"{y.shape[0]} rows")

    perm = np.asarray(_permutation(key, n))
    part = np.zeros(n, np.int8)  # 0 train, 1 valid, 2 test, indexed by row
    if stratify:
        labels = np.asarray(y)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            _checks.fail("y", "integer class labels of shape (n,) when stratify=True", _describe(y))
        shuffled = labels[perm]
        for c in np.unique(labels):
            rows = perm[shuffled == c]
            n_tr, n_va, _ = _sizes(len(rows), valid, test)
            part[rows[n_tr : n_tr + n_va]] = 1
            part[rows[n_tr + n_va :]] = 2
    else:
        n_tr, n_va, _ = _sizes(n, valid, test)
        part[perm[n_tr : n_tr + n_va]] = 1
        part[perm[n_tr + n_va :]] = 2

    sizes = tuple(int(np.sum(part == k)) for k in range(3))
    if sizes[0] < 1 or (valid > 0 and sizes[1] < 1) or (test > 0 and sizes[2] < 1):
        _checks.fail(
            "X",
            "enough rows for a non-empty train split and non-empty valid/test "
            "splits where their fraction is positive",
            f"{n} rows, giving (train, valid, test) sizes {sizes} at valid={valid}, test={test}",
        )
    ordered = [perm[part[perm] == k] for k in range(3)]
    return tuple((X[idx], y[idx]) for idx in ordered)


# --------------------------------------------------------------------------
# Standardization


class Standardizer(NamedTuple):
    """Per-feature statistics for ``(X − mean) / scale``.

    Attributes:
        mean: ``(d,)`` feature means of the data it was fitted on.
        scale: ``(d,)`` population standard deviations (ddof 0), with 1 for
            (near-)constant features, as scikit-learn's StandardScaler.
    """

    mean: jax.Array
    scale: jax.Array

    @staticmethod
    def fit(X: Any) -> Standardizer:
        """Fits the statistics on ``X`` ``(n, d)``: the training split only."""
        _check_matrix("X", X)
        if X.shape[0] < 1:
            _checks.fail("X", "at least one row", _describe(X))
        _checks.finite_array("X", X)
        X = X if isinstance(X, jax.Array) else jax.device_put(np.asarray(X))
        if not jnp.issubdtype(X.dtype, jnp.floating):
            X = X.astype(jnp.result_type(float))
        return Standardizer(*_moments(X))


@jax.jit
def _moments(X):
    """(mean, scale) of the columns of X, in one compiled program."""
    mean = jnp.mean(X, axis=0)
    std = jnp.std(X, axis=0)
    # A constant column's computed std is rounding error proportional to
    # its magnitude; dividing by it would blow that error up.
    tiny = 10 * jnp.finfo(X.dtype).eps * jnp.maximum(jnp.abs(mean), 1.0)
    return mean, jnp.where(std <= tiny, 1.0, std).astype(X.dtype)


# One compiled program per (key type, n), rather than one per eager operation.
_permutation = jax.jit(jax.random.permutation, static_argnums=1)


def _check_matrix(name: str, X: Any, d: int | None = None) -> None:
    if not hasattr(X, "shape") or len(X.shape) != 2:
        _checks.fail(name, "an array of shape (n, d)", _describe(X))
    if d is not None and X.shape[1] != d:
        _checks.fail(name, f"{d} features (columns), as fitted", f"{X.shape[1]} features")


def transform(stats: Standardizer, X: Any) -> jax.Array:
    """``(X − mean) / scale`` for ``X`` ``(n, d)``; jit-compatible.

    Returns:
        ``(n, d)`` JAX array.
    """
    _check_matrix("X", X, stats.mean.shape[0])
    if not (_checks.is_concrete(X) and _checks.is_concrete(stats.mean)):
        return (X - stats.mean) / stats.scale
    # Concrete data: NumPy's subtract and divide round exactly as XLA's, and
    # compile nothing (each split's shape would be a new program).
    dtype = jax.dtypes.canonicalize_dtype(jnp.result_type(X, stats.mean))
    mean, scale = np.asarray(stats.mean, dtype), np.asarray(stats.scale, dtype)
    return jax.device_put((np.asarray(X, dtype) - mean) / scale)  # jnp.asarray compiles a copy


def inverse_transform(stats: Standardizer, Z: Any) -> jax.Array:
    """``Z · scale + mean``, undoing :func:`transform` for ``Z`` ``(n, d)``.

    Also maps standardized regression predictions back to target units when
    the statistics were fitted on the targets.
    """
    _check_matrix("Z", Z, stats.mean.shape[0])
    return Z * stats.scale + stats.mean


def standardize(train, valid, test):
    """Standardizes the features of three ``(X, y)`` splits with train's statistics.

    Args:
        train, valid, test: ``(X, y)`` pairs as :func:`split` returns them.

    Returns:
        ``(stats, train, valid, test)`` with each ``X`` replaced by
        ``transform(stats, X)`` and each ``y`` unchanged.
    """
    stats = Standardizer.fit(train[0])
    return (stats,) + tuple((transform(stats, X), y) for X, y in (train, valid, test))


# --------------------------------------------------------------------------
# Checks for the training engine and the command line

_KINDS = ("classes", "binary", "real")


def check_dataset(
    X: Any,
    y: Any,
    *,
    kind: str = "classes",
    n_classes: int | None = None,
    n_features: int | None = None,
    n_outputs: int | None = None,
    name_X: str = "X",
    name_y: str = "y",
) -> None:
    """Rejects a data set that a model cannot train on, before any work starts.

    Shape and dtype checks run on any array, tracers included; checks of the
    values (finite, label range) run only on concrete arrays.

    Args:
        X: features, shape ``(n, d)`` with finite real values.
        y: targets with ``n`` rows:

            * ``kind="classes"``: integer labels ``(n,)`` in ``[0, n_classes)``
              (softmax output);
            * ``kind="binary"``: values in {0, 1}, ``(n,)`` or ``(n, d_out)``
              (sigmoid output);
            * ``kind="real"``: finite reals, ``(n,)`` or ``(n, d_out)``
              (linear, gaussian or mixture output).
        kind: one of ``"classes"``, ``"binary"``, ``"real"``.
        n_classes: if given (``"classes"``), labels must lie below it.
        n_features: if given, ``d`` must equal it.
        n_outputs: if given (``"binary"``/``"real"``), ``y`` must be
            ``(n, n_outputs)``.
        name_X, name_y: names used in the error messages (e.g. ``"valid[0]"``).

    Raises:
        ValueError: ``"<name>: expected <what>, received <what>"``.
    """
    _checks.one_of("kind", kind, _KINDS)
    for arg, value in (
        ("n_classes", n_classes),
        ("n_features", n_features),
        ("n_outputs", n_outputs),
    ):
        if value is not None:
            _checks.positive_int(arg, value)
    if not hasattr(X, "shape") or len(X.shape) != 2:
        _checks.fail(name_X, "an array of shape (n, d)", _describe(X))
    if not _is_numeric(X.dtype):
        _checks.fail(name_X, "real-valued features", _describe(X))
    if n_features is not None and X.shape[1] != n_features:
        _checks.fail(name_X, f"{n_features} features (columns)", f"{X.shape[1]} features")
    _checks.finite_array(name_X, X)

    n = X.shape[0]
    if n == 0:
        _checks.fail(name_X, "at least one example", "an empty data set (0 rows)")
    if not hasattr(y, "shape") or len(y.shape) < 1 or y.shape[0] != n:
        _checks.fail(name_y, f"{n} rows, as many as {name_X}", _describe(y))
    if kind == "classes":
        if len(y.shape) != 1 or not _is_integer(y.dtype):
            _checks.fail(name_y, f"integer class labels of shape ({n},)", _describe(y))
        if _checks.is_concrete(y) and n:
            labels = np.asarray(y)
            lo, hi = int(labels.min()), int(labels.max())
            top = "" if n_classes is None else f" and below {n_classes}"
            if lo < 0 or (n_classes is not None and hi >= n_classes):
                _checks.fail(name_y, f"labels at least 0{top}", f"labels from {lo} to {hi}")
        return
    if len(y.shape) > 2 or (n_outputs is not None and tuple(y.shape) != (n, n_outputs)):
        shape = f"({n}, {n_outputs})" if n_outputs is not None else f"({n},) or ({n}, d_out)"
        _checks.fail(name_y, f"targets of shape {shape}", _describe(y))
    if not _is_numeric(y.dtype):
        _checks.fail(name_y, "numeric targets", _describe(y))
    if kind == "binary":
        if _checks.is_concrete(y):
            values = np.asarray(y)
            bad = int(np.count_nonzero((values != 0) & (values != 1)))
            if bad:
                _checks.fail(name_y, "targets in {0, 1}", f"{bad} other values")
    else:
        _checks.finite_array(name_y, y)


def _is_integer(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jnp.integer)


def _is_numeric(dtype: Any) -> bool:
    # jnp.issubdtype also knows bfloat16, which NumPy does not class as floating.
    return jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
