"""A scikit-learn user's script on the small tables scikit-learn ships, as whole processes.

    python benchmarks/small_tables.py                     # writes benchmarks/results/small_tables.md
    python benchmarks/small_tables.py --before /path/to/older/checkout

The script (``SCRIPT`` below) does, on breast cancer, wine, iris (classification)
and diabetes (regression): a ``Pipeline(StandardScaler, MLP)`` fit and its test
score, then an 8-configuration × 3-fold grid search (alpha × learning rate ×
hidden width) with the test score of its refit. It runs, each as a fresh process:

* **nnbasics**: ``nnbasics.sklearn``'s MLP and ``GridSearchCV``, with an empty
  persistent compilation cache (first run) and again with that cache (second run);
* **scikit-learn**: the same script with ``sklearn.neural_network``'s MLP and
  ``sklearn.model_selection.GridSearchCV``;
* **scikit-learn's GridSearchCV over nnbasics' MLP** (first and second run).

The whole process is timed (from ``subprocess`` start to exit); each nnbasics
process also counts the programs JAX lowered (``jax.monitoring``: every new
program of the process, compiled or read from the cache), those read from JAX's
persistent compilation cache (the others were compiled), and those nnbasics loaded
whole from its program store (neither traced nor lowered; see docs/cache.md).
With ``--before``, the nnbasics script also runs on an older checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SCRIPT = r"""
import json, sys, warnings
KIND = sys.argv[1]
programs = {"lowered": 0, "cached": 0, "loaded": 0}
if KIND != "sklearn":
    import jax

    try:  # programs loaded whole from nnbasics' program store: neither traced nor lowered
        from nnbasics import _store

        def counted(path, key, _read=_store._read):
            got = _read(path, key)
            programs["loaded"] += got is not None
            return got

        _store._read = counted
    except ImportError:  # an older checkout (--before) has no store
        pass

    def listen(event, duration, **kw):
        if event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            programs["lowered"] += 1

    def hit(event, **kw):
        if event == "/jax/compilation_cache/cache_hits":
            programs["cached"] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    jax.monitoring.register_event_listener(hit)
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

if KIND == "sklearn":
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
elif KIND == "nnbasics":
    from nnbasics.sklearn import GridSearchCV, MLPClassifier, MLPRegressor
else:
    from sklearn.model_selection import GridSearchCV
    from nnbasics.sklearn import MLPClassifier, MLPRegressor

warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning at max_iter
TABLES = {
    "breast_cancer": (datasets.load_breast_cancer, MLPClassifier),
    "wine": (datasets.load_wine, MLPClassifier),
    "iris": (datasets.load_iris, MLPClassifier),
    "diabetes": (datasets.load_diabetes, MLPRegressor),
}
out = {}
for name, (load, Model) in TABLES.items():
    X, y = load(return_X_y=True)
    if name == "diabetes":
        y = (y - y.mean()) / y.std()  # as a user standardizes a regression target
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    pipe = make_pipeline(
        StandardScaler(), Model(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    )
    fit_score = pipe.fit(X_tr, y_tr).score(X_te, y_te)
    step = pipe.steps[-1][0]
    grid = {
        f"{step}__alpha": [1e-4, 1e-2],
        f"{step}__learning_rate_init": [1e-3, 1e-2],
        f"{step}__hidden_layer_sizes": [(16,), (32,)],
    }
    search = GridSearchCV(pipe, grid, cv=3).fit(X_tr, y_tr)
    out[name] = {
        "fit_score": float(fit_score),
        "search_best_cv": float(search.best_score_),
        "search_test": float(search.score(X_te, y_te)),
    }
print("RESULT " + json.dumps({"scores": out, "programs": programs}))
"""

KINDS = {
    "nnbasics": "nnbasics (MLP + GridSearchCV)",
    "sklearn": "scikit-learn (MLP + GridSearchCV)",
    "sklearn_over_nnbasics": "scikit-learn's GridSearchCV over nnbasics' MLP",
}


def _run(kind: str, cache_home: str, pythonpath: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=cache_home, PYTHONPATH=pythonpath, JAX_PLATFORMS="cpu")
    # run from the checkout measured: ``python -c`` puts the working folder first on sys.path
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, kind],
        env=env,
        capture_output=True,
        text=True,
        cwd=pythonpath,
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]), seconds=seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="an older checkout to run the nnbasics script on too")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    runs: dict = {}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        runs["sklearn"] = _run("sklearn", home, str(ROOT))
    plans = [("nnbasics", str(ROOT)), ("sklearn_over_nnbasics", str(ROOT))]
    if args.before:
        plans.append(("before", args.before))
    for label, path in plans:
        kind = "nnbasics" if label == "before" else label
        with tempfile.TemporaryDirectory() as home:
            for when in ("first run", "second run"):
                runs[f"{label}, {when}"] = _run(kind, home, path)
                # written after every run: a long benchmark cut short keeps what it measured
                Path(args.out, "small_tables.json").write_text(json.dumps(runs, indent=1) + "\n")
                Path(args.out, "small_tables.md").write_text(_report(runs))


def _report(runs: dict) -> str:
    sk = runs["sklearn"]["seconds"]
    lines = [
        "# Small tables: a scikit-learn user's script, whole processes",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.platform()}), shared with other users' work "
        "while this ran, so times are noisy; one process per row, CPU only.",
        "",
        "The script: on breast cancer, wine, iris and diabetes, a Pipeline(StandardScaler, "
        "MLP((32,), max_iter=200)) fit + test score, and an 8-configuration × 3-fold "
        "GridSearchCV (alpha × learning rate × hidden width) + its refit's test score.",
        "",
        "| run | seconds | vs scikit-learn | programs | traced and lowered | of them read "
        "from JAX's persistent cache | loaded whole (not traced) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, run in runs.items():
        p = run["programs"]
        name = KINDS.get(label.split(",")[0], label.split(",")[0])
        when = label.partition(", ")[2]
        loaded = p.get("loaded", 0)
        counts = (
            ("–",) * 4
            if label == "sklearn"
            else (p["lowered"] + loaded, p["lowered"], p["cached"], loaded)
        )
        lines.append(
            f"| {name}{', ' + when if when else ''} | {run['seconds']:.1f} | "
            f"{sk / run['seconds']:.2f}× | " + " | ".join(map(str, counts)) + " |"
        )
    lines += ["", "Scores (accuracy; R² for diabetes):", ""]
    names = list(runs)
    lines.append("| table | score | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for table in runs["sklearn"]["scores"]:
        for score in ("fit_score", "search_best_cv", "search_test"):
            cells = [f"{runs[n]['scores'][table][score]:.3f}" for n in names]
            lines.append(f"| {table} | {score} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
