"""Data parallelism on this machine: 1 device vs 1 process × 4 devices vs 2 processes × 2 devices.

    python benchmarks/distributed.py            # writes benchmarks/results/distributed_cpu.{json,md}
    python benchmarks/distributed.py --rounds 1 --epochs 2   # to check the script

Each configuration runs in fresh processes (CPU devices forced with
``JAX_NUM_CPU_DEVICES``; the two-process one started by
``nnbasics.distributed.launch``), the configurations alternated round by round
(so that a shared machine's load hits them alike) and the median over rounds
reported. Each times ``nb.fit`` epoch by epoch (the interval between two epoch
callbacks, each after the epoch's one host sync):

- digits (1797 × 64, MLP 64-256-10, 19,210 parameters) and a synthetic set
  (50,000 × 784, 10 classes from a random linear teacher, MLP 784-256-10,
  203,530 parameters), at batch 256 and 32, Adam 1e-3, float32;
- the first epoch (compilation, agreement check and data placement included)
  and the median of the later ones;
- the all-reduce alone: ``lax.psum`` of P float32 values per device inside a
  compiled loop, for P from 10³ to 4·10⁶ (the per-step gradient all-reduce of
  a network with P parameters).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = {  # name: (processes, CPU devices per process)
    "1 process × 1 device": (1, 1),
    "1 process × 4 devices": (1, 4),
    "2 processes × 2 devices": (2, 2),
}
SETS = {"digits": (64, 256, 10), "synthetic 50000×784": (784, 256, 10)}
BATCHES = (256, 32)
ALLREDUCE_SIZES = (1_000, 10_000, 100_000, 1_000_000, 4_000_000)


# ------------------------------------------------------------------ worker (one process)


def _data(name):
    """(X, y) float32 / int32: standardized digits, or the synthetic set (same in every process)."""
    import numpy as np

    import nnbasics as nb

    if name == "digits":
        X, y = nb.data.load("digits")
        X = (X - X.mean(0)) / (X.std(0) + 1e-6)
        return X.astype(np.float32), y
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50_000, 784), dtype=np.float32)
    teacher = rng.standard_normal((784, 10), dtype=np.float32)
    return X, np.argmax(X @ teacher, axis=1).astype(np.int32)


def _epoch_times(net, data, batch_size, epochs, mesh):
    """(first epoch's seconds, median of the later epochs' seconds) of one nb.fit."""
    import jax

    import nnbasics as nb

    stamps = []
    params = net.init(jax.random.key(0))
    start = time.perf_counter()
    nb.fit(
        net,
        params,
        nb.optim.adam(1e-3),
        data,
        epochs=epochs,
        batch_size=batch_size,
        key=jax.random.key(1),
        mesh=mesh,
        callback=lambda e, m: stamps.append(time.perf_counter()),
    )
    times = [b - a for a, b in zip([start] + stamps, stamps)]
    return times[0], statistics.median(times[1:])


def _allreduce_seconds(mesh, size, repeats=20):
    """Seconds of one all-reduce (lax.psum) of ``size`` float32 values per device."""
    import jax
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    n = mesh.devices.size

    def loop(x):
        return jax.lax.fori_loop(0, repeats, lambda i, v: jax.lax.psum(v, "data") / n, x)

    # check_vma=False: psum's replicated result is fed back as the loop's (per-device) carry.
    f = jax.jit(
        jax.shard_map(loop, mesh=mesh, in_specs=P("data"), out_specs=P("data"), check_vma=False)
    )
    local = np.ones(n * size, np.float32)
    x = jax.make_array_from_callback(
        local.shape, NamedSharding(mesh, P("data")), lambda index: local[index]
    )
    jax.block_until_ready(f(x))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        jax.block_until_ready(f(x))
        best = min(best, (time.perf_counter() - t) / repeats)
    return best


def worker(args) -> None:
    """Runs every measurement of one configuration; process 0 writes them to ``args.out``."""
    from nnbasics import distributed

    if distributed.ENV_NUM_PROCESSES in os.environ:
        distributed.initialize()
    import jax

    import nnbasics as nb

    mesh = distributed.global_mesh() if jax.device_count() > 1 else None
    epochs = args.epochs
    rows = []
    for name, sizes in SETS.items():
        data = _data(name)
        net = nb.MLP(sizes, hidden="relu", output="softmax")
        for batch in BATCHES:
            first, steady = _epoch_times(net, data, batch, epochs, mesh)
            rows.append(
                dict(
                    data=name,
                    batch=batch,
                    steps=-(-len(data[0]) // batch),
                    first_epoch_s=first,
                    epoch_s=steady,
                )
            )
    allreduce = (
        {}
        if mesh is None
        else {str(size): _allreduce_seconds(mesh, size) for size in ALLREDUCE_SIZES}
    )
    if distributed.is_writer():
        Path(args.out).write_text(
            json.dumps(
                dict(
                    rows=rows,
                    allreduce_s=allreduce,
                    epochs=epochs,
                    devices=jax.device_count(),
                    processes=jax.process_count(),
                )
            )
        )


# ------------------------------------------------------------------ driver


def _run(name, epochs, log_dir) -> dict:
    """One configuration's results (fresh processes)."""
    from nnbasics import distributed

    processes, devices = CONFIGS[name]
    out = Path(log_dir) / f"{processes}x{devices}.json"
    argv = [str(Path(__file__).resolve()), "--worker", "--out", str(out), "--epochs", str(epochs)]
    if processes > 1:
        distributed.launch(
            processes,
            argv,
            module=None,
            cpu_devices=devices,
            timeout=3000,
            log_dir=Path(log_dir) / f"{processes}x{devices}",
        )
    else:
        env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(devices))
        subprocess.run([sys.executable, *argv], env=env, check=True, timeout=3000)
    return json.loads(out.read_text())


def _median(runs: list) -> dict:
    """One configuration's rounds merged: the median of every time over the rounds."""
    rows = []
    for i, row in enumerate(runs[0]["rows"]):
        same = [run["rows"][i] for run in runs]
        rows.append(
            dict(
                row,
                first_epoch_s=statistics.median(r["first_epoch_s"] for r in same),
                epoch_s=statistics.median(r["epoch_s"] for r in same),
            )
        )
    allreduce = {
        k: statistics.median(run["allreduce_s"][k] for run in runs) for k in runs[0]["allreduce_s"]
    }
    return dict(runs[0], rows=rows, allreduce_s=allreduce, rounds=len(runs))


def _ms(seconds) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _us(seconds) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def markdown(results: dict, machine: dict, seconds: float) -> str:
    """The results as a Markdown report (tables only; the analysis is in docs/distributed.md)."""
    names = list(results)
    lines = [
        "# Data parallelism on one machine — cpu",
        "",
        f"Generated by `python benchmarks/distributed.py` on {machine['date']} in "
        f"{seconds:.0f} s: {results[names[0]]['rounds']} rounds, the configurations "
        "alternated, the median of the rounds shown. CPU: "
        f"{machine['cpu']}, {machine['cores']} cores available, shared with other work (1-min "
        f"load average at the start of each round: {machine['load_per_round']}); "
        f"jax {machine['versions']['jax']}, Python {machine['python']}; CPU devices forced "
        "with JAX_NUM_CPU_DEVICES, cross-process collectives over gloo (TCP on localhost). "
        "No GPU was used.",
        "",
        "## Time per epoch (median of the epochs after the first)",
        "",
        "Adam 1e-3, float32, data-parallel `nb.fit` over a 1-D mesh of all devices "
        "(1 device: no mesh). In brackets: the time relative to 1 device (> 1 is slower).",
        "",
        "| data | batch | steps/epoch | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    base = {(r["data"], r["batch"]): r for r in results[names[0]]["rows"]}
    for key, b in base.items():
        cells = []
        for name in names:
            r = next(r for r in results[name]["rows"] if (r["data"], r["batch"]) == key)
            cells.append(f"{_ms(r['epoch_s'])} ({r['epoch_s'] / b['epoch_s']:.2f}×)")
        lines.append(f"| {key[0]} | {key[1]} | {b['steps']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## First epoch (compilation, agreement check and data placement included)",
        "",
        "| data | batch | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for key in base:
        cells = [
            _ms(
                next(r for r in results[n]["rows"] if (r["data"], r["batch"]) == key)[
                    "first_epoch_s"
                ]
            )
            for n in names
        ]
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per-step cost: steady epoch time per step",
        "",
        "| data | batch | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for key, b in base.items():
        cells = [
            _us(
                next(r for r in results[n]["rows"] if (r["data"], r["batch"]) == key)["epoch_s"]
                / b["steps"]
            )
            for n in names
        ]
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    reducing = [n for n in names if results[n]["allreduce_s"]]
    lines += [
        "",
        "## One all-reduce (lax.psum of P float32 values per device, in a compiled "
        "loop; best of 3 × 20)",
        "",
        "| P (parameters) | bytes per device | " + " | ".join(reducing) + " |",
        "|---|---|" + "---|" * len(reducing),
    ]
    for size in ALLREDUCE_SIZES:
        cells = [_us(results[n]["allreduce_s"][str(size)]) for n in reducing]
        lines.append(f"| {size:,} | {4 * size / 1e6:g} MB | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Analysis: [docs/distributed.md](../../docs/distributed.md#measured-scaling-"
        "on-this-machine).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds over the configurations")
    p.add_argument(
        "--epochs",
        type=int,
        default=4,
        help="epochs per fit: the first (compilation) and the timed ones",
    )
    p.add_argument("--out-dir", default=str(HERE / "results"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    from nnbasics import bench

    machine = bench.machine_info(
        types.SimpleNamespace(mode="distributed", device="cpu"),
        "cpu (forced devices per configuration)",
    )
    start = time.perf_counter()
    runs = {name: [] for name in CONFIGS}
    machine["load_per_round"] = []
    with tempfile.TemporaryDirectory(prefix="nnbasics-bench-distributed-") as tmp:
        for k in range(args.rounds):
            machine["load_per_round"].append(round(os.getloadavg()[0], 2))
            order = list(CONFIGS)[k % len(CONFIGS) :] + list(CONFIGS)[: k % len(CONFIGS)]
            for name in order:
                print(f"round {k + 1}/{args.rounds}: {name} ...", file=sys.stderr, flush=True)
                runs[name].append(_run(name, args.epochs, tmp))
    results = {name: _median(r) for name, r in runs.items()}
    seconds = time.perf_counter() - start
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "distributed_cpu.json").write_text(
        json.dumps(
            dict(machine=machine, seconds=seconds, configs=CONFIGS, results=results, rounds=runs),
            indent=1,
        )
    )
    (out / "distributed_cpu.md").write_text(markdown(results, machine, seconds))
    print(f"wrote {out / 'distributed_cpu.md'} ({seconds:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
