"""``nnbasics train``'s data: the source (a named set or a file), its targets, splits and keys."""

from __future__ import annotations

import os
import sys

from nnbasics.cli._common import (
    UsageError,
    dropped_text,
)


def _targets(info, output: str, y):
    """The data set's targets in the form the output unit trains on.

    ``sigmoid`` (multi-label) trains on the one-hot class labels of a
    classification set, or on a file's own 0/1 target columns.
    """
    import numpy as np

    if info.kind == "classification":
        if output == "softmax":
            return y
        if output == "sigmoid":
            return np.eye(info.n_classes, dtype=np.float32)[y]
        raise UsageError(
            f"--output {output} needs a regression data set; {info.kind} sets "
            "train with softmax or sigmoid"
        )
    if output == "sigmoid" and np.isin(y, (0, 1)).all():
        return np.asarray(y, np.float32)
    if output in ("softmax", "sigmoid"):
        raise UsageError(
            f"--output {output} needs a classification data set"
            + (" or 0/1 target columns" if output == "sigmoid" else "")
            + "; this one is regression (use linear, gaussian or mixture)"
        )
    return y


def _source(args):
    """(DatasetInfo, DataFile or None) of ``--data`` or ``--dataset``."""
    from nnbasics import data

    if args.data is None:
        for option in ("target", "task"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option} goes with --data (a file of your own)")
        if args.drop_missing:
            raise UsageError("--drop-missing goes with --data (a file of your own)")
        args.dataset = args.dataset or "digits"
        return data.info(args.dataset), None
    if args.dataset is not None:
        raise UsageError("--data and --dataset: expected one of them, received both")
    missing = "drop" if args.drop_missing else "refuse"
    file = data.read(
        args.data, target=args.target, task=args.task, missing=missing, header=args.header
    )
    if len(file.dropped_lines):
        print(
            f"nnbasics: note: --drop-missing: dropped {dropped_text(file.dropped_lines)} "
            f"of {args.data} holding a missing value; {len(file.X)} rows kept",
            file=sys.stderr,
        )
    classes = file.task == "classification"
    info = data.DatasetInfo(
        file.task,
        None if file.classes is None else len(file.classes),
        file.X.shape[1],
        None if classes else file.y.shape[1],
        len(file.X),
        "softmax" if classes else "linear",
        False,
        os.path.basename(file.path),
    )
    return info, file


def _splits(args, info, output: str, key, file=None):
    """(train, valid, test), each (X, y) as NumPy arrays, of ``args.dataset``.

    A set with a test split of its own (``info.n_test``) keeps it as the test
    split, and valid comes out of its train split; any other set is shuffled
    and cut into the three (stratified for classes).
    """
    from nnbasics import data

    stratify = info.kind == "classification"

    # Split on the labels themselves (stratified), then encode them for the output unit.
    def encode(pair):
        return pair[0], _targets(info, output, pair[1])

    if file is not None or info.n_test is None:
        X, y = (file.X, file.y) if file is not None else data.load(args.dataset, seed=args.seed)
        test = 0.15 if args.test is None else args.test
        splits = data.split(key, X, y, valid=args.valid, test=test, stratify=stratify)
        return tuple(map(encode, splits))
    if args.test is not None:
        raise UsageError(
            f"--test: expected no value for {args.dataset}, which has its own "
            f"test split of {info.n_test} examples, received {args.test:g}"
        )
    X, y = data.load(args.dataset, split="train")
    train, valid, _ = data.split(key, X, y, valid=args.valid, test=0.0, stratify=stratify)
    return encode(train), encode(valid), encode(data.load(args.dataset, split="test"))


def _keys(seed: int):
    """The split, init and fit keys of ``seed``, derived in one compiled program."""
    import jax

    return jax.jit(lambda s: tuple(jax.random.split(jax.random.key(s), 3)))(seed)
