"""End-to-end benchmarks: nnbasics vs PyTorch vs scikit-learn training the same network, in-process and in fresh processes."""

from __future__ import annotations

import os
import statistics
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnbasics import optim, train
from nnbasics.bench.common import (
    BATCH,
    LR,
    SLOW_PEER_S,
    SMALL,
    Config,
    _block,
    _timed,
    _torch,
    digits_split,
)
from nnbasics.mlp import MLP


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
            # scikit-learn declares no types; pyright infers str from batch_size's default "auto"
            batch_size=BATCH,  # pyright: ignore[reportArgumentType]
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
