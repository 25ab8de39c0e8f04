"""Scratch profiling of nnbasics' training loop: variants of the epoch, timed side by side.

    python benchmarks/profile_train.py [--epochs 200] [--repeats 5] [--json OUT]

Digits, MLP 64-128-128-10, Adam 1e-3, batch 200, float32, hand-written backprop.
Each variant trains the same number of epochs from the same state; compile time
is measured with AOT ``lower().compile()``; run times are medians over
round-robin repetitions. Run it under different ``XLA_FLAGS`` to compare flags.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnbasics import optim, train
from nnbasics.bench import BATCH, SMALL, _round_robin, digits_split
from nnbasics.mlp import MLP


def core_epoch(net, opt, batch, gather="per_step", perm_dtype=jnp.int32):
    """The minibatch loop of train_epoch alone: no lax.cond, no validation or early stopping."""

    def epoch(carry, key, X, y):
        n = X.shape[0]
        n_full, rest = divmod(n, batch)
        key, sub = jax.random.split(key)
        perm = jax.random.permutation(sub, n).astype(perm_dtype)

        def step(c, xs):
            p, s = c
            if gather == "per_step":
                Xb, yb = X[xs], y[xs]
            else:
                Xb, yb = xs
            J, g = net.backprop(p, Xb, yb)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), J

        if gather == "per_step":
            xs = perm[: n_full * batch].reshape(n_full, batch)
        else:  # one gather of the whole epoch, then contiguous slices
            Xp, yp = X[perm], y[perm]
            xs = (
                Xp[: n_full * batch].reshape(n_full, batch, -1),
                yp[: n_full * batch].reshape(n_full, batch),
            )
        carry, losses = jax.lax.scan(step, carry, xs)
        total = jnp.sum(losses) * batch
        if rest:
            tail = (
                perm[n_full * batch :]
                if gather == "per_step"
                else (Xp[n_full * batch :], yp[n_full * batch :])
            )
            carry, J = step(carry, tail)
            total = total + J * rest
        return carry, key, total / n

    return epoch


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    E = a.epochs
    tr, _ = digits_split()
    X, y = jnp.asarray(tr[0]), jnp.asarray(tr[1])
    net = MLP(SMALL)
    p0 = net.init(jax.random.key(1))
    opt = optim.adam(1e-3)
    key = jax.random.key(2)
    res = {"epochs": E, "compile_s": {}, "run_s": {}}

    def aot(name, f, *args):
        t0 = time.perf_counter()
        low = f.lower(*args)
        t1 = time.perf_counter()
        c = low.compile()
        res["compile_s"][name] = {"trace_lower": t1 - t0, "compile": time.perf_counter() - t1}
        return c

    # 1. train.train_epoch as nb.fit compiles it
    ep = jax.jit(
        lambda s, X, y: train.train_epoch(s, X, y, net=net, optimizer=opt, batch_size=BATCH),
        donate_argnums=0,
    )
    ep_c = aot("train_epoch", ep, train.init_state(p0, opt, key), X, y)

    def fit_loop():  # nb.fit's loop: int(epoch), bool(stopped), device_get(metrics) per epoch
        s = train.init_state(p0, opt, key)
        while int(s.epoch) < E and not bool(s.stopped):
            s, m = ep_c(s, X, y)
            jax.device_get(m)
        jax.block_until_ready(s)

    def one_sync():
        s = train.init_state(p0, opt, key)
        for _ in range(E):
            s, m = ep_c(s, X, y)
            jax.device_get(m)
        jax.block_until_ready(s)

    def no_sync():
        s = train.init_state(p0, opt, key)
        ms = []
        for _ in range(E):
            s, m = ep_c(s, X, y)
            ms.append(m)
        jax.block_until_ready((s, ms))

    # 2. all epochs in one program: lax.scan over train_epoch
    def scan_epochs(s, X, y):
        return jax.lax.scan(
            lambda s, _: train.train_epoch(s, X, y, net=net, optimizer=opt, batch_size=BATCH),
            s,
            None,
            length=E,
        )

    se = aot(
        "scan_all_epochs",
        jax.jit(scan_epochs, donate_argnums=0),
        train.init_state(p0, opt, key),
        X,
        y,
    )

    def fused():
        jax.block_until_ready(se(train.init_state(p0, opt, key), X, y))

    # 3. the bare minibatch loop (no cond / early stopping), per-step gather vs one gather
    variants = {}
    for gather in ("per_step", "whole_epoch"):
        core = core_epoch(net, opt, BATCH, gather)

        def many(carry, key, X, y, core=core):
            def body(ck, _):
                carry, key = ck
                carry, key, l = core(carry, key, X, y)
                return (carry, key), l

            return jax.lax.scan(body, (carry, key), None, length=E)

        c = aot(
            f"core_{gather}",
            jax.jit(many, donate_argnums=0),
            (p0, opt.init(p0)),
            jax.random.key_data(key),
            X,
            y,
        )
        variants[f"core scan, gather {gather}"] = lambda c=c: jax.block_until_ready(
            c((jax.tree.map(jnp.copy, p0), opt.init(p0)), jax.random.key_data(key), X, y)
        )

    # 4. one step only (per step cost inside a loop vs the epoch)
    fns = {
        "nb.fit loop (3 host syncs/epoch)": fit_loop,
        "1 host sync/epoch": one_sync,
        "no host sync (async dispatch)": no_sync,
        "scan over all epochs (1 call)": fused,
    }
    fns.update(variants)
    t = _round_robin(fns, a.repeats)
    res["run_s"] = {k: v["median_s"] for k, v in t.items()}
    res["run_all_s"] = {k: v["all_s"] for k, v in t.items()}
    # nb.fit itself, warm (its compiled epoch cached) and cold (caches cleared)
    warm = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(
            train.fit(net, p0, opt, tr, epochs=E, batch_size=BATCH, key=key).params
        )
        warm.append(time.perf_counter() - t0)
    res["run_s"]["nb.fit, warm cache"] = float(np.median(warm))
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
