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

Example:
    >>> import jax
    >>> from nnbasics import data
    >>> X, y = data.load("digits")
    >>> train, valid, test = data.split(jax.random.key(0), X, y, stratify=True)
    >>> stats = data.Standardizer.fit(train[0])
    >>> X_train = data.transform(stats, train[0])
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import math
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
    "DatasetInfo",
    "MNIST1D_ARGS",
    "Standardizer",
    "cache_dir",
    "check_dataset",
    "info",
    "inverse_transform",
    "load",
    "names",
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
    return (f"{origin}; scikit-learn's copy sklearn/datasets/data/{files.data}, "
            f"description and licence in sklearn/datasets/descr/{files.descr}")


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "classification", 10, 64, None, 1797, "softmax", False,
        "8x8 handwritten digits 0-9, pixel intensities 0..16 (scikit-learn)",
        _shipped_source("digits", "UCI Optical Recognition of Handwritten Digits, test set "
                        "(E. Alpaydin, C. Kaynak 1998)")),
    "breast_cancer": DatasetInfo(
        "classification", 2, 30, None, 569, "softmax", False,
        "Wisconsin breast cancer, 0 = malignant, 1 = benign (scikit-learn)",
        _shipped_source("breast_cancer", "UCI Breast Cancer Wisconsin (Diagnostic) "
                        "(W.H. Wolberg, W.N. Street, O.L. Mangasarian 1995)")),
    "iris": DatasetInfo(
        "classification", 3, 4, None, 150, "softmax", False,
        "Fisher's iris, 3 species from 4 measurements (scikit-learn)",
        _shipped_source("iris", "R.A. Fisher 1936, as in R (UCI's copy differs in two "
                        "points)")),
    "wine": DatasetInfo(
        "classification", 3, 13, None, 178, "softmax", False,
        "3 wine cultivars from 13 chemical measurements (scikit-learn)",
        _shipped_source("wine", "UCI Wine (M. Forina et al., PARVUS)")),
    "xor": DatasetInfo(
        "classification", 2, 2, None, 4, "softmax", True,
        "the 4 XOR points (0,0) (0,1) (1,0) (1,1) with labels 0 1 1 0",
        "the XOR network example of the course"),
    "xor_noisy": DatasetInfo(
        "classification", 2, 2, None, 200, "softmax", True,
        "the XOR corners repeated evenly plus Gaussian noise (std 0.1)",
        "nnbasics, NumPy Generator(seed)"),
    "moons": DatasetInfo(
        "classification", 2, 2, None, 500, "softmax", True,
        "two interleaving half circles, Gaussian noise 0.2 (make_moons)",
        "nnbasics, equal to scikit-learn's make_moons(n, noise=noise, random_state=seed)"),
    "blobs": DatasetInfo(
        "classification", 3, 2, None, 500, "softmax", True,
        "3 isotropic Gaussian blobs in 2-D, std 1.0 (make_blobs)",
        "nnbasics, equal to scikit-learn's make_blobs(n, centers=3, n_features=2, "
        "cluster_std=noise, random_state=seed)"),
    "sine": DatasetInfo(
        "regression", None, 1, 1, 500, "gaussian", True,
        "y = sin(2 pi x) + N(0, (0.2 (0.25 + x))^2), x ~ U[0, 1]: noise grows with x",
        "nnbasics, NumPy Generator(seed)"),
    "multimodal": DatasetInfo(
        "regression", None, 1, 1, 500, "mixture", True,
        "inverted sine x = y + 0.3 sin(2 pi y) + U(-0.1, 0.1): p(y|x) multimodal",
        "Bishop 1994, Mixture Density Networks; nnbasics, NumPy Generator(seed)"),
    "mnist1d": DatasetInfo(
        "classification", 10, 40, None, 5000, "softmax", True,
        "MNIST-1D: 10 digit templates as 1-D signals of 40 points, padded, scaled, translated, "
        "sheared and noised (4000 train + 1000 test)",
        "the authors' generator, package mnist1d (github.com/greydanus/mnist1d): "
        "make_dataset with get_dataset_args()'s defaults (MNIST1D_ARGS), the paper's data; "
        "cached in cache_dir()",
        n_test=1000,
        citation="S. Greydanus, D. Kobak. Scaling Down Deep Learning with MNIST-1D. ICML 2024, "
                 "PMLR 235:16404-16415 (arXiv:2011.14439)"),
}

# Default noise level per synthetic set, in the units the generator takes.
# For "mnist1d", a factor on the generator's two noise scales (1: the paper's).
_NOISE = {"xor_noisy": 0.1, "moons": 0.2, "blobs": 1.0, "sine": 0.2, "multimodal": 0.1,
          "mnist1d": 1.0}

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


def load(name: str, *, seed: int | None = None, n: int | None = None,
         noise: float | None = None, split: str | None = None,
         shuffle: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Loads a data set by name.

    ``seed`` is an int rather than a JAX key because the generators are
    NumPy's (``"moons"`` and ``"blobs"`` draw from ``RandomState(seed)``, as
    scikit-learn's do), which take integer seeds; the same seed gives the same
    arrays on every machine.

    Args:
        name: one of :func:`names`.
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

    Returns:
        ``(X, y)``: ``X`` float32 ``(n, d)``; ``y`` int32 ``(n,)`` for
        classification, float32 ``(n, n_outputs)`` for regression.

    Raises:
        ValueError: unknown ``name``, or a bad ``seed``, ``n``, ``noise``,
            ``split`` or ``shuffle``; scikit-learn's data file for a shipped
            ``name`` missing or malformed; the ``mnist1d`` package missing.
    """
    _check_name(name)
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


# The seed load uses when given None, where it is not 0.
_DEFAULT_SEED = {"mnist1d": 42}


def _check_split_and_shuffle(name: str, split: Any, shuffle: Any) -> None:
    """Rejects a ``split`` or ``shuffle`` that the set ``name`` does not offer."""
    if split is not None:
        if DATASETS[name].n_test is None:
            _checks.fail("split", f"None for {name!r}, which has no test split of its own "
                         "(divide it with nnbasics.data.split)", split)
        _checks.one_of("split", split, (None, "train", "test"))
    if not isinstance(shuffle, bool):
        _checks.fail("shuffle", "True or False", shuffle)
    if shuffle and name != "mnist1d":
        _checks.fail("shuffle", f"False for {name!r} (only 'mnist1d' has a shuffled variant)",
                     shuffle)


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
        _checks.fail("name", f"{name!r} read from scikit-learn's data file "
                     f"sklearn/datasets/data/{files.data} (pip install 'scikit-learn>=1.4')",
                     "scikit-learn not installed" if folder is None else f"no file {path}")
    # Labels are whole numbers, so reading them as float64 and casting is exact.
    table = np.loadtxt(path, delimiter=",", skiprows=files.header_rows, ndmin=2)
    if table.shape != (about.n_default, about.n_features + 1):
        _checks.fail("name", f"{name!r} read from {path} as a table of shape "
                     f"({about.n_default}, {about.n_features + 1})", f"shape {table.shape}")
    return table[:, :-1], table[:, -1].astype(int)


def _xor_noisy(rng: np.random.Generator, n: int, noise: float, seed: int):
    # Corners are dealt evenly (rather than drawn) so the classes stay balanced.
    corner = rng.permutation(np.arange(n) % 4)
    return _XOR_X[corner] + noise * rng.standard_normal((n, 2)), _XOR_Y[corner]


def _random_state(seed: int) -> np.random.RandomState:
    """``RandomState(seed)``, the stream scikit-learn's generators draw from."""
    if seed >= 2**32:
        _checks.fail("seed", "an integer below 2**32 for 'moons' and 'blobs' "
                     "(the seeds of NumPy's RandomState)", seed)
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
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)])
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
    X = np.concatenate([state.normal(loc=c, scale=noise, size=(m, 2))
                        for c, m in zip(centers, sizes)])
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
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60],
    "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
    "iid_noise_scale": 0.02, "shear_scale": 0.75, "shuffle_seq": False,
    "final_seq_length": 40, "seed": 42,
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
        _checks.fail("seed", "an integer below 2**32 for 'mnist1d' (the generator seeds NumPy's "
                     "global RandomState)", seed)
    args = dict(MNIST1D_ARGS, seed=seed, shuffle_seq=shuffle,
                corr_noise_scale=MNIST1D_ARGS["corr_noise_scale"] * noise,
                iid_noise_scale=MNIST1D_ARGS["iid_noise_scale"] * noise)
    if n is not None:
        if n % 10:
            _checks.fail("n", "a multiple of 10 for 'mnist1d' (the generator makes n/10 "
                         "examples of each digit)", n)
        args["num_samples"] = n
    return args


def _mnist1d_version() -> str:
    """The installed ``mnist1d`` package's version; ValueError saying how to install it."""
    if importlib.util.find_spec("mnist1d") is None:
        _checks.fail("name", "'mnist1d' made by the optional package mnist1d "
                     "(pip install \"nnbasics[mnist1d]\")", "mnist1d is not installed")
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
    key = json.dumps({"generator": f"mnist1d {_mnist1d_version()}", "args": args},
                     sort_keys=True)
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
        warnings.warn(f"data set not cached: cannot write {path} "
                      f"({e.strerror or type(e).__name__}); it is made again on the next call",
                      UserWarning, stacklevel=4)


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


def split(key: jax.Array, X: Any, y: Any, valid: float = 0.15, test: float = 0.15,
          stratify: bool = False):
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
        _checks.fail("valid + test", "a sum below 1, leaving examples to train on",
                     float(valid + test))
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
            _checks.fail("y", "integer class labels of shape (n,) when stratify=True",
                         _describe(y))
        shuffled = labels[perm]
        for c in np.unique(labels):
            rows = perm[shuffled == c]
            n_tr, n_va, _ = _sizes(len(rows), valid, test)
            part[rows[n_tr:n_tr + n_va]] = 1
            part[rows[n_tr + n_va:]] = 2
    else:
        n_tr, n_va, _ = _sizes(n, valid, test)
        part[perm[n_tr:n_tr + n_va]] = 1
        part[perm[n_tr + n_va:]] = 2

    sizes = tuple(int(np.sum(part == k)) for k in range(3))
    if sizes[0] < 1 or (valid > 0 and sizes[1] < 1) or (test > 0 and sizes[2] < 1):
        _checks.fail("X", "enough rows for a non-empty train split and non-empty valid/test "
                     "splits where their fraction is positive",
                     f"{n} rows, giving (train, valid, test) sizes {sizes}")
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


def check_dataset(X: Any, y: Any, *, kind: str = "classes", n_classes: int | None = None,
                  n_features: int | None = None, n_outputs: int | None = None,
                  name_X: str = "X", name_y: str = "y") -> None:
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
    for arg, value in (("n_classes", n_classes), ("n_features", n_features),
                       ("n_outputs", n_outputs)):
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
