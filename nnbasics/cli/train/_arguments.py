"""``nnbasics train``'s options: the parser, the defaults, and the output paths checked before any work."""

from __future__ import annotations

import importlib.util
import os

from nnbasics import distributed, optim
from nnbasics.activations import HIDDEN
from nnbasics.cli._common import (
    DefaultsFormatter,
    UsageError,
    add_cache_option,
    add_header_option,
    check_output_file,
    non_negative_float,
    non_negative_int,
    patience_value,
    positive_float,
    positive_int,
    unit_interval,
    widths,
)
from nnbasics.cli._recipes import Given
from nnbasics.losses import OUTPUT
from nnbasics.train import MONITORS

HIDDEN_UNITS = tuple(HIDDEN)
OUTPUT_UNITS = tuple(OUTPUT)
OPTIMIZERS = optim.names()
SCHEDULES = ("constant", "inverse_time", "power")
# The learning rate used when --lr is not given.
DEFAULT_LR = {name: spec.default_lr for name, spec in optim.REGISTRY.items()}


def add_parser(sub):
    """Adds ``train`` and its options to the subcommands ``sub``; returns its parser."""
    from nnbasics import data

    tr = sub.add_parser(
        "train",
        help="train an MLP on a data set (default: digits, >= 97%% test accuracy)",
        description="Load a data set, split it (stratified for classes), standardize the "
        "features on the training split, train an MLP with nb.fit and early "
        "stopping on the validation split, and print train/valid/test metrics.",
        formatter_class=DefaultsFormatter,
    )
    g = tr.add_argument_group("data")
    g.add_argument(
        "--dataset",
        default=None,
        choices=data.names(),
        metavar="NAME",
        help="one of: " + ", ".join(data.names()) + " (default: digits)",
    )
    g.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="train on your own data instead: a .csv/.tsv/.txt table (header or "
        "not), an .npz with arrays X and y, or NAME.npy with NAME.y.npy",
    )
    g.add_argument(
        "--target",
        default=None,
        metavar="COLUMN",
        help="--data's target column, by header name or index (default: the last)",
    )
    g.add_argument(
        "--task",
        default=None,
        choices=("classification", "regression"),
        help="--data's task (default: inferred: string or few integer labels are "
        "classes, anything else regression)",
    )
    g.add_argument(
        "--drop-missing",
        action="store_true",
        help="--data: drop the rows holding a missing value (an empty cell, NA, nan, "
        "null, none, ?) instead of refusing the file; a note says how many and which lines",
    )
    add_header_option(g)
    g.add_argument(
        "--valid",
        action=Given,
        type=unit_interval,
        default=0.15,
        help="fraction held out for validation / early stopping (0: none)",
    )
    g.add_argument(
        "--test",
        type=unit_interval,
        default=None,
        help="fraction held out for the test metrics (0: none; default 0.15); a set "
        "with a test split of its own (mnist1d) is tested on that and takes "
        "no --test, its validation split then comes out of its train split",
    )
    g.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the split, the initialization and the minibatch order (and of "
        "a synthetic set's data, but for mnist1d: always the paper's)",
    )
    g = tr.add_argument_group("model")
    g.add_argument(
        "--hidden-sizes",
        action=Given,
        type=widths,
        default=(256,),
        metavar="W[,W...]",
        help="hidden layer widths, e.g. 256 or 256,128; 'none' for no hidden "
        "layer (softmax/logistic regression); input and output widths "
        "come from the data",
    )
    g.add_argument(
        "--hidden", action=Given, default="relu", choices=HIDDEN_UNITS, help="hidden unit"
    )
    g.add_argument(
        "--output",
        default=None,
        choices=OUTPUT_UNITS,
        help="output unit (default: the data set's, softmax for classes; sigmoid "
        "(multi-label) trains on the one-hot class labels, or on --data's 0/1 "
        "target columns)",
    )
    g.add_argument("--pieces", type=positive_int, default=2, help="pieces per maxout unit")
    g.add_argument(
        "--components", type=positive_int, default=3, help="components of a mixture output"
    )
    g.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "float64", "bfloat16", "float16"),
        help="parameter and data dtype (float64 enables jax_enable_x64); bfloat16 "
        "and float16 train in mixed precision: forward and backward passes "
        "in that dtype, float32 master weights and optimizer state",
    )
    g = tr.add_argument_group("optimizer")
    g.add_argument(
        "--optimizer", action=Given, default="adam", choices=OPTIMIZERS, help="update rule"
    )
    g.add_argument(
        "--lr",
        action=Given,
        type=positive_float,
        default=None,
        help="learning rate (default: "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
        + ")",
    )
    g.add_argument(
        "--beta",
        type=unit_interval,
        default=0.9,
        help="momentum/nesterov beta; rmsprop's decay rho",
    )
    g.add_argument(
        "--b1",
        type=unit_interval,
        default=0.9,
        help="first-moment decay of the Adam family (adam, adamw, nadam, amsgrad)",
    )
    g.add_argument(
        "--b2", type=unit_interval, default=0.999, help="second-moment decay of the Adam family"
    )
    g.add_argument(
        "--eps",
        type=non_negative_float,
        default=None,
        help="epsilon of adagrad, rmsprop and the Adam family (default: the optimizer's, as optax)",
    )
    g.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=None,
        help="weight decay (coupled L2 for all but adamw, decoupled for adamw; "
        "default 0, adamw 1e-4)",
    )
    g.add_argument(
        "--schedule",
        default="constant",
        choices=SCHEDULES,
        help="learning-rate schedule over updates t: constant; inverse_time "
        "lr/(1+decay*max(t-hold,0)); power lr/(1+max(t-hold,0))^exponent",
    )
    g.add_argument(
        "--decay", type=non_negative_float, default=1e-3, help="inverse_time decay constant"
    )
    g.add_argument(
        "--exponent",
        type=non_negative_float,
        default=0.75,
        help="power schedule exponent (0.5 < exponent <= 1 for SGD convergence)",
    )
    g.add_argument(
        "--hold",
        type=non_negative_int,
        default=0,
        help="updates at the constant initial rate before the decay starts",
    )
    g = tr.add_argument_group("training")
    g.add_argument("--epochs", action=Given, type=positive_int, default=100, help="maximum epochs")
    g.add_argument(
        "--batch-size",
        action=Given,
        type=positive_int,
        default=32,
        help="minibatch size (1..number of training examples)",
    )
    g.add_argument(
        "--l2",
        action=Given,
        type=non_negative_float,
        default=1e-3,
        help="L2 penalty (l2/2)*sum ||W||^2 on the weights",
    )
    g.add_argument(
        "--l1", type=non_negative_float, default=0.0, help="L1 penalty l1*sum |W| on the weights"
    )
    g.add_argument(
        "--patience",
        action=Given,
        type=patience_value,
        default=20,
        help="stop after this many epochs without an improvement of --monitor "
        "('none': never stop early)",
    )
    g.add_argument(
        "--monitor",
        action=Given,
        default="valid_loss",
        choices=MONITORS,
        help="what early stopping and the kept (best) parameters follow: the "
        "validation loss, or the validation accuracy (classification outputs)",
    )
    g.add_argument(
        "--min-delta",
        type=non_negative_float,
        default=0.0,
        help="smallest improvement of --monitor that counts as one",
    )
    g.add_argument(
        "--grad",
        default="manual",
        choices=("manual", "auto"),
        help="hand-written backprop or jax.grad",
    )
    g = tr.add_argument_group("output")
    g.add_argument(
        "--checkpoint-dir",
        default=None,
        metavar="DIR",
        help="save the training state there after every epoch",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint-dir, if there is one "
        "(it must come from the same settings and data)",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing checkpoint in --checkpoint-dir and existing --save, "
        "--history and --plot files (without it they are refused before training)",
    )
    g.add_argument(
        "--save",
        default=None,
        metavar="MODEL.npz",
        help="write the trained model (network, parameters, standardization, class "
        "names, how it was trained) for 'nnbasics predict'",
    )
    g.add_argument(
        "--history",
        default=None,
        metavar="FILE.csv|.json",
        help="write the per-epoch metrics (epochs numbered from 0)",
    )
    g.add_argument(
        "--plot",
        default=None,
        metavar="PATH.png",
        help="write learning curves (needs matplotlib: pip install nnbasics[plots])",
    )
    g.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or header; print only the results table",
    )
    add_cache_option(g)
    distributed.add_arguments(tr)
    tr.set_defaults(given=frozenset())
    return tr


def _check_output_path(option: str, path: str, formats, overwrite: bool = False) -> None:
    """A file to write after training: checked now, so a typo costs no training."""
    check_output_file(option, path, overwrite)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in formats:
        raise UsageError(
            f"{option}: expected a file ending in "
            + ", ".join("." + f for f in sorted(formats))
            + f", received {path!r}"
        )


def _check_output_paths(args) -> None:
    if args.plot is not None:
        if importlib.util.find_spec("matplotlib") is None:
            raise UsageError(
                "--plot needs matplotlib, which is not installed: pip install 'nnbasics[plots]'"
            )
        from matplotlib.backend_bases import FigureCanvasBase

        _check_output_path(
            "--plot", args.plot, FigureCanvasBase.get_supported_filetypes(), args.overwrite
        )
    if args.history is not None:
        _check_output_path("--history", args.history, ("csv", "json"), args.overwrite)
    if args.save is not None:
        _check_output_path("--save", args.save, ("npz",), args.overwrite)
