"""``nnbasics predict MODEL DATA``: a saved model applied to a data file.

    nnbasics train --data train.csv --save model.npz
    nnbasics predict model.npz new.csv --output predictions.csv

The file's columns are matched to the model's features by name when both
have names (any order; a missing or unknown name is refused), else by
position when the width is the model's (or one more: the target). The
model's standardization is applied, and the predictions are written as CSV
(stdout, or --output): the class name and one probability per class for
classifiers, label(c) and p(c) per class for multi-label (sigmoid) models,
the predicted mean of each output for regression, in target units, with its
standard deviation for gaussian and mixture outputs (a linear output
predicts no spread). A file that also holds the targets gets its metrics
printed on stderr. Rows with a missing or non-finite value are refused with their line numbers;
with --drop-missing, rows holding a missing value are dropped instead,
stderr says how many and which lines, and the output starts with a "line"
column naming each prediction's line in DATA, so that no prediction can be
matched to the wrong example.

Numbers are written as the shortest text that reads back to the same value
in the model's dtype (float32: at most 9 significant digits).
"""

from __future__ import annotations

import csv
import sys

import numpy as np

from nnbasics import _files
from nnbasics.cli._common import (
    UsageError,
    WriteError,
    add_header_option,
    check_output_file,
    dropped_text,
    write_failed,
)


def add_parser(sub) -> None:
    """Adds ``predict`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "predict",
        help="apply a saved model (nnbasics train --save) to a data file",
        description=__doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else None,
    )
    p.add_argument("model", metavar="MODEL.npz", help="a model file written by train --save")
    p.add_argument("data", metavar="DATA", help="a .csv/.tsv/.txt/.npz/.npy file of examples")
    p.add_argument(
        "--output",
        default=None,
        metavar="FILE.csv",
        help="write the predictions there instead of stdout",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output file (refused without it)",
    )
    p.add_argument(
        "--target",
        default=None,
        metavar="COLUMN",
        help="the target column's name or index, if not the one used in training",
    )
    p.add_argument(
        "--drop-missing",
        action="store_true",
        help="drop DATA's rows holding a missing value (an empty cell, NA, nan, null, "
        "none, ?) instead of refusing the file; the output then starts with a 'line' "
        "column naming each prediction's line in DATA, and stderr names the dropped lines",
    )
    add_header_option(p)
    p.set_defaults(func=run, no_compile_cache=False)


def run(args) -> int:
    """Runs ``nnbasics predict`` with parsed ``args``; returns the exit status."""
    if args.output is not None and not args.output.lower().endswith(".csv"):
        raise UsageError(f"--output: expected a file ending in .csv, received {args.output!r}")
    if args.output is not None:
        check_output_file("--output", args.output, args.overwrite)
    # One run per output file: a second predict writing it is refused before any work.
    with _files.reserve(args.output, "--output"):
        return _predict(args)


def _predict(args) -> int:
    import nnbasics as nb

    model = nb.load_model(args.model)
    missing = "drop" if args.drop_missing else "refuse"
    X, y_names = model.read(args.data, target=args.target, missing=missing, header=args.header)
    lines = None
    if args.drop_missing:
        from nnbasics.data.files import kept_lines

        targets = [args.target] if args.target is not None else [model.target, -1]
        lines, dropped = kept_lines(args.data, [t for t in targets if t is not None], args.header)
        if len(lines) != len(X):  # the same rows are kept whichever columns are read
            raise WriteError(f"{args.data}: rows changed while being read; nothing was written")
        if len(dropped):
            print(
                f"nnbasics: note: --drop-missing: dropped {dropped_text(dropped)} of "
                f"{args.data} holding a missing value; {len(X)} rows predicted, the "
                "output's 'line' column names each one's line",
                file=sys.stderr,
            )
    out = model.predict(X)
    bad = [k for k, v in out.items() if k != "label" and not np.isfinite(v).all()]
    if bad:
        rows = np.flatnonzero(~np.isfinite(out[bad[0]]).reshape(len(X), -1).all(axis=1))
        raise WriteError(
            f"{args.model}: the model predicts non-finite {bad[0]} for {len(rows)} of "
            f"{len(X)} rows (first: {(rows[:5] + 1).tolist()}); nothing was written"
        )
    # Before anything is written: a target column the model cannot score is refused.
    scores = None if y_names is None else _metrics(nb, model, X, y_names, out)
    rows, header = _table(model, out)
    if "index" not in out and "probabilities" in out:
        print(_MULTI_LABEL, file=sys.stderr)
    if lines is not None:
        header = ["line", *header]
        rows = [[int(line), *row] for line, row in zip(lines, rows)]
    if args.output is None:
        _write(sys.stdout, header, rows)
    else:
        try:  # streamed into a temporary file that replaces --output whole at the end
            with _files.atomic_open(args.output, "w", newline="") as f:
                _write(f, header, rows)
        except OSError as e:
            raise write_failed("--output", args.output, e) from None
    if scores is not None:
        print(scores, file=sys.stderr)
    return 0


_MULTI_LABEL = (
    "nnbasics: note: a multi-label (sigmoid) model: label(c) is 1 when p(c), the "
    "probability that class c applies, is above 0.5; each class is decided on its own, "
    "so a row may have several labels or none"
)


def _table(model, out: dict):
    """(rows, header) of the predictions CSV; numbers as NumPy scalars of their dtype."""
    if "mean" in out:
        k = out["mean"].shape[1]
        names = [""] if k == 1 else [f"_{j}" for j in range(k)]
        header = [f"mean{s}" for s in names]
        if "std" not in out:  # linear: no predicted spread to report
            return out["mean"], header
        header += [f"std{s}" for s in names]
        return np.hstack([out["mean"], out["std"]]), header
    probabilities = out["probabilities"]
    names = model.labels or [str(j) for j in range(probabilities.shape[1])]
    if "index" not in out:  # sigmoid: one 0/1 label and probability per class
        header = [f"label({name})" for name in names] + [f"p({name})" for name in names]
        labels = np.asarray(out["label"]).astype(np.int8)
        return [[*map(int, a), *p] for a, p in zip(labels, probabilities)], header
    header = ["label"] + [f"p({name})" for name in names]
    return [[str(label), *p] for label, p in zip(out["label"], probabilities)], header


def _write(file, header, rows) -> None:
    """CSV with each number written as the shortest text that reads back to it in its dtype."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(header)
    # str() of a NumPy float scalar is its shortest round-trip repr in that dtype
    # (float32: at most 9 digits); float() would show float32 values with 17.
    writer.writerows([str(x) if isinstance(x, np.generic) else x for x in row] for row in rows)


def _metrics(nb, model, X, y, out: dict) -> str:
    """One line: accuracy and mean NLL (classes) or RMSE and mean NLL (regression)."""
    X = model.inputs(X)
    if model.labels is not None:
        known = {name: i for i, name in enumerate(model.labels)}
        unknown = sorted({str(v) for v in y} - set(known))
        if unknown:
            raise UsageError(
                f"targets: expected the model's classes {list(model.labels)}, received {unknown}"
            )
        codes = np.array([known[str(v)] for v in y], np.int32)
        if "index" not in out:  # sigmoid: the one-hot labels, scored class by class
            onehot = np.eye(len(known), dtype=np.float32)[codes]
            loss, accuracy = nb.train.metrics(model.net, model.params, X, onehot)
            exact = float(np.mean((out["label"] == onehot).all(axis=1)))
            return (
                f"{len(codes)} examples: label accuracy {float(accuracy):.2%} (per class), "
                f"exact match {exact:.2%}, mean NLL {float(loss):.4f}"
            )
        loss, _ = nb.train.metrics(model.net, model.params, X, codes)
        accuracy = float(np.mean(out["index"] == codes))
        return f"{len(codes)} examples: accuracy {accuracy:.2%}, mean NLL {float(loss):.4f}"
    y = np.asarray(y, np.float64).reshape(len(X), -1)
    if "probabilities" in out:  # sigmoid on 0/1 target columns
        if not np.isin(y, (0, 1)).all():
            raise UsageError(
                "targets: expected 0/1 values for a multi-label model, received others"
            )
        loss, accuracy = nb.train.metrics(model.net, model.params, X, y.astype(X.dtype))
        return (
            f"{len(y)} examples: label accuracy {float(accuracy):.2%} (per class), "
            f"mean NLL {float(loss):.4f}"
        )
    rmse = float(np.sqrt(np.mean((out["mean"] - y) ** 2)))
    line = f"{len(y)} examples: RMSE {rmse:.4f} (target units)"
    if "std" not in out:  # linear: its ½ squared error is no NLL in target units
        return line
    # The NLL in target units: the standardized one + Σⱼ log scaleⱼ (change of variables).
    dtype = X.dtype
    log_scale, z = 0.0, y.astype(dtype)
    if model.target_standardizer is not None:
        z = nb.data.transform(model.target_standardizer, z).astype(dtype)
        log_scale = float(np.sum(np.log(np.asarray(model.target_standardizer.scale, np.float64))))
    loss, _ = nb.train.metrics(model.net, model.params, X, z)
    return f"{line}, mean NLL {float(loss) + log_scale:.4f}"
