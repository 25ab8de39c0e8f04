"""scikit-learn's GridSearchCV against nnbasics.sklearn.GridSearchCV, whole processes.

    python benchmarks/sklearn_search.py                         # digits 16, mnist1d 16 64 256
    python benchmarks/sklearn_search.py --rounds 3 --jobs digits:16 mnist1d:16 mnist1d:64:1

Each job is a grid of learning rates × alphas (16 = 4 × 4, 64 = 8 × 8, 256 = 16 × 16,
log-spaced over 1e-4..3e-3 and 1e-5..1e-2) searched with cv=3 (stratified folds) on
a stratified 75/25 split of the data set (features scaled to unit variance on the
training part), then the best configuration refit on the whole training part and
scored on the test part. Both sides search
``MLPClassifier((128,), batch_size=32, max_iter=30)`` with Adam:

* scikit-learn: ``sklearn.model_selection.GridSearchCV(sklearn.neural_network.
  MLPClassifier(...), n_jobs=-1)`` (its default tol/n_iter_no_change may stop a
  fit before 30 epochs, which can only make it faster);
* nnbasics: ``nnbasics.sklearn.GridSearchCV(nnbasics.sklearn.MLPClassifier(...))``,
  every (configuration × fold) pair trained together, 30 epochs each; float32,
  a fresh persistent compilation cache per run (every run compiles), or with
  ``--cache warm`` one cache per job that an untimed nnbasics run fills first (the
  second run of the same script: nnbasics turns JAX's persistent cache on by default).

Each run is a fresh ``python`` process timed from start to exit (imports,
compilation, the search and the refit included); the two contenders alternate
round by round so the machine's load hits both alike; the median is reported,
of the wall-clock seconds and of the CPU seconds (user + system, the process and
its workers), which a shared machine's load disturbs less.
Writes ``<out>/sklearn_search.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

COMMON = """
import sys, time, warnings, json
import numpy as np
warnings.filterwarnings("ignore")
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
import nnbasics as nb
name, size = sys.argv[1], int(sys.argv[2])
X, y = nb.data.load(name)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(Xtr)
Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
k = int(round(size ** 0.5))
grid = {"learning_rate_init": list(np.geomspace(1e-4, 3e-3, k)),
        "alpha": list(np.geomspace(1e-5, 1e-2, k))}
"""

SKLEARN = (
    COMMON
    + """
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
est = MLPClassifier((128,), batch_size=32, max_iter=30, random_state=0)
search = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(Xtr, ytr)
print("RESULT", json.dumps({"test_accuracy": search.score(Xte, yte),
                            "cv_score": search.best_score_}))
"""
)

NNBASICS = (
    COMMON
    + """
from nnbasics.sklearn import GridSearchCV, MLPClassifier
est = MLPClassifier((128,), batch_size=32, max_iter=30, random_state=0)
search = GridSearchCV(est, grid, cv=3).fit(Xtr, ytr)
assert search.batched_
print("RESULT", json.dumps({"test_accuracy": search.score(Xte, yte),
                            "cv_score": search.best_score_}))
"""
)

CONTENDERS = {"scikit-learn": SKLEARN, "nnbasics": NNBASICS}


def run_once(code: str, name: str, size: int, cache: str | None = None) -> dict:
    """One whole process: wall seconds from start to exit, and what it printed.

    ``cache``: the persistent compilation cache to use; None for a fresh one (cold)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as fresh:
        env["JAX_COMPILATION_CACHE_DIR"] = cache or fresh
        cpu_before = _children_cpu()
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, name, str(size)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
    if out.returncode != 0:
        raise RuntimeError(f"{name} {size}: exit {out.returncode}\n{out.stderr[-2000:]}")
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]), seconds=wall, cpu_seconds=cpu)


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (and theirs: loky's workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_job(name: str, size: int, rounds: int, warm: bool = False) -> dict:
    runs = {k: [] for k in CONTENDERS}
    job_cache = tempfile.TemporaryDirectory() if warm else None
    cache = job_cache.name if job_cache else None
    if cache:
        run_once(NNBASICS, name, size, cache)  # untimed: fills the cache
    for r in range(rounds):
        # alternate which contender goes first, round by round
        order = list(CONTENDERS) if r % 2 == 0 else list(CONTENDERS)[::-1]
        for who in order:
            result = run_once(CONTENDERS[who], name, size, cache if who == "nnbasics" else None)
            runs[who].append(result)
            print(
                f"{name} {size:4d} round {r + 1}: {who:12s} {result['seconds']:7.1f} s "
                f"({result['cpu_seconds']:7.1f} s CPU)  "
                f"test acc {result['test_accuracy']:.4f}",
                flush=True,
            )
    summary = {}
    for who, rs in runs.items():
        summary[who] = dict(
            median_seconds=statistics.median(r["seconds"] for r in rs),
            seconds=[r["seconds"] for r in rs],
            median_cpu_seconds=statistics.median(r["cpu_seconds"] for r in rs),
            cpu_seconds=[r["cpu_seconds"] for r in rs],
            test_accuracy=rs[0]["test_accuracy"],
            cv_score=rs[0]["cv_score"],
        )
    if job_cache:
        job_cache.cleanup()
    sk, ours = summary["scikit-learn"], summary["nnbasics"]
    summary["speedup"] = sk["median_seconds"] / ours["median_seconds"]
    summary["cpu_ratio"] = sk["median_cpu_seconds"] / ours["median_cpu_seconds"]
    cache_mode = "warm" if warm else "cold"
    return dict(data=name, configs=size, rounds=rounds, cache=cache_mode, **summary)


def write(results: list, out: Path, load: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "sklearn_search.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# scikit-learn GridSearchCV vs nnbasics.sklearn.GridSearchCV",
        "",
        "Written by `benchmarks/sklearn_search.py` (its docstring: the job and the method).",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}; {load}",
        "",
        "| data | configs | fits | rounds | nnbasics cache | scikit-learn s (median) "
        "| nnbasics s (median) | speed-up | CPU s scikit-learn | CPU s nnbasics | CPU ratio "
        "| test acc scikit-learn | test acc nnbasics |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sk, nb = r["scikit-learn"], r["nnbasics"]
        lines.append(
            f"| {r['data']} | {r['configs']} | {3 * r['configs']} | {r['rounds']} "
            f"| {r.get('cache', 'cold')} "
            f"| {sk['median_seconds']:.1f} | {nb['median_seconds']:.1f} | {r['speedup']:.2f}× "
            f"| {sk['median_cpu_seconds']:.1f} | {nb['median_cpu_seconds']:.1f} "
            f"| {r['cpu_ratio']:.2f}× | {sk['test_accuracy']:.4f} | {nb['test_accuracy']:.4f} |"
        )
    (out / "sklearn_search.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--jobs",
        nargs="+",
        default=["digits:16", "mnist1d:16", "mnist1d:64", "mnist1d:256"],
        help="data:configs[:rounds] (configs a square: 16, 64, 256; rounds: --rounds)",
    )
    parser.add_argument(
        "--cache",
        choices=["cold", "warm"],
        default="cold",
        help="nnbasics' compilation cache: fresh per run, or filled by an untimed run first",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    load = "load average before: " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    results = []
    for job in args.jobs:
        name, size, *rounds = job.split(":")
        rounds = int(rounds[0]) if rounds else args.rounds
        results.append(run_job(name, int(size), rounds, warm=args.cache == "warm"))
        write(results, args.out, load)  # after each job, so a long run keeps what it did
    load += "; after: " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    write(results, args.out, load)


if __name__ == "__main__":
    main()
