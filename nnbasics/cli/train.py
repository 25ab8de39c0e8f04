"""``nnbasics train``: load a data set, split, standardize, train with nb.fit, report.

nnbasics train                       # digits, 64-256-10 relu/softmax, Adam: >= 97 % test accuracy
nnbasics train --dataset iris --hidden-sizes 16 --epochs 50 --plot curves.png
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import os
import sys
import time
import types
from typing import Any

from nnbasics import _files, distributed, optim
from nnbasics.activations import HIDDEN
from nnbasics.cli._common import (
    DefaultsFormatter,
    UsageError,
    WriteError,
    add_cache_option,
    check_output_file,
    dropped_text,
    float64,
    new_console,
    non_negative_float,
    non_negative_int,
    patience_value,
    positive_float,
    positive_int,
    progress_console,
    unit_interval,
    widths,
    write_failed,
)
from nnbasics.cli._recipes import Given, apply_recipe, describe
from nnbasics.cli._report import metrics_of, plot, results_table, targets_caption
from nnbasics.losses import OUTPUT
from nnbasics.train import MONITORS

HIDDEN_UNITS = tuple(HIDDEN)
OUTPUT_UNITS = tuple(OUTPUT)
OPTIMIZERS = optim.names()
SCHEDULES = ("constant", "inverse_time", "power")
# The learning rate used when --lr is not given.
DEFAULT_LR = {name: spec.default_lr for name, spec in optim.REGISTRY.items()}


def add_parser(sub) -> None:
    """Adds ``train`` and its options to the subcommands ``sub``."""
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
    tr.set_defaults(func=run, given=frozenset())


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


def _optimizer(args):
    from nnbasics import schedules

    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    if args.schedule == "inverse_time":
        rate = schedules.inverse_time(lr, args.decay, hold=args.hold)
    elif args.schedule == "power":
        rate = schedules.power(lr, args.exponent, hold=args.hold)
    else:
        rate = lr
    # Each option reaches the optimizers that take it (--beta is rmsprop's decay too).
    given = {
        "beta": args.beta,
        "decay": args.beta,
        "b1": args.b1,
        "b2": args.b2,
        "eps": args.eps,
        "weight_decay": args.weight_decay,
    }
    takes = optim.REGISTRY[args.optimizer].numeric
    kwargs = {k: v for k, v in given.items() if k in takes and v is not None}
    return optim.get(args.optimizer, learning_rate=rate, **kwargs), lr


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


def run(args) -> int:
    """Runs ``nnbasics train`` with parsed ``args``; returns the exit status."""
    args.recipe = apply_recipe(args)
    if args.resume and args.checkpoint_dir is None:
        raise UsageError("--resume needs --checkpoint-dir")
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite: expected one of them, received both")
    if args.checkpoint_dir is not None and not (args.resume or args.overwrite):
        from nnbasics import checkpoint

        if checkpoint.exists(args.checkpoint_dir):
            raise UsageError(
                f"--checkpoint-dir: {args.checkpoint_dir!r} holds a checkpoint; "
                "pass --resume to continue it or --overwrite to replace it"
            )
    _check_output_paths(args)
    if args.resume:
        from nnbasics import checkpoint

        if not checkpoint.exists(args.checkpoint_dir):
            print(
                f"nnbasics: note: --resume: no checkpoint in {args.checkpoint_dir!r}; "
                "starting a fresh run there",
                file=sys.stderr,
            )
    # Before any other JAX call; then every process trains on a mesh over all devices.
    args.mesh = distributed.global_mesh() if distributed.from_args(args) else None
    with float64(args.dtype == "float64"), contextlib.ExitStack() as outputs:
        if distributed.is_writer():  # one run per output file, refused before any work
            for option in ("save", "history", "plot"):
                outputs.enter_context(_files.reserve(getattr(args, option), f"--{option}"))
        # One thread for compilations that overlap the main thread's work (see _train).
        background = outputs.enter_context(
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nnbasics-train")
        )
        return _train(args, background)


def _train(args, background: concurrent.futures.Executor) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import nnbasics as nb
    from nnbasics import data

    console = new_console()
    info, file = _source(args)
    output = args.output or info.output
    classes = info.kind == "classification"
    k_split, k_init, k_fit = _keys(args.seed)
    d_out = info.n_classes if classes else info.n_outputs
    net = nb.MLP(
        (info.n_features, *args.hidden_sizes, d_out),
        hidden=args.hidden,
        output=output,
        pieces=args.pieces,
        components=args.components,
    )
    dtype = jnp.float64 if args.dtype == "float64" else jnp.float32
    # Compilation overlaps here: the parameters do not depend on the split, so they
    # are drawn (their program compiled) on a thread while the data are split and
    # standardized; XLA compiles with the GIL released. The same values either way.
    drawn = background.submit(net.init, k_init, dtype)
    train, valid, test = _splits(args, info, output, k_split, file)
    stats, train, valid, test = data.standardize(train, valid, test)
    # Regression trains on (y − mean) / scale with the training split's
    # statistics, so the defaults (initialization, learning rate, L2) suit any
    # target scale; predictions and spreads are mapped back to target units.
    targets, raw_y = None, {"train": train[1], "valid": valid[1], "test": test[1]}
    if OUTPUT[output].target == "real":
        targets = data.Standardizer.fit(train[1])
        train, valid, test = ((X, data.transform(targets, y)) for X, y in (train, valid, test))
    if file is not None:
        labels = None if file.classes is None else list(file.classes)
        source = {
            "name": os.path.basename(file.path),
            "file": file.path,
            "sha256": file.sha256,
            "target": file.target_name,
            "features": list(file.feature_names),
        }
        if len(file.dropped_lines):
            source["dropped_rows"] = len(file.dropped_lines)
    else:
        labels = None if info.n_classes is None else [str(c) for c in range(info.n_classes)]
        source = {"name": args.dataset}
    has_valid, has_test = args.valid > 0, test[0].shape[0] > 0
    n_train = int(train[0].shape[0])
    if args.batch_size > n_train:
        raise UsageError(
            f"--batch-size: expected at most the {n_train} training examples, "
            f"received {args.batch_size}"
        )
    if args.patience is not None and not has_valid:
        raise UsageError(
            "--patience needs a validation split (--valid > 0); use --patience none with --valid 0"
        )

    params = drawn.result()
    optimizer, lr = _optimizer(args)
    n_params = sum(int(np.size(p)) for p in jax.tree.leaves(params))

    if not args.quiet:
        console.print(
            f"[bold]{source['name']}[/]: {n_train} train / {int(valid[0].shape[0])} valid / "
            f"{int(test[0].shape[0])} test examples, {info.n_features} features\n"
            f"[bold]MLP[/] {'-'.join(map(str, net.sizes))} {net.hidden}/{net.output} "
            f"({n_params} parameters), [bold]{args.optimizer}[/] lr {lr:g} ({args.schedule}), "
            f"batch {args.batch_size}, grad {args.grad}" + targets_caption(targets)
        )

    fit_kw: dict[str, Any] = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        key=k_fit,
        valid=valid if has_valid else None,
        patience=args.patience,
        min_delta=args.min_delta,
        l2=args.l2,
        l1=args.l1,
        grad=args.grad,
        checkpoint_dir=args.checkpoint_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        mesh=args.mesh,
        compute_dtype=args.dtype if args.dtype in ("bfloat16", "float16") else None,
        monitor=args.monitor,
    )
    splits = {
        "train": train,
        "valid": valid if has_valid else None,
        "test": test if has_test else None,
    }
    if args.mesh is None:
        # The final evaluation's program compiles on the thread while fit compiles
        # and runs: evaluated once on the initial parameters (same shapes and dtypes,
        # so the same program) and thrown away. A failure here shows in the real call.
        initial = types.SimpleNamespace(params=params)
        background.submit(metrics_of, nb, net, initial, splits, targets, raw_y)
    start = time.perf_counter()
    if args.quiet:
        result = nb.fit(net, params, optimizer, train, **fit_kw)
    else:
        result = _fit_with_progress(nb, net, params, optimizer, train, fit_kw, has_valid, classes)
    seconds = time.perf_counter() - start
    if result.resumed_from is not None:
        progress_console().print(
            f"resumed at epoch {result.resumed_from} of {args.epochs} from {args.checkpoint_dir}"
        )

    metrics = metrics_of(nb, net, result, splits, targets, raw_y)
    table = results_table(result, metrics, seconds, targets)
    if args.recipe:
        table.caption = f"{table.caption}; {describe(args.recipe)}"
    console.print(table)
    failed = _write_outputs(args, console, result, net, (stats, targets), labels, metrics, source)
    if failed:
        raise WriteError("; ".join(failed))
    if result.diverged:
        console.print("[red]training diverged[/] (see the warning above; try a smaller --lr)")
        return 1
    return 0


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
        with open(path, "w") as f:
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
    with open(path, "w") as f:
        f.write(",".join(["epoch"] + names) + "\n")
        for epoch, row in enumerate(rows):
            f.write(",".join([str(epoch)] + [str(v) for v in row]) + "\n")


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
    file = data.read(args.data, target=args.target, task=args.task, missing=missing)
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


def _fit_with_progress(nb, net, params, optimizer, train, fit_kw, has_valid, classes):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]epoch[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[metrics]}"),
        console=progress_console(),
        transient=False,
    )
    with progress:
        task = progress.add_task("train", total=fit_kw["epochs"], metrics="compiling...")

        def callback(epoch, m):
            text = f"train {m['train_loss']:.4f}"
            if has_valid:
                text += f"  valid {m['valid_loss']:.4f}"
                if classes:
                    text += f"  acc {m['valid_accuracy']:.2%}"
            progress.update(task, completed=epoch + 1, metrics=text)

        return nb.fit(net, params, optimizer, train, callback=callback, **fit_kw)
