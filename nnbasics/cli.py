"""The ``nnbasics`` command: ``train``, ``gradcheck`` and ``bench``.

    nnbasics train                       # digits, 64-256-10 relu/softmax, Adam: >= 97 % test accuracy
    nnbasics train --dataset iris --hidden-sizes 16 --epochs 50 --plot curves.png
    nnbasics gradcheck --hidden relu,tanh --output softmax
    nnbasics bench --help                # forwarded to nnbasics.bench

Every bad argument, and every ``ValueError`` the library raises for a bad
option value, ends the command with one line on stderr,
``nnbasics: error: <message>``, and exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import time
import warnings
from typing import Callable, Sequence

from nnbasics import optim
from nnbasics.activations import HIDDEN
from nnbasics.losses import OUTPUT

PROG = "nnbasics"

HIDDEN_UNITS = tuple(HIDDEN)
OUTPUT_UNITS = tuple(OUTPUT)
OPTIMIZERS = optim.names()
SCHEDULES = ("constant", "inverse_time", "power")
# The learning rate used when --lr is not given.
DEFAULT_LR = {name: spec.default_lr for name, spec in optim.REGISTRY.items()}
GRADCHECK_SETS = ("iris", "wine", "breast_cancer", "digits")


class UsageError(Exception):
    """A bad command line; its message becomes ``nnbasics: error: <message>``."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors raise instead of printing the usage and exiting."""

    def error(self, message):  # noqa: D401 - argparse's signature
        raise UsageError(message)


# --------------------------------------------------------------------------
# Argument types: each rejects a bad value with a message naming it


def _number(text: str, kind, test: Callable, expected: str):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value) or not test(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: v >= 0, "a non-negative number")


def unit_interval(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def patience_value(text: str):
    if text.lower() in ("none", "off"):
        return None
    return _number(text, int, lambda v: v >= 0, "a non-negative integer or 'none'")


def widths(text: str) -> tuple[int, ...]:
    """``"128"`` or ``"128,64"`` (hidden widths); ``"none"`` or ``""``: no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths such as 128 or 128,64 (or 'none'), "
            f"received {text!r}")
    return sizes


def _choices(allowed: Sequence[str]):
    """A comma-separated subset of ``allowed`` (for gradcheck's --hidden/--output)."""

    def parse(text: str) -> tuple[str, ...]:
        picked = tuple(s.strip() for s in text.split(",") if s.strip())
        bad = [s for s in picked if s not in allowed]
        if not picked or bad:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {', '.join(allowed)}, received {text!r}")
        return picked

    return parse


# --------------------------------------------------------------------------
# The parser


def build_parser() -> argparse.ArgumentParser:
    from nnbasics import data

    parser = _Parser(prog=PROG, description=(
        "nnbasics: neural-network basics in JAX with hand-written gradients and optimizers."))
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{train,gradcheck,bench}")

    # -- train
    tr = sub.add_parser(
        "train", help="train an MLP on a data set (default: digits, >= 97%% test accuracy)",
        description="Load a data set, split it (stratified for classes), standardize the "
                    "features on the training split, train an MLP with nb.fit and early "
                    "stopping on the validation split, and print train/valid/test metrics.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = tr.add_argument_group("data")
    g.add_argument("--dataset", default="digits", choices=data.names(), metavar="NAME",
                   help="one of: " + ", ".join(data.names()))
    g.add_argument("--valid", type=unit_interval, default=0.15,
                   help="fraction held out for validation / early stopping (0: none)")
    g.add_argument("--test", type=unit_interval, default=None,
                   help="fraction held out for the test metrics (0: none; default 0.15); a set "
                        "with a test split of its own (mnist1d) is tested on that and takes "
                        "no --test, its validation split then comes out of its train split")
    g.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the split, the initialization and the minibatch order (and of "
                        "a synthetic set's data, but for mnist1d: always the paper's)")
    g = tr.add_argument_group("model")
    g.add_argument("--hidden-sizes", type=widths, default=(256,), metavar="W[,W...]",
                   help="hidden layer widths, e.g. 256 or 256,128; 'none' for no hidden "
                        "layer (softmax/logistic regression); input and output widths "
                        "come from the data")
    g.add_argument("--hidden", default="relu", choices=HIDDEN_UNITS, help="hidden unit")
    g.add_argument("--output", default=None, choices=OUTPUT_UNITS,
                   help="output unit (default: the data set's, softmax for classes; sigmoid "
                        "trains on the one-hot labels)")
    g.add_argument("--pieces", type=positive_int, default=2, help="pieces per maxout unit")
    g.add_argument("--components", type=positive_int, default=3,
                   help="components of a mixture output")
    g.add_argument("--dtype", default="float32",
                   choices=("float32", "float64", "bfloat16", "float16"),
                   help="parameter and data dtype (float64 enables jax_enable_x64); bfloat16 "
                        "and float16 train in mixed precision: forward and backward passes "
                        "in that dtype, float32 master weights and optimizer state")
    g = tr.add_argument_group("optimizer")
    g.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="update rule")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: " + ", ".join(
                       f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    g.add_argument("--beta", type=unit_interval, default=0.9,
                   help="momentum/nesterov beta; rmsprop's decay rho")
    g.add_argument("--b1", type=unit_interval, default=0.9,
                   help="first-moment decay of the Adam family (adam, adamw, nadam, amsgrad)")
    g.add_argument("--b2", type=unit_interval, default=0.999,
                   help="second-moment decay of the Adam family")
    g.add_argument("--eps", type=non_negative_float, default=None,
                   help="epsilon of adagrad, rmsprop and the Adam family (default: the "
                        "optimizer's, as optax)")
    g.add_argument("--weight-decay", type=non_negative_float, default=None,
                   help="weight decay (coupled L2 for all but adamw, decoupled for adamw; "
                        "default 0, adamw 1e-4)")
    g.add_argument("--schedule", default="constant", choices=SCHEDULES,
                   help="learning-rate schedule over updates t: constant; inverse_time "
                        "lr/(1+decay*max(t-hold,0)); power lr/(1+max(t-hold,0))^exponent")
    g.add_argument("--decay", type=non_negative_float, default=1e-3,
                   help="inverse_time decay constant")
    g.add_argument("--exponent", type=non_negative_float, default=0.75,
                   help="power schedule exponent (0.5 < exponent <= 1 for SGD convergence)")
    g.add_argument("--hold", type=non_negative_int, default=0,
                   help="updates at the constant initial rate before the decay starts")
    g = tr.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=100, help="maximum epochs")
    g.add_argument("--batch-size", type=positive_int, default=32,
                   help="minibatch size (1..number of training examples)")
    g.add_argument("--l2", type=non_negative_float, default=1e-3,
                   help="L2 penalty (l2/2)*sum ||W||^2 on the weights")
    g.add_argument("--l1", type=non_negative_float, default=0.0,
                   help="L1 penalty l1*sum |W| on the weights")
    g.add_argument("--patience", type=patience_value, default=20,
                   help="stop after this many epochs without a validation-loss improvement "
                        "('none': never stop early)")
    g.add_argument("--min-delta", type=non_negative_float, default=0.0,
                   help="smallest decrease of the validation loss that counts as one")
    g.add_argument("--grad", default="manual", choices=("manual", "auto"),
                   help="hand-written backprop or jax.grad")
    g = tr.add_argument_group("output")
    g.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                   help="save the training state there after every epoch")
    g.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --checkpoint-dir, if there is one")
    g.add_argument("--plot", default=None, metavar="PATH.png",
                   help="write learning curves (needs matplotlib: pip install nnbasics[plots])")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar or header; print only the results table")
    _add_cache_option(g)
    tr.set_defaults(func=cmd_train)

    # -- gradcheck
    gc = sub.add_parser(
        "gradcheck", help="hand-written gradients vs jax.grad and finite differences",
        description="For every hidden unit x output unit, compare net.backprop with "
                    "jax.grad(net.loss) and with central finite differences in float64 on a "
                    "small subset of a real data set. Exit status 0 if every row passes, "
                    "1 otherwise.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    gc.add_argument("--dataset", default="iris", choices=GRADCHECK_SETS,
                    help="a data set shipped with scikit-learn; classification outputs use its "
                         "labels (sigmoid: one-hot), real-valued outputs predict its last two "
                         "standardized features from the others")
    gc.add_argument("--seed", type=non_negative_int, default=0,
                    help="seed of the subset and of the parameters")
    gc.add_argument("--hidden", type=_choices(HIDDEN_UNITS), default=HIDDEN_UNITS,
                    metavar="UNIT[,UNIT...]", help="hidden units to check: "
                    + ", ".join(HIDDEN_UNITS))
    gc.add_argument("--output", type=_choices(OUTPUT_UNITS), default=OUTPUT_UNITS,
                    metavar="UNIT[,UNIT...]", help="output units to check: "
                    + ", ".join(OUTPUT_UNITS))
    gc.add_argument("--examples", type=positive_int, default=32,
                    help="size of the random subset")
    gc.add_argument("--width", type=positive_int, default=8, help="hidden layer width")
    _add_cache_option(gc)
    gc.set_defaults(func=cmd_gradcheck)

    # -- bench: its arguments are parsed by nnbasics.bench.main (see main()).
    sub.add_parser("bench", add_help=False,
                   help="benchmarks (arguments forwarded to nnbasics.bench; see "
                        "'nnbasics bench --help')")
    return parser


def _add_cache_option(group) -> None:
    from nnbasics.compilation import default_cache_dir

    group.add_argument("--no-compile-cache", action="store_true",
                       help="do not use JAX's persistent compilation cache (default: on, in "
                            f"{default_cache_dir()}; set JAX_COMPILATION_CACHE_DIR to move it)")


# --------------------------------------------------------------------------
# Entry point


def _fail(message: str) -> int:
    line = " ".join(str(message).split()) or "invalid arguments"
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return 2


_CACHE_ERROR = "persistent compilation cache"
_shown_cache_error = False


def _show_warning(message, category, filename, lineno, file=None, line=None):
    global _shown_cache_error
    text = " ".join(str(message).split())
    if _CACHE_ERROR in text:
        # JAX warns once per unreadable entry; one line says it all.
        if _shown_cache_error:
            return
        _shown_cache_error = True
        text += (" (each such program is compiled instead; delete the cache directory "
                 "or pass --no-compile-cache)")
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            if argv and argv[0] == "bench":
                return _bench(argv[1:])
            try:
                args = build_parser().parse_args(argv)
            except SystemExit as e:  # --help
                return e.code if isinstance(e.code, int) else 0
            if args.version:
                from nnbasics import __version__

                print(f"{PROG} {__version__}")
                return 0
            if args.command is None:
                raise UsageError("a command is required: train, gradcheck or bench "
                                 f"(see '{PROG} --help')")
            if not args.no_compile_cache:
                from nnbasics.compilation import enable_compilation_cache

                enable_compilation_cache()
            return args.func(args)
        except UsageError as e:
            return _fail(e)
        except ValueError as e:
            return _fail(e)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


def _bench(argv: list[str]) -> int:
    try:
        bench = importlib.import_module("nnbasics.bench")
    except ModuleNotFoundError as e:
        if e.name not in ("nnbasics.bench",):
            raise UsageError(f"bench needs the optional dependency {e.name!r}: "
                             "pip install 'nnbasics[bench]'") from None
        raise UsageError("bench is not available: the module nnbasics.bench is missing "
                         "from this installation") from None
    try:
        code = bench.main(argv)
    except SystemExit as e:
        code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return _fail(code)


# --------------------------------------------------------------------------
# train


def _targets(info, output: str, y):
    """The data set's targets in the form the output unit trains on."""
    import numpy as np

    if info.kind == "classification":
        if output == "softmax":
            return y
        if output == "sigmoid":
            return np.eye(info.n_classes, dtype=np.float32)[y]
        raise UsageError(f"--output {output} needs a regression data set; {info.kind} sets "
                         "train with softmax or sigmoid")
    if output in ("softmax", "sigmoid"):
        raise UsageError(f"--output {output} needs a classification data set; this one is "
                         "regression (use linear, gaussian or mixture)")
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
    given = {"beta": args.beta, "decay": args.beta, "b1": args.b1, "b2": args.b2,
             "eps": args.eps, "weight_decay": args.weight_decay}
    takes = optim.REGISTRY[args.optimizer].numeric
    kwargs = {k: v for k, v in given.items() if k in takes and v is not None}
    return optim.get(args.optimizer, learning_rate=rate, **kwargs), lr


def _check_plot_path(path: str) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib, which is not installed: "
                         "pip install 'nnbasics[plots]'")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"--plot: expected a path in an existing directory, received {path!r}")


def cmd_train(args) -> int:

    if args.resume and args.checkpoint_dir is None:
        raise UsageError("--resume needs --checkpoint-dir")
    if args.plot is not None:
        _check_plot_path(args.plot)
    if args.dtype == "float64":
        import jax

        previous = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)
        try:
            return _train(args)
        finally:
            jax.config.update("jax_enable_x64", previous)
    return _train(args)


def _train(args) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from rich.console import Console

    import nnbasics as nb
    from nnbasics import data

    console = _console()
    info = data.info(args.dataset)
    output = args.output or info.output
    classes = info.kind == "classification"
    k_split, k_init, k_fit = _keys(args.seed)
    train, valid, test = _splits(args, info, output, k_split)
    _, train, valid, test = data.standardize(train, valid, test)
    has_valid, has_test = args.valid > 0, test[0].shape[0] > 0
    n_train = int(train[0].shape[0])
    if args.batch_size > n_train:
        raise UsageError(f"--batch-size: expected at most the {n_train} training examples, "
                         f"received {args.batch_size}")
    if args.patience is not None and not has_valid:
        raise UsageError("--patience needs a validation split (--valid > 0); "
                         "use --patience none with --valid 0")

    d_out = info.n_classes if classes else info.n_outputs
    net = nb.MLP((info.n_features, *args.hidden_sizes, d_out), hidden=args.hidden,
                 output=output, pieces=args.pieces, components=args.components)
    dtype = jnp.float64 if args.dtype == "float64" else jnp.float32
    params = net.init(k_init, dtype)
    optimizer, lr = _optimizer(args)
    n_params = sum(int(np.size(p)) for p in jax.tree.leaves(params))

    if not args.quiet:
        console.print(
            f"[bold]{args.dataset}[/]: {n_train} train / {int(valid[0].shape[0])} valid / "
            f"{int(test[0].shape[0])} test examples, {info.n_features} features\n"
            f"[bold]MLP[/] {'-'.join(map(str, net.sizes))} {net.hidden}/{net.output} "
            f"({n_params} parameters), [bold]{args.optimizer}[/] lr {lr:g} ({args.schedule}), "
            f"batch {args.batch_size}, grad {args.grad}")

    fit_kw = dict(epochs=args.epochs, batch_size=args.batch_size, key=k_fit,
                  valid=valid if has_valid else None, patience=args.patience,
                  min_delta=args.min_delta, l2=args.l2, l1=args.l1, grad=args.grad,
                  checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                  compute_dtype=args.dtype if args.dtype in ("bfloat16", "float16") else None)
    start = time.perf_counter()
    if args.quiet:
        result = nb.fit(net, params, optimizer, train, **fit_kw)
    else:
        result = _fit_with_progress(nb, net, params, optimizer, train, fit_kw, has_valid,
                                    classes)
    seconds = time.perf_counter() - start

    table = _results_table(nb, net, result, train, valid if has_valid else None,
                           test if has_test else None, seconds)
    console.print(table)
    if result.diverged:
        console.print("[red]training diverged[/]: the last finite parameters were kept "
                      "(try a smaller --lr)")
    if args.plot is not None:
        _plot(result, args.plot, f"{args.dataset}: MLP {'-'.join(map(str, net.sizes))} "
                                  f"{net.hidden}/{net.output}, {args.optimizer}")
        if not args.quiet:
            console.print(f"learning curves written to {args.plot}")
    return 0


def _splits(args, info, output: str, key):
    """(train, valid, test), each (X, y) as NumPy arrays, of ``args.dataset``.

    A set with a test split of its own (``info.n_test``) keeps it as the test
    split, and valid comes out of its train split; any other set is shuffled
    and cut into the three (stratified for classes).
    """
    from nnbasics import data

    stratify = info.kind == "classification"
    if info.n_test is None:
        X, y = data.load(args.dataset, seed=args.seed)
        test = 0.15 if args.test is None else args.test
        return data.split(key, X, _targets(info, output, y), valid=args.valid, test=test,
                          stratify=stratify)
    if args.test is not None:
        raise UsageError(f"--test: expected no value for {args.dataset}, which has its own "
                         f"test split of {info.n_test} examples, received {args.test:g}")
    X, y = data.load(args.dataset, split="train")
    train, valid, _ = data.split(key, X, _targets(info, output, y), valid=args.valid, test=0.0,
                                 stratify=stratify)
    X_test, y_test = data.load(args.dataset, split="test")
    return train, valid, (X_test, _targets(info, output, y_test))


def _keys(seed: int):
    """The split, init and fit keys of ``seed``, derived in one compiled program."""
    import jax

    return jax.jit(lambda s: tuple(jax.random.split(jax.random.key(s), 3)))(seed)


def _console():
    from rich.console import Console

    # Off a terminal (pipes, tests) rich would wrap tables at 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=120, highlight=False)


def _fit_with_progress(nb, net, params, optimizer, train, fit_kw, has_valid, classes):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]epoch[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[metrics]}"),
        console=_progress_console(), transient=False)
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


def _progress_console():
    from rich.console import Console

    # The bar goes to stderr, so that stdout carries only the results table.
    return Console(stderr=True)


def _fmt(x: float, percent: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.2%}" if percent else f"{x:.4f}"


def _results_table(nb, net, result, train, valid, test, seconds):
    from rich.table import Table

    table = Table(title="results", title_justify="left")
    table.add_column("split")
    table.add_column("examples", justify="right")
    table.add_column("loss (NLL)", justify="right")
    table.add_column("accuracy", justify="right")
    splits = [(name, pair) for name, pair in (("train", train), ("valid", valid), ("test", test))
              if pair is not None and pair[0].shape[0] > 0]
    values = nb.train.evaluate(net, result.params, *(pair for _, pair in splits))
    for (name, (X, _)), (loss, acc) in zip(splits, values):
        table.add_row(name, str(X.shape[0]), _fmt(float(loss)), _fmt(float(acc), True))
    epochs = len(result.history["train_loss"])
    why = ("diverged" if result.diverged else "early stop" if result.stopped_early
           else "epoch limit")
    table.caption = (f"best epoch {result.best_epoch + 1} of {epochs} ({why}), "
                     f"{seconds:.1f} s")
    table.caption_justify = "left"
    return table


def _plot(result, path: str, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import numpy as np

    h = result.history
    epochs = np.arange(1, len(h["train_loss"]) + 1)
    has_acc = "valid_accuracy" in h and np.any(np.isfinite(h["valid_accuracy"]))
    fig = Figure(figsize=(10 if has_acc else 6, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2 if has_acc else 1, 1)
    ax.plot(epochs, h["train_loss"], label="train loss (with penalty)")
    if "valid_loss" in h:
        ax.plot(epochs, h["valid_loss"], label="valid loss")
    ax.axvline(result.best_epoch + 1, color="gray", linestyle=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean NLL")
    ax.set_yscale("log" if np.all(np.asarray(h["train_loss"]) > 0) else "linear")
    ax.legend()
    if has_acc:
        ax2 = fig.add_subplot(1, 2, 2)
        ax2.plot(epochs, h["valid_accuracy"], color="C2")
        ax2.axvline(result.best_epoch + 1, color="gray", linestyle=":")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("valid accuracy")
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------
# gradcheck

GRADCHECK_L2 = 1e-3
GRADCHECK_L1 = 1e-3
FD_EPS = 1e-5          # central-difference step
FD_TINY = 1e-3         # rel_error floor for finite differences (see gradcheck --help)
AUTO_TOL = 1e-10       # manual vs jax.grad
FD_TOL = 1e-6          # manual vs finite differences
# XLA options for a program run once (see _run_once): no LLVM optimization, and
# the direct LLVM IR emitters rather than the MLIR fusion emitters (a quarter
# less compile time for the gradient check).
_QUICK_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True,
                  "xla_cpu_use_fusion_emitters": False}


def cmd_gradcheck(args) -> int:
    import jax

    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        return _gradcheck(args)
    finally:
        jax.config.update("jax_enable_x64", previous)


def _gradcheck_data(name: str, seed: int, n: int):
    """(X, labels): a random subset of ``n`` examples, X (n, d) float64 as shipped, labels (n,).

    NumPy arrays; standardization happens inside the compiled check (:func:`_gradcheck_all`).
    """
    import numpy as np

    from nnbasics import data

    size = data.info(name).n_default
    if n > size:
        raise UsageError(f"--examples: expected at most {size} for {name!r}, received {n}")
    X, labels = data.load(name, seed=seed, n=n)
    return np.asarray(X, np.float64), np.asarray(labels)


def _gradcheck_problem(output: str, X, labels, n_classes: int):
    """(inputs, targets) that output unit ``output`` is checked on, from X (n, d) and labels (n,).

    softmax: (X, labels); sigmoid: (X, one-hot labels (n, n_classes)); the real-valued
    units predict the last two features from the others: (X[:, :-2], X[:, -2:]).
    Works on NumPy arrays and on traced JAX arrays alike.
    """
    import numpy as np

    if output == "softmax":
        return X, labels
    if output == "sigmoid":
        return X, (labels[:, None] == np.arange(n_classes)).astype(X.dtype)
    return X[:, :-2], X[:, -2:]


def _gradcheck_nets(args, X, labels, n_classes: int) -> list:
    """The d_in-width-d network of every (hidden, output) pair of ``args``, hidden-major."""
    import nnbasics as nb

    nets = []
    for hidden in args.hidden:
        for output in args.output:
            Xi, y = _gradcheck_problem(output, X, labels, n_classes)
            d = n_classes if output == "softmax" else y.shape[1]
            nets.append(nb.MLP((Xi.shape[1], args.width, d), hidden=hidden, output=output))
    return nets


def _gradcheck_biases(net, seed: int) -> list:
    """b ~ 0.1·N(0, 1) per layer (NumPy, one generator per net from ``seed``).

    Nonzero biases, so that their gradients are checked away from the init's zeros.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    return [0.1 * rng.standard_normal(b_shape) for _, b_shape in net.layer_shapes()]


def _gradcheck(args) -> int:
    import jax
    import numpy as np
    from rich.table import Table

    import nnbasics as nb
    from nnbasics import gradcheck

    console = _console()
    X, labels = _gradcheck_data(args.dataset, args.seed, args.examples)
    n_classes = nb.data.info(args.dataset).n_classes
    nets = _gradcheck_nets(args, X, labels, n_classes)
    table = Table(title=f"gradient check on {args.dataset} ({args.examples} examples, float64, "
                        f"l2 = {GRADCHECK_L2:g}, l1 = {GRADCHECK_L1:g})",
                  title_justify="left")
    for name, justify in (("hidden", "left"), ("output", "left"), ("sizes", "left"),
                          ("params", "right"), ("vs jax.grad", "right"),
                          ("vs finite diff", "right"), ("max |grad|", "right"),
                          ("note", "left"), ("", "center")):
        table.add_column(name, justify=justify)
    failures = 0
    start = time.perf_counter()
    results = _gradcheck_all(nets, args.seed, X, labels, n_classes)
    for net, (manual, auto, numeric, kink) in zip(nets, results):
        e_auto = gradcheck.rel_error(manual, auto)
        e_fd = gradcheck.rel_error(manual, numeric, tiny=FD_TINY)
        scale = max(float(np.max(np.abs(g))) for g in jax.tree.leaves(auto))
        note = ""
        ok_auto, ok_fd = e_auto <= AUTO_TOL, e_fd <= FD_TOL
        if net.hidden in ("relu", "maxout"):
            note = f"nearest kink {float(kink):.0e}"
            if not ok_fd and float(kink) < 10 * FD_EPS:
                note += " < step: differences cross it"
                ok_fd = True
        ok = ok_auto and ok_fd
        failures += not ok
        table.add_row(net.hidden, net.output, "-".join(map(str, net.sizes)),
                      str(sum(math.prod(w) + math.prod(b) for w, b in net.layer_shapes())),
                      _mark(f"{e_auto:.1e}", ok_auto), _mark(f"{e_fd:.1e}", ok_fd),
                      f"{scale:.1e}", note,
                      "[green]PASS[/]" if ok else "[bold red]FAIL[/]")
    table.caption = (f"relative errors |a-b| / max(|a|+|b|, tiny), max over all entries: "
                     f"vs jax.grad pass <= {AUTO_TOL:g} (tiny {gradcheck.TINY:g}); vs central "
                     f"differences (step {FD_EPS:g}) pass <= {FD_TOL:g} with tiny {FD_TINY:g}, "
                     f"i.e. entries below {FD_TINY:g} must agree to {FD_TOL * FD_TINY:g} "
                     f"absolutely, the rounding error of the differences. "
                     f"{time.perf_counter() - start:.1f} s")
    table.caption_justify = "left"
    console.print(table)
    rows = len(args.hidden) * len(args.output)
    console.print(f"{rows - failures} of {rows} passed" if failures
                  else f"all {rows} passed")
    return 1 if failures else 0


def _mark(text: str, ok: bool) -> str:
    return text if ok else f"[bold red]{text}[/]"


def _gradcheck_all(nets, seed: int, X, labels, n_classes: int) -> list:
    """[(backprop, jax.grad, central differences, nearest kink)] for every net, as NumPy.

    Everything between the NumPy data and the gradients is one compiled
    program: X standardized (``data.Standardizer``), each net's Glorot weights
    drawn from ``jax.random.key(seed)`` (as ``net.init``) with the biases of
    :func:`_gradcheck_biases`, its (inputs, targets) from :func:`_gradcheck_problem`,
    and :func:`_three_gradients`. XLA compile time, not arithmetic, is the cost
    of this command: one program saves the per-program overhead of one per
    net and the dozens of small eager programs (statistics, PRNG) around them.

    Args:
        nets: the networks (``MLP``), static.
        seed: the weights' PRNG seed.
        X: (n, d) float64 features as shipped; labels: (n,) int class labels.
        n_classes: number of classes.
    """
    import jax
    import jax.numpy as jnp

    from nnbasics import data

    def run(seed, X, labels, biases):
        X = data.transform(data.Standardizer.fit(X), X)
        key = jax.random.key(seed)
        results = []
        for net, net_biases in zip(nets, biases):
            params = [dict(W=layer["W"], b=b)
                      for layer, b in zip(net.init(key, jnp.float64), net_biases)]
            results.append(_three_gradients(net, params,
                                            *_gradcheck_problem(net.output, X, labels, n_classes)))
        return results

    return _run_once(run, seed, X, labels, [_gradcheck_biases(net, seed) for net in nets])


def _run_once(fn, *args):
    """``jax.device_get(jax.jit(fn)(*args))``, compiled with ``_QUICK_COMPILE``.

    A program run once is mostly compile time: the options of ``_QUICK_COMPILE``
    halve it and change no digit that the thresholds look at (float64, errors
    compared at 1e-10 and 1e-6).
    """
    import jax

    lowered = jax.jit(fn).lower(*args)
    try:
        compiled = lowered.compile(compiler_options=_QUICK_COMPILE)
    except Exception:  # an XLA without these options: compile as usual
        compiled = lowered.compile()
    return jax.device_get(compiled(*args))


def _three_gradients(net, params, X, y):
    """(backprop, jax.grad, central differences, distance to the nearest kink), traceable.

    The comparison of ``gradcheck.report(net.loss, net.backprop, params, X, y, l2, l1)``
    with l2 = GRADCHECK_L2, l1 = GRADCHECK_L1 and step FD_EPS, written to be traced
    into one larger program; see :func:`_nearest_kink` for the last entry.
    """
    import jax

    from nnbasics import gradcheck

    l2, l1 = GRADCHECK_L2, GRADCHECK_L1
    _, manual = net.backprop(params, X, y, l2, l1)
    auto = jax.grad(net.loss)(params, X, y, l2, l1)
    # One chunk unless a network has over 4096 parameters (--width in the
    # hundreds): f vmapped over all the +ε rows, then all the −ε rows.
    numeric = gradcheck.numerical_grad(lambda p: net.loss(p, X, y, l2, l1), params,
                                       eps=FD_EPS, batch_size=4096)
    return manual, auto, numeric, _nearest_kink(net, params, X)


def _nearest_kink(net, params, X):
    """Smallest distance of a hidden pre-activation to a kink of the unit, a scalar.

    maxout: min over examples and units of the gap between the two largest
    pieces; any other unit: min |a| (relu's kink is at 0; the table shows the
    number for relu and maxout only).
    """
    import jax
    import jax.numpy as jnp

    _, tapes = net.forward(params, X)
    kinks = []
    for tape in tapes[:-1]:
        if net.hidden == "maxout":
            top2 = jax.lax.top_k(tape.a, 2)[0]
            kinks.append(jnp.min(top2[..., 0] - top2[..., 1]))
        else:
            kinks.append(jnp.min(jnp.abs(tape.a)))
    return jnp.min(jnp.stack(kinks)) if kinks else jnp.inf
