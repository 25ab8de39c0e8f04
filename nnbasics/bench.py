"""Benchmarks: nnbasics side by side with PyTorch, scikit-learn and jax.grad + optax.

``nnbasics bench`` (or ``python benchmarks/run.py``) runs, in one process and
side by side:

1. end to end: digits, MLP 64-128-128-10 relu/softmax, Adam 1e-3, batch 200,
   float32, trained by (a) ``nb.fit(grad="manual")`` + ``nb.optim.adam``,
   (b) the same loop with ``grad="auto"`` (jax.grad) + ``optax.adam``,
   (c) PyTorch eager from the same Glorot initialization, (d) scikit-learn's
   ``MLPClassifier``; wall time with and without compilation, final training
   loss, test accuracy;
2. per step: hand-written backprop vs ``jax.value_and_grad`` of the loss;
3. the large MLP's achieved FLOP/s against the GEMMs it is made of;
4. 64 hyper-parameter configurations vmapped in one program vs a loop;
5. scaling of the epoch time with batch size, width and depth.

Every timing is taken after a warm-up, with ``block_until_ready``, over
several repetitions (the median is reported); competing implementations are
timed round-robin in the same run so that a shared machine's noise hits them
alike. Results go to ``<out>/<device>.json``, ``<out>/<device>.md`` and PNG
plots ``<out>/<device>_*.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnbasics import data, optim, train
from nnbasics.mlp import MLP

SMALL = (64, 128, 128, 10)
LARGE = (784, 1024, 1024, 10)
LR = 1e-3
BATCH = 200
SLOW_PEER_S = 30.0


class UsageError(Exception):
    """A bad option or an unavailable device: one line on stderr, exit status 2."""


@dataclasses.dataclass(frozen=True)
class Config:
    """What a run measures; ``quick`` is the default, ``full`` the committed results."""

    mode: str
    device: str
    out: Path
    repeats: int
    epochs: int  # end to end
    vmap_configs: int
    vmap_epochs: int
    fit_loop_sample: int  # nb.fit calls timed for the per-config loop (extrapolated)
    scaling: bool
    large_reps: int


def _parse(argv) -> Config:
    p = argparse.ArgumentParser(
        prog="nnbasics bench",
        description="Benchmarks against PyTorch, scikit-learn and jax.grad + optax.",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="everything at full size (200 epochs end to end, scaling plots); "
        "the default is a quick run of a few minutes",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where JAX (and PyTorch) run (default: cpu)",
    )
    p.add_argument(
        "--out",
        default="benchmarks/results",
        help="folder for <device>.json, <device>.md and plots (default: benchmarks/results)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repetitions per measurement, median reported (default: 3 full, 2 quick)",
    )
    p.add_argument(
        "--epochs", type=int, default=None, help="end-to-end epochs (default: 200 full, 20 quick)"
    )
    a = p.parse_args(argv)
    repeats = a.repeats if a.repeats is not None else (3 if a.full else 2)
    epochs = a.epochs if a.epochs is not None else (200 if a.full else 20)
    if repeats < 1:
        p.error(f"--repeats: expected an integer >= 1, received {repeats}")
    if epochs < 1:
        p.error(f"--epochs: expected an integer >= 1, received {epochs}")
    return Config(
        mode="full" if a.full else "quick",
        device=a.device,
        out=Path(a.out),
        repeats=repeats,
        epochs=epochs,
        vmap_configs=64,
        vmap_epochs=10 if a.full else 3,
        fit_loop_sample=8 if a.full else 2,
        scaling=True,
        large_reps=5 if a.full else 3,
    )


# ------------------------------------------------------------------ plumbing


def _jax_device(name: str):
    if name == "cpu":
        return jax.devices("cpu")[0]
    try:
        devices = jax.devices("gpu")
    except RuntimeError:
        devices = []
    if not devices:
        raise UsageError(
            "--device gpu: JAX sees no GPU (jax.devices('gpu') is empty; "
            "install a CUDA jaxlib or use --device cpu)"
        )
    return devices[0]


def _block(x):
    return jax.block_until_ready(x)


def _timed(fn: Callable) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _round_robin(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Medians (s) of each blocking ``fn()``, the candidates interleaved per repetition."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(_timed(fn)[0])
    return {k: {"median_s": statistics.median(v), "all_s": v} for k, v in times.items()}


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(cfg: Config, device) -> dict:
    """The machine, the software versions and the numerics the numbers were taken with."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "mode": cfg.mode,
        "cpu": _cpu_model(),
        "cores": cores,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "device": cfg.device,
        "jax_device": str(device),
        "gpu_lent": cfg.device == "gpu",
        "versions": {
            d: _version(d)
            for d in ("jax", "jaxlib", "optax", "torch", "scikit-learn", "numpy", "nnbasics")
        },
        "dtype": "float32",
        "matmul_precision": "highest (float32 GEMMs; on a GPU 'default' = TF32/bf16 "
        "is reported separately)",
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
    }


def _torch():
    """PyTorch, imported only when a comparison needs it; None if it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


# ------------------------------------------------------------------ data and models


def digits_split():
    """Standardized digits, a fixed stratified 75/25 train/test split (key 0), NumPy float32."""
    X, y = data.load("digits")
    tr, _, te = data.split(jax.random.key(0), X, y, valid=0.0, test=0.25, stratify=True)
    stats = data.Standardizer.fit(tr[0])
    f = lambda Z: np.asarray(data.transform(stats, Z), np.float32)
    return (f(tr[0]), np.asarray(tr[1], np.int32)), (f(te[0]), np.asarray(te[1], np.int32))


def _n_weights(sizes) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _epoch_fn(net, optimizer, batch_size, grad="manual", **kw):
    return train.compile_epoch(net, optimizer, batch_size=batch_size, grad=grad, **kw)


def _accuracy(net, params, test) -> float:
    return float(jnp.mean(net.predict(params, jnp.asarray(test[0])) == jnp.asarray(test[1])))


# ------------------------------------------------------------------ 1. end to end


def _nnbasics_runner(net, params, optimizer, tr, te, epochs, grad):
    """cold(): nb.fit (tracing + compilation + training); steady(): the compiled epoch."""
    X, y = jnp.asarray(tr[0]), jnp.asarray(tr[1])
    key = jax.random.key(2)
    out = {}

    def cold():
        jax.clear_caches()  # else a later nb.fit reuses the first call's compiled epoch
        r = train.fit(
            net, params, optimizer, tr, epochs=epochs, batch_size=BATCH, key=key, grad=grad
        )
        _block(r.params)
        out["loss"] = float(r.history["train_loss"][-1])
        out["acc"] = _accuracy(net, r.params, te)

    epoch_fn = _epoch_fn(net, optimizer, BATCH, grad)
    state0 = train.init_state(params, optimizer, key)
    t0 = time.perf_counter()
    compiled = epoch_fn.compile(state0, X, y, None, None)
    out["compile_s"] = time.perf_counter() - t0

    def steady():
        # As nb.fit's loop: one compiled epoch per call, its metrics fetched each epoch.
        s = train.init_state(params, optimizer, key)
        for _ in range(epochs):
            s, m = compiled(s, X, y, None, None)
            jax.device_get(m)
        _block(s)
        out["steady_loss"] = float(m["train_loss"])

    return cold, steady, out


def _torch_runner(torch, params, tr, te, epochs, device, threads=None):
    """PyTorch eager: same layers, the same Glorot draws copied in, shuffled minibatches."""
    dev = "cuda" if device == "gpu" else "cpu"
    Xt = torch.tensor(np.array(tr[0]), device=dev)
    yt = torch.tensor(np.array(tr[1], np.int64), device=dev)
    Xs = torch.tensor(np.array(te[0]), device=dev)
    ys = torch.tensor(np.array(te[1], np.int64), device=dev)
    out = {}

    def build():
        layers = []
        for k, layer in enumerate(params):
            W = np.asarray(layer["W"])
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.zero_()
            layers.append(lin)
            if k < len(params) - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers).to(dev)

    def run():
        old = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            model = build()
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            loss_fn = torch.nn.CrossEntropyLoss()
            gen = torch.Generator().manual_seed(2)
            n = Xt.shape[0]
            for _ in range(epochs):
                perm = torch.randperm(n, generator=gen).to(dev)
                total = 0.0
                for i in range(0, n, BATCH):
                    idx = perm[i : i + BATCH]
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(Xt[idx]), yt[idx])
                    loss.backward()
                    opt.step()
                    total = total + loss.detach() * len(idx)
            out["loss"] = float(total) / n
            with torch.no_grad():
                out["acc"] = float((model(Xs).argmax(1) == ys).float().mean())
            if dev == "cuda":
                torch.cuda.synchronize()
        finally:
            torch.set_num_threads(old)

    return run, out


def _sklearn_runner(tr, te, epochs, threads=None):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    out = {}

    def run():
        clf = MLPClassifier(
            hidden_layer_sizes=SMALL[1:-1],
            activation="relu",
            solver="adam",
            learning_rate_init=LR,
            batch_size=BATCH,
            max_iter=epochs,
            alpha=0.0,
            early_stopping=False,
            tol=0.0,
            n_iter_no_change=10 * epochs + 10,
            shuffle=True,
            random_state=0,
        )
        ctx = None
        if threads is not None:
            from threadpoolctl import threadpool_limits

            ctx = threadpool_limits(threads)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(tr[0], tr[1])
        finally:
            if ctx is not None:
                ctx.unregister()
        out["loss"] = float(clf.loss_curve_[-1])
        out["acc"] = float(clf.score(te[0], te[1]))
        out["epochs_run"] = int(clf.n_iter_)

    return run, out


def bench_end_to_end(cfg: Config, log) -> dict:
    tr, te = digits_split()
    net = MLP(SMALL, hidden="relu", output="softmax")
    params = net.init(jax.random.key(1))
    E, R = cfg.epochs, cfg.repeats
    rows = {}

    a_cold, a_steady, a_out = _nnbasics_runner(net, params, optim.adam(LR), tr, te, E, "manual")
    b_cold, b_steady, b_out = _nnbasics_runner(net, params, optax.adam(LR), tr, te, E, "auto")
    cold_fns = {
        "nnbasics (manual backprop, nb.optim.adam)": a_cold,
        "nnbasics loop, jax.grad + optax.adam": b_cold,
    }
    steady_fns = {
        "nnbasics (manual backprop, nb.optim.adam)": a_steady,
        "nnbasics loop, jax.grad + optax.adam": b_steady,
    }
    outs = {
        "nnbasics (manual backprop, nb.optim.adam)": a_out,
        "nnbasics loop, jax.grad + optax.adam": b_out,
    }

    torch = _torch()
    peers = {}
    if torch is None:
        rows["PyTorch eager"] = {"status": "not installed"}
    elif cfg.device == "gpu" and not torch.cuda.is_available():
        rows["PyTorch eager"] = {"status": "not run: this torch build has no CUDA"}
    else:
        peers["PyTorch eager (default threads)"] = _torch_runner(
            torch, params, tr, te, E, cfg.device
        )
        if cfg.device == "cpu":
            peers["PyTorch eager (1 thread)"] = _torch_runner(
                torch, params, tr, te, E, cfg.device, threads=1
            )
    peers["scikit-learn MLPClassifier (default threads)"] = _sklearn_runner(tr, te, E)
    try:
        import threadpoolctl  # noqa: F401

        peers["scikit-learn MLPClassifier (1 BLAS thread)"] = _sklearn_runner(tr, te, E, threads=1)
    except ImportError:
        pass
    for name, (_run, out) in peers.items():
        outs[name] = out

    # cold: the first call of each (nb.fit traces and compiles on every call, so each of
    # its calls is cold; an eager peer's first run pays its lazy initialization).
    cold = {k: [] for k in list(cold_fns) + list(peers)}
    steady = {k: [] for k in list(steady_fns) + list(peers)}
    for r in range(R + 1):
        log(f"  end to end, round {r + 1}/{R + 1}")
        for k, fn in cold_fns.items():
            cold[k].append(_timed(fn)[0])
            steady[k].append(_timed(steady_fns[k])[0])
        for k, (run, _) in peers.items():
            if r >= 2 and cold[k][0] > SLOW_PEER_S:
                continue  # a very slow peer (an oversubscribed BLAS) is timed twice only
            t = _timed(run)[0]
            (cold if r == 0 else steady)[k].append(t)
    for k in cold_fns:
        # Round 0 warms the process (imports, first dispatch); every nb.fit call recompiles.
        cold[k] = cold[k][1:]
        steady[k] = steady[k][1:]
    for k in cold:
        o = outs[k]
        rows[k] = {
            "status": "ok",
            "cold_s": statistics.median(cold[k]),
            "cold_all_s": cold[k],
            "steady_s": statistics.median(steady[k]),
            "steady_all_s": steady[k],
            "compile_s": o.get("compile_s"),
            "final_train_loss": o.get("loss"),
            "test_accuracy": o.get("acc"),
        }
        if "epochs_run" in o:
            rows[k]["epochs_run"] = o["epochs_run"]
    if cfg.device == "cpu":
        log("  end to end: fresh processes with a persistent compilation cache")
        rows.update(_persistent_cache_rows(E, R))
    ours = rows["nnbasics (manual backprop, nb.optim.adam)"]
    for row in rows.values():
        if row.get("status") == "ok":
            row["cold_ratio_vs_nnbasics"] = row["cold_s"] / ours["cold_s"]
            row["steady_ratio_vs_nnbasics"] = (
                None if row["steady_s"] is None else row["steady_s"] / ours["steady_s"]
            )
    return {
        "epochs": E,
        "batch_size": BATCH,
        "n_train": int(tr[0].shape[0]),
        "n_test": int(te[0].shape[0]),
        "sizes": list(SMALL),
        "rows": rows,
    }


_FRESH_FIT = """
import time, jax, numpy as np, nnbasics as nb
from nnbasics import bench
tr, te = bench.digits_split()
net = nb.MLP(bench.SMALL, hidden="relu", output="softmax")
params = jax.block_until_ready(net.init(jax.random.key(1)))
t = time.perf_counter()
r = nb.fit(net, params, nb.optim.adam(bench.LR), tr, epochs={epochs}, batch_size=bench.BATCH,
           key=jax.random.key(2))
jax.block_until_ready(r.params)
print(time.perf_counter() - t, r.history["train_loss"][-1], bench._accuracy(net, r.params, te))
"""


def _persistent_cache_rows(epochs: int, repeats: int) -> dict:
    """nb.fit in fresh processes: with an empty, then a warm persistent compilation cache.

    The first process compiles and writes JAX's on-disk cache
    (``JAX_COMPILATION_CACHE_DIR``); later processes load the compiled epoch
    instead of compiling it. Only the ``nb.fit`` call is timed, as in the other rows.
    """
    import subprocess
    import sys
    import tempfile

    def run(cache_dir):
        env = dict(
            os.environ,
            JAX_COMPILATION_CACHE_DIR=cache_dir,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        )
        out = subprocess.run(
            [sys.executable, "-c", _FRESH_FIT.format(epochs=epochs)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return [float(v) for v in out.stdout.split()[-3:]]

    empty, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            empty.append(run(cache_dir))
            warm.append(run(cache_dir))
    rows = {}
    for name, samples in (
        ("nnbasics, fresh process, empty compilation cache", empty),
        ("nnbasics, fresh process, warm persistent compilation cache", warm),
    ):
        times = [t for t, _, _ in samples]
        rows[name] = {
            "status": "ok",
            "cold_s": statistics.median(times),
            "cold_all_s": times,
            "steady_s": None,
            "compile_s": None,
            "final_train_loss": samples[0][1],
            "test_accuracy": samples[0][2],
        }
    return rows


# ------------------------------------------------------------------ 2. per step


def _grad_loop(value_and_grad, K):
    """K gradient evaluations in one program; a tiny SGD step keeps each one live."""

    def run(params, X, y):
        def body(_, p):
            J, g = value_and_grad(p, X, y)
            return jax.tree.map(lambda a, b: a - 1e-6 * b, p, g)

        return jax.lax.fori_loop(0, K, body, params)

    return jax.jit(run)


def bench_steps(cfg: Config, log, precision) -> dict:
    out = {}
    tr, _ = digits_split()
    cases = {
        "small 64-128-128-10, batch 200 (digits)": (
            SMALL,
            jnp.asarray(tr[0][:BATCH]),
            jnp.asarray(tr[1][:BATCH]),
            200,
        ),
    }
    kX, ky = jax.random.split(jax.random.key(5))
    cases["large 784-1024-1024-10, batch 1024 (random)"] = (
        LARGE,
        jax.random.normal(kX, (1024, 784), jnp.float32),
        jax.random.randint(ky, (1024,), 0, 10, jnp.int32),
        4,
    )
    with jax.default_matmul_precision(precision):
        for name, (sizes, X, y, K) in cases.items():
            log(f"  per step [{precision}]: {name}")
            net = MLP(sizes)
            p = net.init(jax.random.key(1))
            manual, auto = net.backprop, jax.value_and_grad(net.loss)
            call_m, call_a = jax.jit(manual), jax.jit(auto)
            loop_m, loop_a = _grad_loop(manual, K), _grad_loop(auto, K)
            n_calls = K

            def calls(f, n=n_calls, args=(p, X, y)):
                def run():
                    for _ in range(n):
                        r = f(*args)
                    _block(r)

                return run

            def looped(f, args=(p, X, y)):
                return lambda: _block(f(*args))

            fns = {
                "manual_call": calls(call_m),
                "auto_call": calls(call_a),
                "manual_loop": looped(loop_m),
                "auto_loop": looped(loop_a),
            }
            t = _round_robin(fns, max(3 * cfg.repeats, 9))
            res = {k: v["median_s"] / K for k, v in t.items()}
            out[name] = {
                "per_step_s": res,
                "ratio_manual_over_auto_call": res["manual_call"] / res["auto_call"],
                "ratio_manual_over_auto_in_loop": res["manual_loop"] / res["auto_loop"],
            }
    return out


# ------------------------------------------------------------------ 3. against the GEMM rate


def _step_gemms(sizes, B):
    """(name, lhs shape, rhs shape, dimension numbers) of every matmul of one manual step."""
    dn_fwd = (((1,), (0,)), ((), ()))
    dn_dW = (((0,), (0,)), ((), ()))  # hᵀ δ
    dn_dh = (((1,), (1,)), ((), ()))  # δ Wᵀ
    out = []
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        out.append((f"fwd{k} ({B}x{i})@({i}x{o})", (B, i), (i, o), dn_fwd))
        out.append((f"dW{k} ({i}x{B})@({B}x{o})", (B, i), (B, o), dn_dW))
        if k > 0:  # training never needs ∇X of the first layer
            out.append((f"dh{k} ({B}x{o})@({o}x{i})", (B, o), (i, o), dn_dh))
    return out


def bench_gemm(cfg: Config, log, precision) -> dict:
    sizes, B = LARGE, 1024
    net = MLP(sizes)
    opt = optim.adam(LR)
    kX, ky = jax.random.split(jax.random.key(5))
    X = jax.random.normal(kX, (B, sizes[0]), jnp.float32)
    y = jax.random.randint(ky, (B,), 0, 10, jnp.int32)
    log(f"  GEMM rate [{precision}]")
    with jax.default_matmul_precision(precision):

        def make_step(vg):
            @functools.partial(jax.jit, donate_argnums=(0, 1))
            def step(p, s):
                J, g = vg(p, X, y)
                u, s = opt.update(g, s, p)
                return optax.apply_updates(p, u), s

            return step

        steps = {"manual": make_step(net.backprop), "auto": make_step(jax.value_and_grad(net.loss))}
        state = {k: (net.init(jax.random.key(1)), None) for k in steps}
        state = {k: (p, opt.init(p)) for k, (p, _) in state.items()}

        def step_fn(k):
            def run():
                for _ in range(cfg.large_reps):
                    state[k] = steps[k](*state[k])
                _block(state[k])

            return run

        gemms = _step_gemms(sizes, B)
        key = jax.random.key(9)
        gemm_fns, flops = {}, {}
        for name, sa, sb, dn in gemms:
            ka, kb, key = jax.random.split(key, 3)
            a = jax.random.normal(ka, sa, jnp.float32)
            b = jax.random.normal(kb, sb, jnp.float32)
            f = jax.jit(functools.partial(jax.lax.dot_general, dimension_numbers=dn))
            m = int(np.prod(sa)) // sa[dn[0][0][0]]
            n = int(np.prod(sb)) // sb[dn[0][1][0]]
            flops[name] = 2 * m * n * sa[dn[0][0][0]]

            def run(f=f, a=a, b=b):
                for _ in range(cfg.large_reps):
                    r = f(a, b)
                _block(r)

            gemm_fns[name] = run
        fns = {f"step_{k}": step_fn(k) for k in steps}
        fns.update(gemm_fns)
        t = _round_robin(fns, max(cfg.repeats, 5))
    per = {k: v["median_s"] / cfg.large_reps for k, v in t.items()}
    gemm_time = sum(per[name] for name in gemm_fns)
    gemm_flops = sum(flops.values())
    nominal = 6 * B * _n_weights(sizes)
    res = {
        "sizes": list(sizes),
        "batch": B,
        "gemm_s": {k: per[k] for k in gemm_fns},
        "gemm_flops": flops,
        "gemm_sum_s": gemm_time,
        "gemm_rate_flops": gemm_flops / gemm_time,
        "step_matmul_flops": gemm_flops,
        "nominal_6BW_flops": nominal,
    }
    for k in steps:
        ts = per[f"step_{k}"]
        res[f"step_{k}_s"] = ts
        res[f"step_{k}_flops_per_s"] = gemm_flops / ts
        res[f"step_{k}_nominal_6BW_flops_per_s"] = nominal / ts
        res[f"step_{k}_percent_of_gemm"] = 100 * gemm_time / ts
    return res


# ------------------------------------------------------------------ 4. many models at once


def bench_vmap(cfg: Config, log) -> dict:
    tr, _ = digits_split()
    X, y = jnp.asarray(tr[0]), jnp.asarray(tr[1])
    net = MLP(SMALL)
    params = net.init(jax.random.key(1))
    key = jax.random.key(2)
    side = int(round(math.sqrt(cfg.vmap_configs)))
    lrs = np.logspace(-4, -2, side).astype(np.float32)
    l2s = np.concatenate([[0.0], np.logspace(-5, -2, side - 1)]).astype(np.float32)
    LR_, L2_ = (a.ravel() for a in np.meshgrid(lrs, l2s, indexing="ij"))
    E = cfg.vmap_epochs

    def run_one(lr, l2):
        opt = optim.adam(lambda count: lr)
        s = train.init_state(params, opt, key)

        def body(s, _):
            s, m = train.train_epoch(s, X, y, net=net, optimizer=opt, batch_size=BATCH, l2=l2)
            return s, m["train_loss"]

        s, losses = jax.lax.scan(body, s, None, length=E)
        return s.params, losses

    vmapped = jax.jit(jax.vmap(run_one))
    single = jax.jit(run_one)
    lr_j, l2_j = jnp.asarray(LR_), jnp.asarray(L2_)
    log(f"  vmap: {len(LR_)} configurations x {E} epochs")
    t_cv, c_v = _timed(lambda: vmapped.lower(lr_j, l2_j).compile())
    t_cs, c_s = _timed(lambda: single.lower(lr_j[0], l2_j[0]).compile())

    def run_vmapped():
        return _block(c_v(lr_j, l2_j))

    def run_loop():
        return [_block(c_s(lr_j[i], l2_j[i])) for i in range(len(LR_))]

    t = _round_robin({"vmapped": run_vmapped, "loop": run_loop}, cfg.repeats)
    (_, lv), loop_out = run_vmapped(), run_loop()
    ll = np.stack([np.asarray(o[1]) for o in loop_out])
    agree = float(np.max(np.abs(np.asarray(lv) - ll) / np.maximum(np.abs(ll), 1e-30)))

    # What a user without vmap writes: one nb.fit per configuration (each traces and compiles).
    sample = min(cfg.fit_loop_sample, len(LR_))
    log(f"  vmap: timing {sample} nb.fit calls for the per-config loop")
    t_fit = 0.0
    for i in range(sample):
        opt = optim.adam(float(LR_[i]))
        t_fit += _timed(
            lambda opt=opt, l2=float(L2_[i]): _block(
                train.fit(net, params, opt, tr, epochs=E, batch_size=BATCH, key=key, l2=l2).params
            )
        )[0]
    fit_loop = t_fit / sample * len(LR_)
    tv, tl = t["vmapped"]["median_s"], t["loop"]["median_s"]
    return {
        "configs": len(LR_),
        "epochs": E,
        "learning_rates": lrs.tolist(),
        "l2": l2s.tolist(),
        "vmapped_run_s": tv,
        "vmapped_compile_s": t_cv,
        "loop_run_s": tl,
        "loop_compile_s": t_cs,
        "speedup_steady": tl / tv,
        "speedup_with_compile": (tl + t_cs) / (tv + t_cv),
        "nb_fit_loop_s_extrapolated": fit_loop,
        "nb_fit_loop_sample": sample,
        "speedup_vs_nb_fit_loop": fit_loop / (tv + t_cv),
        "max_rel_diff_train_loss_vmapped_vs_loop": agree,
    }


# ------------------------------------------------------------------ 5. scaling


def _epoch_time(sizes, batch, X, y, epochs=5, repeats=3):
    net = MLP(sizes)
    p = net.init(jax.random.key(1))
    opt = optim.adam(LR)
    fn = _epoch_fn(net, opt, batch)
    s0 = train.init_state(p, opt, jax.random.key(2))
    compiled = fn.compile(s0, X, y, None, None)

    def run():
        s = train.init_state(p, opt, jax.random.key(2))
        for _ in range(epochs):
            s, m = compiled(s, X, y, None, None)
        _block(s)

    t = _round_robin({"e": run}, repeats)["e"]["median_s"] / epochs
    return t, 6 * X.shape[0] * _n_weights(sizes)


def bench_scaling(cfg: Config, log) -> dict:
    tr, _ = digits_split()
    X, y = jnp.asarray(tr[0]), jnp.asarray(tr[1])
    full = cfg.mode == "full"
    series = {
        "batch size": [
            (SMALL, b) for b in ((16, 32, 64, 128, 256, 512, 1346) if full else (32, 200, 1346))
        ],
        "width": [
            ((64, w, w, 10), BATCH)
            for w in ((32, 64, 128, 256, 512, 1024) if full else (64, 256, 1024))
        ],
        "depth": [
            ((64,) + (128,) * d + (10,), BATCH) for d in ((1, 2, 3, 4, 6, 8) if full else (1, 2, 4))
        ],
    }
    out = {}
    for name, points in series.items():
        rows = []
        for sizes, b in points:
            log(f"  scaling {name}: sizes {sizes}, batch {b}")
            t, flops = _epoch_time(sizes, b, X, y, repeats=cfg.repeats)
            rows.append(
                {
                    "sizes": list(sizes),
                    "batch": b,
                    "epoch_s": t,
                    "epoch_flops": flops,
                    "gflops_per_s": flops / t / 1e9,
                }
            )
        if name != "batch size":
            w = np.log([r["epoch_flops"] for r in rows])
            tt = np.log([r["epoch_s"] for r in rows])
            slope = float(np.polyfit(w, tt, 1)[0])
            big = rows[len(rows) // 2 :]
            slope_big = float(
                np.polyfit(
                    np.log([r["epoch_flops"] for r in big]), np.log([r["epoch_s"] for r in big]), 1
                )[0]
            )
        else:
            slope = slope_big = None
        out[name] = {
            "rows": rows,
            "loglog_slope_time_vs_work": slope,
            "loglog_slope_upper_half": slope_big,
        }
    return out


# ------------------------------------------------------------------ report


def _fmt_s(x):
    return "—" if x is None else (f"{x * 1e3:.1f} ms" if x < 1 else f"{x:.2f} s")


def _fmt_r(x):
    return "—" if x is None else f"{x:.2f}×"


def render_md(res: dict) -> str:
    m = res["machine"]
    v = m["versions"]
    L = [
        f"# nnbasics benchmarks — {m['device']}",
        "",
        f"Generated by `nnbasics bench{' --full' if m['mode'] == 'full' else ''} "
        f"--device {m['device']}` on {m['date']}.",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores available | {m['cores']} |",
        f"| load average at start (1, 5, 15 min) | {m['load_average_at_start']} |",
        f"| JAX device | {m['jax_device']} |",
        f"| GPU | {'yes' if m['gpu_lent'] else 'none lent to this run: CPU only'} |",
        f"| platform / python | {m['platform']} / {m['python']} |",
        "| versions | " + ", ".join(f"{k} {x}" for k, x in v.items()) + " |",
        f"| dtype | {m['dtype']} |",
        f"| matmul precision | {m['matmul_precision']} |",
        f"| XLA_FLAGS | `{m['XLA_FLAGS'] or '(none)'}` |",
        "",
    ]
    e = res.get("end_to_end")
    if e:
        L += [
            f"## End to end: digits, MLP {'-'.join(map(str, e['sizes']))}, Adam 1e-3, "
            f"batch {e['batch_size']}, {e['epochs']} epochs, float32",
            f"({e['n_train']} train / {e['n_test']} test examples). Cold = the whole call, "
            "tracing and compilation included (JAX caches are cleared before each `nb.fit` call, so each one traces and compiles); steady = the "
            "same training with compiled functions (JAX: the AOT-compiled epoch called "
            "once per epoch with its metrics fetched, as `nb.fit` does; eager peers: a "
            "later run). Ratio = peer time / nnbasics time (> 1: nnbasics faster).",
            "",
            "| implementation | cold | compile | steady | cold ratio | steady ratio "
            "| final train loss | test accuracy |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k, r in e["rows"].items():
            if r.get("status") != "ok":
                L.append(f"| {k} | {r['status']} | | | | | | |")
                continue
            L.append(
                f"| {k} | {_fmt_s(r['cold_s'])} | {_fmt_s(r['compile_s'])} | "
                f"{_fmt_s(r['steady_s'])} | {_fmt_r(r['cold_ratio_vs_nnbasics'])} | "
                f"{_fmt_r(r['steady_ratio_vs_nnbasics'])} | {r['final_train_loss']:.3g} | "
                f"{r['test_accuracy']:.4f} |"
            )
        L.append("")
    for prec, s in res.get("steps", {}).items():
        L += [
            f"## Per step: hand-written backprop vs jax.value_and_grad (precision {prec})",
            "",
            "| model | manual, per call | auto, per call | ratio | manual, in loop "
            "| auto, in loop | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, r in s.items():
            p = r["per_step_s"]
            L.append(
                f"| {k} | {p['manual_call'] * 1e6:.0f} µs | {p['auto_call'] * 1e6:.0f} µs | "
                f"{r['ratio_manual_over_auto_call']:.3f} | {p['manual_loop'] * 1e6:.0f} µs | "
                f"{p['auto_loop'] * 1e6:.0f} µs | {r['ratio_manual_over_auto_in_loop']:.3f} |"
            )
        L += [
            "",
            "Per call: one jitted call per step (dispatch included); in loop: K steps "
            "inside one `fori_loop`. Target: ratio ≤ 1.05.",
            "",
        ]
    for prec, g in res.get("gemm", {}).items():
        L += [
            f"## Large MLP vs the GEMM rate (precision {prec})",
            "",
            f"MLP {'-'.join(map(str, g['sizes']))}, batch {g['batch']}, training step "
            "(gradient + Adam). The GEMMs of one step, each timed alone:",
            "",
            "| GEMM | time | GFLOP/s |",
            "|---|---|---|",
        ]
        for k, t in g["gemm_s"].items():
            L.append(f"| {k} | {t * 1e3:.2f} ms | {g['gemm_flops'][k] / t / 1e9:.1f} |")
        L += [
            f"| **sum** | {g['gemm_sum_s'] * 1e3:.2f} ms | {g['gemm_rate_flops'] / 1e9:.1f} |",
            "",
            "| step | time | GFLOP/s (matmuls done) | GFLOP/s (nominal 6·B·W) "
            "| % of the GEMM rate |",
            "|---|---|---|---|---|",
        ]
        for k in ("manual", "auto"):
            L.append(
                f"| {k} | {g[f'step_{k}_s'] * 1e3:.2f} ms | "
                f"{g[f'step_{k}_flops_per_s'] / 1e9:.1f} | "
                f"{g[f'step_{k}_nominal_6BW_flops_per_s'] / 1e9:.1f} | "
                f"{g[f'step_{k}_percent_of_gemm']:.1f}% |"
            )
        L.append("")
    vm = res.get("vmap")
    if vm:
        L += [
            f"## Many models at once: {vm['configs']} configurations (learning rate × l2), "
            f"{vm['epochs']} epochs each",
            "",
            "| | run | compile | total |",
            "|---|---|---|---|",
            f"| vmapped, one program | {_fmt_s(vm['vmapped_run_s'])} | "
            f"{_fmt_s(vm['vmapped_compile_s'])} | "
            f"{_fmt_s(vm['vmapped_run_s'] + vm['vmapped_compile_s'])} |",
            f"| loop of {vm['configs']} calls of one compiled run | {_fmt_s(vm['loop_run_s'])} | "
            f"{_fmt_s(vm['loop_compile_s'])} | "
            f"{_fmt_s(vm['loop_run_s'] + vm['loop_compile_s'])} |",
            f"| loop of {vm['configs']} `nb.fit` calls (extrapolated from "
            f"{vm['nb_fit_loop_sample']}) | | | {_fmt_s(vm['nb_fit_loop_s_extrapolated'])} |",
            "",
            f"Speed-up of vmap: {vm['speedup_steady']:.2f}× steady, "
            f"{vm['speedup_with_compile']:.2f}× with compilation, "
            f"{vm['speedup_vs_nb_fit_loop']:.1f}× against the `nb.fit` loop; "
            f"training losses agree to {vm['max_rel_diff_train_loss_vmapped_vs_loop']:.1e} "
            "(relative). Target: ≥ 8×.",
            "",
        ]
    sc = res.get("scaling")
    if sc:
        L += ["## Scaling (time per epoch, digits, compiled epoch, no host sync)", ""]
        for name, s in sc.items():
            L += [f"### {name}", "", "| sizes | batch | epoch | GFLOP/s |", "|---|---|---|---|"]
            for r in s["rows"]:
                L.append(
                    f"| {'-'.join(map(str, r['sizes']))} | {r['batch']} | "
                    f"{_fmt_s(r['epoch_s'])} | {r['gflops_per_s']:.1f} |"
                )
            if s["loglog_slope_time_vs_work"] is not None:
                L.append(
                    f"\nTime grows as work^{s['loglog_slope_time_vs_work']:.2f} over the "
                    f"range (work^{s['loglog_slope_upper_half']:.2f} over its upper half)."
                )
            L.append("")
        L.append("Plots: " + ", ".join(f"`{p}`" for p in res.get("plots", [])))
    return "\n".join(L) + "\n"


def _save(plt, fig, out: Path, name: str, files: list) -> None:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    files.append(name)


def write_plots(res: dict, out: Path, device: str) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    files = []
    e = res.get("end_to_end")
    if e:
        rows = {k: r for k, r in e["rows"].items() if r.get("status") == "ok"}
        names = list(rows)[::-1]
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.2))
        y = np.arange(len(names))
        ax.barh(
            y + 0.2,
            [rows[k]["cold_s"] for k in names],
            0.4,
            label="cold (tracing + compilation included)",
        )
        ax.barh(
            y - 0.2,
            [rows[k]["steady_s"] or 0.0 for k in names],
            0.4,
            label="steady state (compiled)",
        )
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlabel("wall time (s), lower is better")
        ax.set_title(f"digits, MLP 64-128-128-10, Adam, batch 200, {e['epochs']} epochs, {device}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        _save(plt, fig, out, f"{device}_end_to_end.png", files)
    sc = res.get("scaling")
    if sc:
        fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
        for ax, (name, s) in zip(axes, sc.items()):
            key = {
                "batch size": lambda r: r["batch"],
                "width": lambda r: r["sizes"][1],
                "depth": lambda r: len(r["sizes"]) - 2,
            }[name]
            ax.plot([key(r) for r in s["rows"]], [r["epoch_s"] * 1e3 for r in s["rows"]], "o-")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(name)
            ax.set_ylabel("ms per epoch")
            ax.set_title(f"epoch time vs {name}")
        ax = axes[3]
        for name, s in sc.items():
            w = [r["epoch_flops"] for r in s["rows"]]
            t = [r["epoch_s"] for r in s["rows"]]
            ax.loglog(w, t, "o-", label=name)
        w = np.array([r["epoch_flops"] for s in sc.values() for r in s["rows"]])
        ref = np.array([w.min(), w.max()])
        t0 = min(
            r["epoch_s"]
            for r in sc["width"]["rows"]
            if r["epoch_flops"] == max(rr["epoch_flops"] for rr in sc["width"]["rows"])
        )
        ax.loglog(ref, t0 * ref / ref.max(), "k--", label="time ∝ work")
        ax.set_xlabel("FLOPs per epoch (6·n·W)")
        ax.set_ylabel("s per epoch")
        ax.legend(fontsize=7)
        ax.set_title("cost vs work")
        _save(plt, fig, out, f"{device}_scaling.png", files)
    st = res.get("steps")
    if st:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        labels, vals = [], []
        for prec, s in st.items():
            for k, r in s.items():
                for mode in ("call", "in_loop"):
                    labels.append(f"{k.split(',')[0]}\n{mode} [{prec}]")
                    vals.append(r[f"ratio_manual_over_auto_{mode}"])
        ax.bar(range(len(vals)), vals)
        ax.axhline(1.05, color="r", ls="--", label="target 1.05")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xticks(range(len(vals)), labels, fontsize=6)
        ax.set_ylabel("manual / jax.grad step time")
        ax.legend()
        _save(plt, fig, out, f"{device}_steps.png", files)
    return files


# ------------------------------------------------------------------ entry point


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cfg: Config, log=_log) -> dict:
    device = _jax_device(cfg.device)
    res = {"machine": machine_info(cfg, device)}
    precisions = ["highest"] + (["default"] if cfg.device == "gpu" else [])
    with jax.default_device(device), jax.default_matmul_precision("highest"):
        log("end to end")
        res["end_to_end"] = bench_end_to_end(cfg, log)
        res["steps"], res["gemm"] = {}, {}
        for prec in precisions:
            res["steps"][prec] = bench_steps(cfg, log, prec)
            res["gemm"][prec] = bench_gemm(cfg, log, prec)
        res["vmap"] = bench_vmap(cfg, log)
        if cfg.scaling:
            res["scaling"] = bench_scaling(cfg, log)
    res["machine"]["load_average_at_end"] = list(os.getloadavg())
    return res


def main(argv: list[str] | None = None) -> int:
    """``nnbasics bench``: runs the benchmarks and writes ``<out>/<device>.{json,md}`` and plots."""
    try:
        cfg = _parse(argv)
    except SystemExit as e:  # argparse has printed its one-line error
        return int(e.code or 0)
    try:
        _jax_device(cfg.device)
        cfg.out.mkdir(parents=True, exist_ok=True)
    except UsageError as e:
        print(f"nnbasics bench: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"nnbasics bench: error: --out {cfg.out}: {e.strerror}", file=sys.stderr)
        return 2
    res = run(cfg)
    res["plots"] = write_plots(res, cfg.out, cfg.device)
    (cfg.out / f"{cfg.device}.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    (cfg.out / f"{cfg.device}.md").write_text(render_md(res))
    print(
        f"wrote {cfg.out / (cfg.device + '.json')}, {cfg.out / (cfg.device + '.md')}"
        + "".join(f", {cfg.out / p}" for p in res["plots"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
