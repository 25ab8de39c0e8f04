"""Kernel-level benchmarks: one training step, the GEMM rate it is measured against, vmap over networks, epoch time vs data size."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnbasics import optim, train
from nnbasics.bench.common import (
    BATCH,
    LARGE,
    LR,
    SMALL,
    Config,
    _block,
    _n_weights,
    _round_robin,
    _timed,
    digits_split,
)
from nnbasics.bench.end_to_end import (
    _epoch_fn,
)
from nnbasics.mlp import MLP


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
    cases: dict[str, tuple[tuple[int, ...], jax.Array, jax.Array, int]] = {
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
