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

import json
import os
import sys

import jax

from nnbasics import _files, compilation
from nnbasics.bench.common import (
    BATCH,
    LARGE,
    LR,
    SLOW_PEER_S,
    SMALL,
    Config,
    UsageError,
    _jax_device,
    _parse,
    digits_split,
    machine_info,
)
from nnbasics.bench.end_to_end import _accuracy as _accuracy
from nnbasics.bench.end_to_end import bench_end_to_end
from nnbasics.bench.kernels import bench_gemm, bench_scaling, bench_steps, bench_vmap
from nnbasics.bench.report import render_md, write_plots


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cfg: Config, log=_log) -> dict:
    # In this process every "cold" row must compile: no persistent cache, neither
    # nnbasics' default one nor one the environment configured. The fresh-process
    # rows give their children a cache of their own.
    compilation.disable_compilation_cache()
    jax.config.update("jax_enable_compilation_cache", False)
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
    results = cfg.out / f"{cfg.device}.json"
    try:  # one bench run per results file, refused before any work
        with _files.reserve(results, "--out"):
            res = run(cfg)
            res["plots"] = write_plots(res, cfg.out, cfg.device)
            with _files.atomic_open(results, "w") as f:
                f.write(json.dumps(res, indent=1, default=float) + "\n")
            with _files.atomic_open(cfg.out / f"{cfg.device}.md", "w") as f:
                f.write(render_md(res))
    except _files.InUseError as e:
        print(f"nnbasics bench: error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {cfg.out / (cfg.device + '.json')}, {cfg.out / (cfg.device + '.md')}"
        + "".join(f", {cfg.out / p}" for p in res["plots"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "SMALL",
    "LARGE",
    "LR",
    "BATCH",
    "SLOW_PEER_S",
    "UsageError",
    "Config",
    "machine_info",
    "digits_split",
    "bench_end_to_end",
    "bench_steps",
    "bench_gemm",
    "bench_vmap",
    "bench_scaling",
    "render_md",
    "write_plots",
    "run",
    "main",
]
