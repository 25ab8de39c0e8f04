"""What ``nnbasics train`` reports: the metrics of each split, the results table, curves.

Classification splits report the mean NLL and the accuracy. Regression splits,
trained on standardized targets, report the loss on that scale (what training
and early stopping see), the RMSE in target units and, for densities
(gaussian, mixture), the NLL in target units.
"""

from __future__ import annotations

import math
import os

from nnbasics import _files
from nnbasics.cli._common import fmt

__all__ = ["metrics_of", "plot", "results_table", "targets_caption"]


def metrics_of(nb, net, result, splits: dict, targets=None, raw_y=None) -> dict:
    """{split: {"examples", "loss", "accuracy"[, "rmse"]}} of the non-empty splits.

    Classes: mean NLL and accuracy. Regression (``targets``: the target
    statistics the network was trained on): "loss" is the mean loss on the
    standardized targets (early stopping's), "rmse" the root mean squared
    error of the predicted means in target units, against ``raw_y``; for
    gaussian and mixture outputs also "nll", the mean NLL in target units
    (the standardized one + Σⱼ log scaleⱼ, the change of variables).
    """
    import numpy as np

    present = {k: v for k, v in splits.items() if v is not None and v[0].shape[0] > 0}
    values = nb.train.evaluate(net, result.params, *present.values())
    out = {
        name: {
            "examples": int(pair[0].shape[0]),
            "loss": float(loss),
            "accuracy": None if math.isnan(float(acc)) else float(acc),
        }
        for (name, pair), (loss, acc) in zip(present.items(), values)
    }
    if targets is not None:
        assert raw_y is not None  # the raw targets come with their standardizer
        model = nb.Model(net, result.params, None, None, {}, target_standardizer=targets)
        log_scale = float(np.sum(np.log(np.asarray(targets.scale, np.float64))))
        for name, pair in present.items():
            mean = model.predict(pair[0])["mean"]
            y = np.asarray(raw_y[name], np.float64).reshape(mean.shape)
            out[name]["rmse"] = float(np.sqrt(np.mean((mean - y) ** 2)))
            if net.output != "linear":
                out[name]["nll"] = out[name]["loss"] + log_scale
    return out


def targets_caption(targets) -> str:
    """The header's note on standardized regression targets ('' for classes)."""
    if targets is None:
        return ""
    import numpy as np

    mean, scale = (np.asarray(a, np.float64).ravel() for a in targets)
    shown = ", ".join(f"{m:.4g} ± {s:.4g}" for m, s in zip(mean[:3], scale[:3]))
    more = f" (+{mean.size - 3} more)" if mean.size > 3 else ""
    return (
        f"\ntargets standardized on the training split ({shown}{more}): losses and "
        "early stopping on that scale, RMSE and predictions in target units"
    )


def results_table(result, metrics: dict, seconds: float, targets=None):
    from rich.table import Table

    table = Table(title="results", title_justify="left")
    table.add_column("split")
    table.add_column("examples", justify="right")
    if targets is None:
        table.add_column("loss (NLL)", justify="right")
        table.add_column("accuracy", justify="right")
    else:
        table.add_column("loss (standardized y)", justify="right")
        table.add_column("RMSE (target units)", justify="right")
        densities = any("nll" in m for m in metrics.values())
        if densities:
            table.add_column("NLL (target units)", justify="right")
    for name, m in metrics.items():
        if targets is None:
            last = [fmt(m["accuracy"] if m["accuracy"] is not None else math.nan, True)]
        else:
            last = [fmt(m["rmse"])] + ([fmt(m["nll"])] if densities else [])
        table.add_row(name, str(m["examples"]), fmt(m["loss"]), *last)
    epochs = len(result.history["train_loss"])
    why = "diverged" if result.diverged else "early stop" if result.stopped_early else "epoch limit"
    best = (
        f"best epoch {result.best_epoch} (numbered from 0)"
        if result.best_epoch >= 0
        else "no finite epoch"
    )
    table.caption = f"{best}, {epochs} epochs run ({why}), {seconds:.1f} s"
    table.caption_justify = "left"
    return table


def plot(result, path: str, title: str) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h = result.history
    epochs = np.arange(len(h["train_loss"]))  # numbered from 0, as everywhere
    has_acc = "valid_accuracy" in h and np.any(np.isfinite(h["valid_accuracy"]))
    fig = Figure(figsize=(10 if has_acc else 6, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2 if has_acc else 1, 1)
    ax.plot(epochs, h["train_loss"], label="train loss (with penalty)")
    if "valid_loss" in h:
        ax.plot(epochs, h["valid_loss"], label="valid loss")
    ax.axvline(result.best_epoch, color="gray", linestyle=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean NLL")
    ax.set_yscale("log" if np.all(np.asarray(h["train_loss"]) > 0) else "linear")
    ax.legend()
    if has_acc:
        ax2 = fig.add_subplot(1, 2, 2)
        ax2.plot(epochs, h["valid_accuracy"], color="C2")
        ax2.axvline(result.best_epoch, color="gray", linestyle=":")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("valid accuracy")
    fig.suptitle(title)
    # Written whole or not at all; the format from the name, as savefig(path) would.
    fmt = os.path.splitext(path)[1][1:].lower() or None
    with _files.atomic_open(path, "wb") as f:
        fig.savefig(f, dpi=100, format=fmt)
