"""nnbasics.sklearn's LogisticRegression, LinearRegression and Ridge against scikit-learn's.

    python benchmarks/linear_models.py                 # writes benchmarks/results/linear_models.*
    python benchmarks/linear_models.py --rounds 3

Two races, each run as fresh ``python`` processes timed from start to exit
(imports, compilation and the work included), the contenders alternating;
medians of ``--rounds``:

1. **Fits** on the four tables (breast cancer, iris, wine, digits; features
   standardized): ``LogisticRegression(tol=1e-10)`` by our damped Newton's method
   against scikit-learn's ``lbfgs`` and ``newton-cg`` (``tol=1e-10``), with the
   iterations each took and the largest difference of our coefficients from
   newton-cg's, relative to its largest coefficient; and ``LinearRegression`` /
   ``Ridge(alpha=1)`` on the same tables (the label as the target) against
   scikit-learn's, with the same difference.
2. **The C grid**: ``GridSearchCV(LogisticRegression(), {"C": 16 values}, cv=5)``
   on breast cancer and wine, nnbasics' (every candidate × fold in one vmapped
   Newton solve) against scikit-learn's (one lbfgs fit at a time, its default
   ``n_jobs``), both best C and scores reported. nnbasics runs twice per round:
   first with an empty persistent compilation cache, then again with the cache
   the first run filled (the second run of the same script).

Writes ``<out>/linear_models.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLES = ("breast_cancer", "iris", "wine", "digits")

FIT = """
import sys, json, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler
side, model, table = sys.argv[1:4]
X, y = getattr(datasets, "load_" + table)(return_X_y=True)
X = StandardScaler().fit_transform(X)
if side == "nnbasics":
    import jax
    jax.config.update("jax_enable_x64", True)
    from nnbasics import sklearn as lib
else:
    from sklearn import linear_model as lib
if model == "logistic":
    options = {"tol": 1e-10}
    if side != "nnbasics":
        options.update(solver=side, max_iter=10000)
    est = lib.LogisticRegression(**options).fit(X, y)
    iters = int(np.max(est.n_iter_))
elif model == "ridge":
    est, iters = lib.Ridge(alpha=1.0).fit(X, y.astype(float)), 0
else:
    est, iters = lib.LinearRegression().fit(X, y.astype(float)), 0
coef = np.atleast_2d(est.coef_)
print(json.dumps({"iters": iters, "coef": coef.tolist(), "intercept": np.ravel(est.intercept_).tolist()}))
"""

GRID = """
import sys, json, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler
side, table = sys.argv[1:3]
X, y = getattr(datasets, "load_" + table)(return_X_y=True)
X = StandardScaler().fit_transform(X)
grid = {"C": list(np.geomspace(1e-3, 1e3, 16))}
if side == "nnbasics":
    import jax
    jax.config.update("jax_enable_x64", True)
    from nnbasics.sklearn import GridSearchCV, LogisticRegression
else:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
start = time.perf_counter()
search = GridSearchCV(LogisticRegression(), grid, cv=5).fit(X, y)
print(json.dumps({"search_s": time.perf_counter() - start, "best_C": search.best_params_["C"],
                  "best_score": search.best_score_, "batched": getattr(search, "batched_", None)}))
"""


def _run(code: str, args: list[str], env: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - start, json.loads(out.stdout.strip().splitlines()[-1])


def _env(cache: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if cache is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = cache
    return env


def _rel(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def fits(rounds: int, cache: str) -> list[dict]:
    rows = []
    env = _env(cache)
    for model, sides in (
        ("logistic", ("nnbasics", "lbfgs", "newton-cg")),
        ("linear", ("nnbasics", "sklearn")),
        ("ridge", ("nnbasics", "sklearn")),
    ):
        for table in TABLES:
            times: dict = {s: [] for s in sides}
            result: dict = {}
            for _ in range(rounds):
                for side in sides:
                    seconds, result[side] = _run(FIT, [side, model, table], env)
                    times[side].append(seconds)
            ref = result[sides[-1]]
            rows.append(
                {
                    "model": model,
                    "table": table,
                    "seconds": {s: statistics.median(t) for s, t in times.items()},
                    "iters": {s: result[s]["iters"] for s in sides},
                    "coef_rel_diff": _rel(result["nnbasics"]["coef"], ref["coef"]),
                    "intercept_rel_diff": _rel(result["nnbasics"]["intercept"], ref["intercept"])
                    if any(ref["intercept"])
                    else 0.0,
                }
            )
            print(rows[-1], flush=True)
    return rows


def grids(rounds: int) -> list[dict]:
    rows = []
    for table in ("breast_cancer", "wine"):
        times: dict = {"sklearn": [], "first": [], "second": []}
        inner: dict = {"sklearn": [], "first": [], "second": []}
        result: dict = {}
        for _ in range(rounds):
            seconds, result["sklearn"] = _run(GRID, ["sklearn", table], _env(None))
            times["sklearn"].append(seconds)
            inner["sklearn"].append(result["sklearn"]["search_s"])
            with tempfile.TemporaryDirectory(prefix="nnbasics-bench-cache-") as cache:
                for run in ("first", "second"):
                    seconds, result[run] = _run(GRID, ["nnbasics", table], _env(cache))
                    times[run].append(seconds)
                    inner[run].append(result[run]["search_s"])
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append(
            {
                "table": table,
                "process_seconds": med,
                "search_seconds": {k: statistics.median(v) for k, v in inner.items()},
                "speedup_first": med["sklearn"] / med["first"],
                "speedup_second": med["sklearn"] / med["second"],
                "best": {k: (r["best_C"], r["best_score"]) for k, r in result.items()},
                "batched": result["second"]["batched"],
            }
        )
        print(rows[-1], flush=True)
    return rows


def _markdown(report: dict) -> str:
    lines = [
        "# Linear models: nnbasics.sklearn against scikit-learn",
        "",
        f"Machine: {report['machine']}. {report['note']}",
        f"Medians of {report['rounds']} round(s); whole `python` processes "
        "(imports and compilation included). Made by `benchmarks/linear_models.py`.",
        "",
        "## Fits",
        "",
        "`coef diff`: max |ours − reference| / max |reference| (reference: scikit-learn's "
        "newton-cg for the logistic model, its own estimator otherwise).",
        "",
        "| model | table | nnbasics s | scikit-learn s | iterations (ours / theirs) | coef diff |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["fits"]:
        ours = r["seconds"]["nnbasics"]
        theirs = ", ".join(f"{k} {v:.2f}" for k, v in r["seconds"].items() if k != "nnbasics")
        iters = " / ".join(str(v) for v in r["iters"].values()) if r["model"] == "logistic" else "—"
        lines.append(
            f"| {r['model']} | {r['table']} | {ours:.2f} | {theirs} | {iters} | "
            f"{r['coef_rel_diff']:.1e} |"
        )
    lines += [
        "",
        "## C grid (16 values of C, cv=5)",
        "",
        "| table | scikit-learn s | nnbasics first run s | nnbasics second run s | "
        "speed-up first / second | search alone s (sk / 1st / 2nd) | best C, score (sk / ours) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["grids"]:
        p, s, b = r["process_seconds"], r["search_seconds"], r["best"]
        lines.append(
            f"| {r['table']} | {p['sklearn']:.2f} | {p['first']:.2f} | {p['second']:.2f} | "
            f"{r['speedup_first']:.2f}× / {r['speedup_second']:.2f}× | "
            f"{s['sklearn']:.2f} / {s['first']:.2f} / {s['second']:.2f} | "
            f"{b['sklearn'][0]:.3g}, {b['sklearn'][1]:.4f} / {b['second'][0]:.3g}, "
            f"{b['second'][1]:.4f} |"
        )
    goal = min(r["speedup_second"] for r in report["grids"])
    lines += [
        "",
        f"Goal (batched C grid ≥ 2× scikit-learn's on a second run): "
        f"{'met' if goal >= 2 else 'missed'}, the smallest second-run speed-up is {goal:.2f}×.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument(
        "--note",
        default="The machine was shared with other work while this ran: "
        "absolute times are noisy, ratios of alternating runs less so.",
    )
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"
    with tempfile.TemporaryDirectory(prefix="nnbasics-bench-cache-") as cache:
        fit_rows = fits(args.rounds, cache)
    report = {
        "machine": machine,
        "note": args.note,
        "rounds": args.rounds,
        "fits": fit_rows,
        "grids": grids(args.rounds),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "linear_models.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "linear_models.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
