"""Data sets, users' data files, train/valid/test splits and standardization.

Every loader returns NumPy arrays so that the caller chooses the device:
features ``X`` of shape ``(n, d)`` and dtype float32, as shipped (not
standardized); class labels ``y`` of shape ``(n,)`` and dtype int32 in
``0 .. n_classes - 1``; regression targets ``y`` of shape ``(n, d_out)`` and
dtype float32.

One concept per module, every public name re-exported here:

* :mod:`nnbasics.data.datasets`: the shipped and synthetic sets by name
  (:func:`load`, :func:`names`, :func:`info`, :data:`DATASETS`);
* :mod:`nnbasics.data.mnist1d`: the MNIST-1D generator and its on-disk cache
  (:func:`cache_dir`, :data:`MNIST1D_ARGS`);
* :mod:`nnbasics.data.files`: a user's own files (:func:`read`,
  :func:`read_features`, :class:`DataFile`);
* :mod:`nnbasics.data.splits`: :func:`split`, :class:`Standardizer`,
  :func:`standardize`, :func:`transform`, :func:`inverse_transform`,
  :func:`check_dataset`.

Example:
    >>> import jax
    >>> from nnbasics import data
    >>> X, y = data.load("digits")
    >>> train, valid, test = data.split(jax.random.key(0), X, y, stratify=True)
    >>> stats = data.Standardizer.fit(train[0])
    >>> X_train = data.transform(stats, train[0])
"""

from nnbasics.data.datasets import DATASETS, DatasetInfo, info, load, names
from nnbasics.data.files import (
    FILE_SUFFIXES,
    MAX_INFERRED_CLASSES,
    MISSING_POLICIES,
    TASKS,
    DataFile,
    read,
    read_features,
)
from nnbasics.data.mnist1d import MNIST1D_ARGS, cache_dir
from nnbasics.data.splits import (
    Standardizer,
    check_dataset,
    inverse_transform,
    split,
    standardize,
    transform,
)

__all__ = [
    "DATASETS",
    "DataFile",
    "DatasetInfo",
    "FILE_SUFFIXES",
    "MAX_INFERRED_CLASSES",
    "MISSING_POLICIES",
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
