"""``nnbasics train``'s run: outputs reserved, the optimizer built, nb.fit run with progress."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import time
import types
from typing import Any

from nnbasics import _files, distributed, optim
from nnbasics.cli._common import (
    UsageError,
    WriteError,
    float64,
    new_console,
    progress_console,
)
from nnbasics.cli._recipes import apply_recipe, describe
from nnbasics.cli._report import metrics_of, results_table, targets_caption
from nnbasics.cli.train._arguments import DEFAULT_LR, _check_output_paths
from nnbasics.cli.train._data import _keys, _source, _splits
from nnbasics.cli.train._outputs import _write_outputs
from nnbasics.losses import OUTPUT


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
