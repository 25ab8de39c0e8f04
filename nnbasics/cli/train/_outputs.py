"""``nnbasics train``'s outputs after training: learning curves, the history and the model file."""

from __future__ import annotations

import os

from nnbasics import _files, distributed
from nnbasics.cli._common import (
    write_failed,
)
from nnbasics.cli._report import plot


def _write_outputs(args, console, result, net, statistics, labels, metrics, source) -> list[str]:
    """The files asked for: learning curves, the history and the model (process 0 only).

    Returns one line per file that could not be written (each OSError named
    with its path and cause); a model that cannot go to ``--save`` goes to a
    temporary file instead, named in the line. A diverged run writes no model.
    ``statistics`` is (feature standardizer, target standardizer or None).
    """
    if not distributed.is_writer():
        return []
    failed = []

    def attempt(option, path, write):
        try:
            write(path)
        except OSError as e:
            failed.append(str(write_failed(option, path, e)))
            return False
        if not args.quiet:
            console.print(f"{option.lstrip('-')} written to {path}")
        return True

    if args.plot is not None:
        title = (
            f"{source['name']}: MLP {'-'.join(map(str, net.sizes))} "
            f"{net.hidden}/{net.output}, {args.optimizer}"
        )
        attempt("--plot", args.plot, lambda p: plot(result, p, title))
    if args.history is not None:
        attempt("--history", args.history, lambda p: _write_history(p, result.history, args.dtype))
    if args.save is not None and result.diverged:
        console.print(f"[red]no model written[/] to {args.save}: training diverged")
    elif args.save is not None:
        import tempfile

        import nnbasics as nb

        options = {
            k: v
            for k, v in vars(args).items()
            if k not in ("func", "mesh")
            and isinstance(v, (str, int, float, bool, type(None), tuple))
        }
        meta = dict(
            library=nb.__version__,
            data=source,
            options=options,
            metrics=metrics,
            best_epoch=result.best_epoch,
            epochs_run=len(result.history["train_loss"]),
        )

        def save(path):
            features = source.get("features")  # None: a shipped set, by position
            nb.save_model(
                path,
                net,
                result.params,
                statistics[0],
                labels,
                meta=meta,
                features=features,
                target_standardizer=statistics[1],
            )

        try:
            save(args.save)
            if not args.quiet:
                console.print(f"model written to {args.save}")
        except OSError as e:
            kept = None
            try:  # keep the trained model where it can go
                fd, kept = tempfile.mkstemp(prefix="nnbasics-model-", suffix=".npz")
                os.close(fd)
                save(kept)
            except OSError:
                kept = None
            failed.append(str(write_failed("--save", args.save, e, kept)))
    return failed


def _write_history(path: str, history: dict, dtype: str = "float32") -> None:
    """Per-epoch metrics as CSV (a header, one row per epoch) or JSON (lists by name).

    Each number is written as the shortest text that reads back to it in the
    dtype the metrics were computed in (float32 but for ``--dtype float64``:
    at most 9 digits, never float64's 17 for a float32 value).
    """
    import json

    import numpy as np

    names = list(history)
    np_dtype = np.float64 if dtype == "float64" else np.float32
    rows = np.column_stack([np.asarray(history[k], np_dtype) for k in names])
    if path.lower().endswith(".json"):
        with _files.atomic_open(path, "w") as f:
            json.dump(
                {
                    "epoch": list(range(len(rows))),
                    **{
                        k: [float(str(v)) if np.isfinite(v) else None for v in rows[:, i]]
                        for i, k in enumerate(names)
                    },
                },
                f,
                indent=1,
            )
        return
    with _files.atomic_open(path, "w") as f:
        f.write(",".join(["epoch"] + names) + "\n")
        for epoch, row in enumerate(rows):
            f.write(",".join([str(epoch)] + [str(v) for v in row]) + "\n")
