"""What a user waits for: whole processes, imports and compilation included.

    python benchmarks/whole_process.py                  # 5 rounds, writes benchmarks/results/
    python benchmarks/whole_process.py --rounds 3 --before /path/to/older/checkout

Two jobs, each a fresh process per run, the contenders alternated round by round
(so that the shared machine's load hits them alike), median reported:

* **train**: ``nnbasics train --quiet`` (digits, 64-256-10, Adam, batch 32, L2 1e-3,
  early stopping) with an empty and with a warm persistent compilation cache,
  against ``peers/sklearn_train.py`` and ``peers/torch_train.py``, which do the same
  job; the whole process is timed (wall clock from ``subprocess`` start to exit).
* **fit**: ``nb.fit`` on digits 64-128-128-10, Adam 1e-3, batch 200, 200 epochs, the
  fit call alone timed inside a fresh process (empty / warm cache), against
  ``MLPClassifier`` and a PyTorch eager loop on the same split.

Then the XLA compilations of each command (``JAX_LOG_COMPILES``): how many, and the
seconds XLA spent, with this checkout and, with ``--before``, an older one.
Writes ``<out>/whole_process_<device>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FIT_NNBASICS = """
import os, time, jax, nnbasics as nb
from nnbasics import bench
if os.environ.get("BENCH_CACHE"):
    nb.enable_compilation_cache(os.environ["BENCH_CACHE"])
tr, te = bench.digits_split()
net = nb.MLP(bench.SMALL, hidden="relu", output="softmax")
params = jax.block_until_ready(net.init(jax.random.key(1)))
t = time.perf_counter()
r = nb.fit(net, params, nb.optim.adam(bench.LR), tr, epochs=200, batch_size=bench.BATCH,
           key=jax.random.key(2))
jax.block_until_ready(r.params)
print("FIT", time.perf_counter() - t, bench._accuracy(net, r.params, te))
"""

FIT_SKLEARN = """
import time, numpy as np
from nnbasics import bench
from sklearn.neural_network import MLPClassifier
tr, te = bench.digits_split()
clf = MLPClassifier(bench.SMALL[1:-1], solver="adam", learning_rate_init=bench.LR,
                    batch_size=bench.BATCH, max_iter=200, alpha=0.0, tol=0.0,
                    n_iter_no_change=10**9, shuffle=True, random_state=0)
t = time.perf_counter()
clf.fit(*tr)
print("FIT", time.perf_counter() - t, float(np.mean(clf.predict(te[0]) == te[1])))
"""

FIT_TORCH = """
import time, numpy as np, torch
from nnbasics import bench
tr, te = bench.digits_split()
torch.manual_seed(0)
sizes = bench.SMALL
layers = []
for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
model = torch.nn.Sequential(*layers[:-1])
X, y = torch.tensor(tr[0]), torch.tensor(tr[1], dtype=torch.long)
t = time.perf_counter()
opt = torch.optim.Adam(model.parameters(), lr=bench.LR)
nll = torch.nn.CrossEntropyLoss()
for epoch in range(200):
    for idx in torch.randperm(len(X)).split(bench.BATCH):
        opt.zero_grad()
        nll(model(X[idx]), y[idx]).backward()
        opt.step()
dt = time.perf_counter() - t
with torch.no_grad():
    acc = float((model(torch.tensor(te[0])).argmax(1).numpy() == te[1]).mean())
print("FIT", dt, acc)
"""

_COMPILED = re.compile(r"Finished XLA compilation of (.+?) in ([0-9.e+-]+) sec")


def _env(cache_home: str | None, pythonpath: str | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = cache_home
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(extra)
    return env


def _run(argv, env, cwd=ROOT) -> tuple[float, str, str]:
    """(wall seconds, stdout, stderr) of one fresh process; raises on failure."""
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(f"{argv} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return wall, out.stdout, out.stderr


def _fit_seconds(stdout: str) -> tuple[float, float]:
    line = next(l for l in stdout.splitlines() if l.startswith("FIT "))
    _, seconds, accuracy = line.split()
    return float(seconds), float(accuracy)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def bench_train(rounds: int, log, before: str | None = None) -> dict:
    """Whole-process wall time of the train job, per contender (median over rounds).

    With ``before`` (an older checkout), its ``nnbasics train`` runs in the same
    rounds, alternated with this checkout's.
    """
    py = sys.executable
    cli = [py, "-m", "nnbasics", "train", "--quiet"]
    warm_home = tempfile.mkdtemp(prefix="nnb-warm-")
    _run(cli, _env(warm_home))  # fills the warm cache
    contenders = {}
    if before:
        old_warm = tempfile.mkdtemp(prefix="nnb-warm-before-")
        _run(cli, _env(old_warm, before), cwd=before)
        contenders["before: nnbasics train --quiet, empty compilation cache"] = lambda: _run(
            cli, _env(tempfile.mkdtemp(prefix="nnb-empty-"), before), cwd=before
        )[0]
        contenders["before: nnbasics train --quiet, warm compilation cache"] = lambda: _run(
            cli, _env(old_warm, before), cwd=before
        )[0]
    contenders |= {
        "nnbasics train --quiet, empty compilation cache": lambda: _run(
            cli, _env(tempfile.mkdtemp(prefix="nnb-empty-"))
        )[0],
        "nnbasics train --quiet, warm compilation cache": lambda: _run(cli, _env(warm_home))[0],
        "scikit-learn script (peers/sklearn_train.py)": lambda: _run(
            [py, str(HERE / "peers" / "sklearn_train.py")], _env(None)
        )[0],
    }
    if _has("torch"):
        contenders["PyTorch eager script (peers/torch_train.py)"] = lambda: _run(
            [py, str(HERE / "peers" / "torch_train.py")], _env(None)
        )[0]
    samples = {k: [] for k in contenders}
    for r in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(fn())
        log(
            f"  train round {r + 1}/{rounds}: "
            + ", ".join(f"{v[-1]:.2f}" for v in samples.values())
        )
    return {k: {"median_s": statistics.median(v), "all_s": v} for k, v in samples.items()}


def bench_fit(rounds: int, log) -> dict:
    """The nb.fit digits job, fit call only, in fresh processes (median over rounds)."""
    py = sys.executable
    warm = tempfile.mkdtemp(prefix="nnb-fit-warm-")
    _run([py, "-c", FIT_NNBASICS], _env(None, BENCH_CACHE=warm))
    contenders = {
        "nnbasics nb.fit, empty compilation cache": lambda: _run(
            [py, "-c", FIT_NNBASICS], _env(None, BENCH_CACHE=tempfile.mkdtemp())
        )[1],
        "nnbasics nb.fit, warm compilation cache": lambda: _run(
            [py, "-c", FIT_NNBASICS], _env(None, BENCH_CACHE=warm)
        )[1],
        "scikit-learn MLPClassifier": lambda: _run([py, "-c", FIT_SKLEARN], _env(None))[1],
    }
    if _has("torch"):
        contenders["PyTorch eager"] = lambda: _run([py, "-c", FIT_TORCH], _env(None))[1]
    samples = {k: [] for k in contenders}
    for r in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(_fit_seconds(fn()))
        log(
            f"  fit round {r + 1}/{rounds}: "
            + ", ".join(f"{v[-1][0]:.2f}" for v in samples.values())
        )
    return {
        k: {
            "median_s": statistics.median(s for s, _ in v),
            "all_s": [s for s, _ in v],
            "test_accuracy": v[0][1],
        }
        for k, v in samples.items()
    }


def count_compilations(checkout: str | None, log) -> dict:
    """XLA compilations (count, seconds) of each command, no persistent cache.

    ``checkout``: run another checkout's nnbasics (its directory first on the
    path, and as the working directory, which ``python -m`` puts first).
    """
    py = sys.executable
    commands = {
        "nnbasics train --quiet": [py, "-m", "nnbasics", "train", "--quiet"],
        "nnbasics gradcheck": [py, "-m", "nnbasics", "gradcheck"],
        "nb.fit digits job (whole script)": [py, "-c", FIT_NNBASICS],
    }
    result = {}
    for name, argv in commands.items():
        env = _env(tempfile.mkdtemp(), checkout, JAX_LOG_COMPILES="1")
        cwd = checkout or ROOT
        argv = argv + (
            ["--no-compile-cache"] if "--no-compile-cache" in _help(argv, env, cwd) else []
        )
        wall, _, err = _run(argv, env, cwd)
        found = _COMPILED.findall(err)
        result[name] = {
            "compilations": len(found),
            "compile_s": sum(float(s) for _, s in found),
            "wall_s": wall,
        }
        log(f"  {name}: {len(found)} compilations, {result[name]['compile_s']:.2f} s")
    return result


def _help(argv, env, cwd) -> str:
    if argv[1] != "-m":
        return ""
    out = subprocess.run(argv[:4] + ["--help"], env=env, capture_output=True, text=True, cwd=cwd)
    return out.stdout


def machine() -> dict:
    import importlib.metadata as md

    def version(dist):
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
        **{d: version(d) for d in ("jax", "jaxlib", "scikit-learn", "torch", "numpy")},
    }


def render(res: dict) -> str:
    lines = [
        f"# Whole-process benchmarks ({res['device']})",
        "",
        f"{res['date']}; {res['machine']}; {res['rounds']} rounds, medians; "
        "contenders alternated round by round.",
        "",
    ]
    for job, title, base in (
        (
            "train",
            "`nnbasics train --quiet` vs the same job, whole process (wall, imports included)",
            "scikit-learn script",
        ),
        (
            "fit",
            "`nb.fit` digits 64-128-128-10, 200 epochs, fit call only, fresh process",
            "scikit-learn MLPClassifier",
        ),
    ):
        rows = res.get(job)
        if not rows:  # skipped
            continue
        peer = next(v["median_s"] for k, v in rows.items() if k.startswith(base))
        lines += [
            f"## {title}",
            "",
            f"| contender | median | samples | speed-up vs {base} |",
            "|---|---|---|---|",
        ]
        for name, row in rows.items():
            lines.append(
                f"| {name} | {row['median_s']:.2f} s | "
                + " ".join(f"{s:.2f}" for s in row["all_s"])
                + f" | {peer / row['median_s']:.2f}× |"
            )
        lines.append("")
    if res.get("compilations"):
        lines += [
            "## XLA compilations per command (no persistent cache)",
            "",
            "| command | checkout | compilations | XLA compile seconds | wall |",
            "|---|---|---|---|---|",
        ]
    for label, table in res.get("compilations", {}).items():
        for name, row in table.items():
            lines.append(
                f"| {name} | {label} | {row['compilations']} | "
                f"{row['compile_s']:.2f} s | {row['wall_s']:.2f} s |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--before", default=None, help="an older checkout whose compilations are counted too"
    )
    parser.add_argument("--skip", nargs="*", default=(), choices=("train", "fit", "compilations"))
    args = parser.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    import jax

    device = jax.devices()[0].platform
    res = {
        "device": device,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "rounds": args.rounds,
    }
    if "compilations" not in args.skip:
        res["compilations"] = {"this checkout": count_compilations(None, log)}
        if args.before:
            res["compilations"]["before (" + args.before + ")"] = count_compilations(
                args.before, log
            )
    if "train" not in args.skip:
        res["train"] = bench_train(args.rounds, log, args.before)
    if "fit" not in args.skip:
        res["fit"] = bench_fit(args.rounds, log)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"whole_process_{device}.json").write_text(json.dumps(res, indent=1))
    (args.out / f"whole_process_{device}.md").write_text(render(res))
    print(json.dumps({k: v for k, v in res.items() if k != "machine"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
