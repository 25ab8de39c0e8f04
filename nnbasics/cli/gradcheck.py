"""``nnbasics gradcheck``: hand-written gradients vs jax.grad and finite differences.

nnbasics gradcheck --hidden relu,tanh --output softmax
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from nnbasics.activations import HIDDEN
from nnbasics.cli._common import (
    DefaultsFormatter,
    UsageError,
    add_cache_option,
    choices,
    float64,
    new_console,
    non_negative_int,
    positive_int,
)
from nnbasics.losses import OUTPUT

if TYPE_CHECKING:
    from rich.console import JustifyMethod

HIDDEN_UNITS = tuple(HIDDEN)
OUTPUT_UNITS = tuple(OUTPUT)
GRADCHECK_SETS = ("iris", "wine", "breast_cancer", "digits")
GRADCHECK_L2 = 1e-3
GRADCHECK_L1 = 1e-3


def add_parser(sub) -> None:
    """Adds ``gradcheck`` and its options to the subcommands ``sub``."""
    gc = sub.add_parser(
        "gradcheck",
        help="hand-written gradients vs jax.grad and finite differences",
        description="For every hidden unit x output unit, compare net.backprop with "
        "jax.grad(net.loss) and with central finite differences in float64 on a "
        "small subset of a real data set. Exit status 0 if every row passes, "
        "1 otherwise.",
        formatter_class=DefaultsFormatter,
    )
    gc.add_argument(
        "--dataset",
        default="iris",
        choices=GRADCHECK_SETS,
        help="a data set shipped with scikit-learn; classification outputs use its "
        "labels (sigmoid: one-hot), real-valued outputs predict its last two "
        "standardized features from the others",
    )
    gc.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the subset and of the parameters"
    )
    gc.add_argument(
        "--hidden",
        type=choices(HIDDEN_UNITS),
        default=HIDDEN_UNITS,
        metavar="UNIT[,UNIT...]",
        help="hidden units to check: " + ", ".join(HIDDEN_UNITS),
    )
    gc.add_argument(
        "--output",
        type=choices(OUTPUT_UNITS),
        default=OUTPUT_UNITS,
        metavar="UNIT[,UNIT...]",
        help="output units to check: " + ", ".join(OUTPUT_UNITS),
    )
    gc.add_argument("--examples", type=positive_int, default=32, help="size of the random subset")
    gc.add_argument("--width", type=positive_int, default=8, help="hidden layer width")
    add_cache_option(gc)
    gc.set_defaults(func=run)


FD_EPS = 1e-5  # central-difference step
FD_TINY = 1e-3  # rel_error floor for finite differences (see gradcheck --help)
AUTO_TOL = 1e-10  # manual vs jax.grad
FD_TOL = 1e-6  # manual vs finite differences
# XLA options for a program run once (see _run_once): no LLVM optimization, and
# the direct LLVM IR emitters rather than the MLIR fusion emitters (a quarter
# less compile time for the gradient check).
_QUICK_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
    "xla_cpu_use_fusion_emitters": False,
}


def run(args) -> int:
    """Runs ``nnbasics gradcheck`` with parsed ``args``; returns the exit status."""
    with float64():
        return _gradcheck(args)


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

    console = new_console()
    X, labels = _gradcheck_data(args.dataset, args.seed, args.examples)
    n_classes = nb.data.info(args.dataset).n_classes
    assert n_classes is not None  # every GRADCHECK_SETS entry is a classification set
    nets = _gradcheck_nets(args, X, labels, n_classes)
    table = Table(
        title=f"gradient check on {args.dataset} ({args.examples} examples, float64, "
        f"l2 = {GRADCHECK_L2:g}, l1 = {GRADCHECK_L1:g})",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("hidden", "left"),
        ("output", "left"),
        ("sizes", "left"),
        ("params", "right"),
        ("vs jax.grad", "right"),
        ("vs finite diff", "right"),
        ("max |grad|", "right"),
        ("note", "left"),
        ("", "center"),
    )
    for name, justify in columns:
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
        table.add_row(
            net.hidden,
            net.output,
            "-".join(map(str, net.sizes)),
            str(sum(math.prod(w) + math.prod(b) for w, b in net.layer_shapes())),
            _mark(f"{e_auto:.1e}", ok_auto),
            _mark(f"{e_fd:.1e}", ok_fd),
            f"{scale:.1e}",
            note,
            "[green]PASS[/]" if ok else "[bold red]FAIL[/]",
        )
    table.caption = (
        f"relative errors |a-b| / max(|a|+|b|, tiny), max over all entries: "
        f"vs jax.grad pass <= {AUTO_TOL:g} (tiny {gradcheck.TINY:g}); vs central "
        f"differences (step {FD_EPS:g}) pass <= {FD_TOL:g} with tiny {FD_TINY:g}, "
        f"i.e. entries below {FD_TINY:g} must agree to {FD_TOL * FD_TINY:g} "
        f"absolutely, the rounding error of the differences. "
        f"{time.perf_counter() - start:.1f} s"
    )
    table.caption_justify = "left"
    console.print(table)
    rows = len(args.hidden) * len(args.output)
    console.print(f"{rows - failures} of {rows} passed" if failures else f"all {rows} passed")
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
            params = [
                dict(W=layer["W"], b=b) for layer, b in zip(net.init(key, jnp.float64), net_biases)
            ]
            results.append(
                _three_gradients(net, params, *_gradcheck_problem(net.output, X, labels, n_classes))
            )
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
    numeric = gradcheck.numerical_grad(
        lambda p: net.loss(p, X, y, l2, l1), params, eps=FD_EPS, batch_size=4096
    )
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
