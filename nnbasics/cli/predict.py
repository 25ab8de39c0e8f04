"""``nnbasics predict MODEL DATA``: a saved model applied to a data file.

    nnbasics train --data train.csv --save model.npz
    nnbasics predict model.npz new.csv --output predictions.csv

The model's standardization is applied to the features, and the predictions
are written as CSV (stdout, or ``--output``): the class name and one
probability per class for classifiers, the predicted mean and standard
deviation of each output for regression. A file that also holds the targets
(its column named as in training, or one column more than the features) gets
its metrics printed on stderr. Rows with a missing or non-finite value are
refused with their line numbers, never predicted.
"""

from __future__ import annotations

import csv
import sys

import numpy as np

from nnbasics.cli._common import UsageError, WriteError, check_output_file, write_failed


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
    p.set_defaults(func=run, no_compile_cache=False)


def run(args) -> int:
    """Runs ``nnbasics predict`` with parsed ``args``; returns the exit status."""
    import nnbasics as nb

    if args.output is not None and not args.output.lower().endswith(".csv"):
        raise UsageError(f"--output: expected a file ending in .csv, received {args.output!r}")
    if args.output is not None:
        check_output_file("--output", args.output, args.overwrite)
    model = nb.load_model(args.model)
    X, y_names = _read(model, args.data, args.target)
    out = model.predict(X)
    bad = [k for k, v in out.items() if k != "label" and not np.isfinite(v).all()]
    if bad:
        rows = np.flatnonzero(~np.isfinite(out[bad[0]]).reshape(len(X), -1).all(axis=1))
        raise WriteError(
            f"{args.model}: the model predicts non-finite {bad[0]} for {len(rows)} of "
            f"{len(X)} rows (first: {(rows[:5] + 1).tolist()}); nothing was written"
        )
    rows, header = _table(model, out)
    if args.output is None:
        _write(sys.stdout, header, rows)
    else:
        try:
            with open(args.output, "w", newline="") as f:
                _write(f, header, rows)
        except OSError as e:
            raise write_failed("--output", args.output, e) from None
    if y_names is not None:
        print(_metrics(nb, model, X, y_names, out), file=sys.stderr)
    return 0


def _read(model, path: str, target):
    """(X, target values or None) of ``path``, its width checked against the model."""
    from nnbasics import data

    d = model.net.sizes[0]
    saved = model.meta.get("data", {}).get("target")
    task = "classification" if model.labels is not None else "regression"
    try:
        found = data.read(path, target=target if target is not None else saved, task=task)
        if found.X.shape[1] == d:
            values = (
                np.asarray(found.classes, dtype=object)[found.y]
                if found.classes is not None
                else found.y
            )
            return found.X, values
        labeled_error = None
    except ValueError as e:
        labeled_error = e
    try:
        X, _ = data.read_features(path)
    except ValueError:
        # A file with the target column fails on its own terms (a bad label, a
        # bad cell); one without it fails as features.
        if labeled_error is not None and not str(labeled_error).startswith("target:"):
            raise labeled_error from None
        raise
    if X.shape[1] != d:
        raise UsageError(
            f"{path}: expected {d} feature columns (and optionally the target), "
            f"as the model was trained on, received {X.shape[1]} columns"
        )
    return X, None


def _table(model, out: dict):
    """(rows, header) of the predictions CSV."""
    if "mean" in out:
        k = out["mean"].shape[1]
        names = [""] if k == 1 else [f"_{j}" for j in range(k)]
        header = [f"mean{s}" for s in names] + [f"std{s}" for s in names]
        return np.hstack([out["mean"], out["std"]]).tolist(), header
    probabilities = out["probabilities"]
    if "index" not in out:  # sigmoid: one 0/1 label and probability per output
        k = probabilities.shape[1]
        header = [f"label_{j}" for j in range(k)] + [f"p_{j}" for j in range(k)]
        return np.hstack([out["label"], probabilities]).tolist(), header
    names = model.labels or [str(j) for j in range(probabilities.shape[1])]
    header = ["label"] + [f"p({name})" for name in names]
    return [[str(label), *map(float, p)] for label, p in zip(out["label"], probabilities)], header


def _write(file, header, rows) -> None:
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _metrics(nb, model, X, y, out: dict) -> str:
    """One line: accuracy and mean NLL (classes) or RMSE and mean NLL (regression)."""
    X = model.inputs(X)
    if "index" in out:
        known = {name: i for i, name in enumerate(model.labels)}
        unknown = sorted({str(v) for v in y} - set(known))
        if unknown:
            raise UsageError(
                f"targets: expected the model's classes {list(model.labels)}, received {unknown}"
            )
        codes = np.array([known[str(v)] for v in y], np.int32)
        loss, _ = nb.train.metrics(model.net, model.params, X, codes)
        accuracy = float(np.mean(out["index"] == codes))
        return f"{len(codes)} examples: accuracy {accuracy:.2%}, mean NLL {float(loss):.4f}"
    y = np.asarray(y, np.float32).reshape(len(X), -1)
    loss, _ = nb.train.metrics(model.net, model.params, X, y)
    rmse = float(np.sqrt(np.mean((out["mean"] - y) ** 2)))
    return f"{len(y)} examples: RMSE {rmse:.4f}, mean NLL {float(loss):.4f}"
