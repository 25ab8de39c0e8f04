"""Benchmark set-up shared by the measurements: the run's configuration, timing, machine description, data."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import numpy as np

from nnbasics import data

T = TypeVar("T")

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
        default="bench-results",
        help="folder for <device>.json, <device>.md and plots (default: ./bench-results; "
        "the committed results are written with --out benchmarks/results)",
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


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
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
        import torch  # pyright: ignore[reportMissingImports]  # optional: the bench extra
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
