import atexit
import os
import shutil
import tempfile

# scikit-learn's check_array_api_input runs only when SciPy's array-API mode was on
# before SciPy's first import (tests/sklearn/test_mlp.py runs every estimator check).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# nb.fit and the command line turn JAX's persistent compilation cache on; tests keep it
# out of the user's ~/.cache, in one throw-away folder per run: made by the first pytest
# process, inherited by its xdist workers and the commands the tests start, so that a
# program one worker compiled is read, not compiled, by the other (a folder of the
# user's $JAX_COMPILATION_CACHE_DIR is not used).
if not os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="nnbasics-tests-")
    # removed when this process ends (the commands the tests start have ended by then)
    atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
# Unbounded, by JAX's own variable (nnbasics leaves it as given): a bounded cache reads the
# access time of every entry at each write, and a run writes thousands of entries to its
# throw-away folder (the tests of the bound set their own). Nor does anything evict from it
# while another process reads it. Both variables are set before JAX is imported, which
# reads them into its flags then (as it does in the workers, which inherit them).
os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"] = "-1"

import jax
import numpy as np
import pytest

# Gradient and optimizer comparisons are made in float64 (DESIGN.md, Conventions).
jax.config.update("jax_enable_x64", True)

from nnbasics import compilation  # noqa: E402 (float64 is on before nnbasics is imported)

# Every program of the suite (the tests' own jax.jit references, the commands and workers
# it starts) compiles with nnbasics' compiler options, as nnbasics' programs do: XLA reads
# $XLA_FLAGS when JAX starts its CPU client, after this. The suite is compile-bound, and
# its compilations take about 30 % less time so. tests/test_compilation.py, which compares
# the options with XLA's default code generator, names that generator explicitly.
_FLAGS = compilation.xla_flags()
if _FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAGS}".strip()


# --doctest-modules (pyproject.toml) would import every module here; the helpers
# named _*.py run a worker or hold fixtures and are imported by the tests themselves.
collect_ignore_glob = ["_*.py", "*/_*.py"]


# --- nothing skips silently in CI

# Skips that are about the platform itself, not a missing port, package or extra;
# matched against the skip reason. Each must be documented in docs/testing.md.
PLATFORM_SKIPS = ("not root",)


def _strict() -> bool:
    return os.environ.get("CI") == "true"


def _unallowed_skip(report) -> str | None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return None
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if any(allowed in reason for allowed in PLATFORM_SKIPS):
        return None
    return reason


def _fail(report, reason):
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which allows no skip: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _strict() and (reason := _unallowed_skip(report)) is not None:
        _fail(report, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _strict() and (reason := _unallowed_skip(report)) is not None:
        _fail(report, reason)


# --- long tests first


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled the items
def pytest_collection_modifyitems(items):
    """Moves the long tests (marked ``slow`` or ``multiprocess``) to the front, each group
    in its shuffled order: the workers start on them, and what is left at the end of a
    run is short tests that both workers share, not one worker's minute-long test."""
    items.sort(
        key=lambda item: (
            not any(item.iter_markers("slow")) and not any(item.iter_markers("multiprocess"))
        )
    )


# --- fixtures shared by test modules in several folders (imports inside: float64 is
# switched on above, before nnbasics is first imported)


@pytest.fixture
def fresh_programs(tmp_path):
    """An empty program cache and program store, so that what a test compiles does not
    depend on the tests before it."""
    from tests._helpers.compiles import fresh_programs

    with fresh_programs(tmp_path / "programs"):
        yield


@pytest.fixture(scope="module")
def iris():
    """Iris, standardized, shuffled: (train 100, valid 50) in float64 (the checkpoint tests)."""
    import nnbasics as nb

    X, y = nb.data.load("iris")
    X = np.asarray(X, np.float64)
    X = (X - X.mean(0)) / X.std(0)
    perm = np.random.default_rng(0).permutation(len(X))
    X, y = X[perm], np.asarray(y)[perm]
    return (X[:100], y[:100]), (X[100:], y[100:])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model file written through the API (no training), and 3000 rows to predict."""
    import nnbasics as nb
    from nnbasics.data import Standardizer

    d = tmp_path_factory.mktemp("models")
    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    params = net.init(jax.random.key(0))
    stats = Standardizer(np.array([1.0, -1.0], np.float32), np.array([2.0, 0.5], np.float32))
    nb.save_model(d / "m.npz", net, params, stats, labels=["a", "b", "c"])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 2))
    np.savetxt(d / "x.csv", X, delimiter=",", header="u,v", comments="", fmt="%.6f")
    return d


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by the CLI on a CSV with a header (integer class labels)."""
    from nnbasics import cli
    from tests._helpers.features import NAMES, three_scales, write_table

    d = tmp_path_factory.mktemp("byname")
    X, y = three_scales()
    write_table(d / "train.csv", [*NAMES, "label"], [[*x, t] for x, t in zip(X, y)])
    code = cli.main(
        ["train", "--data", str(d / "train.csv"), "--target", "label", "--hidden-sizes", "8"]
        + ["--epochs", "3", "--batch-size", "16", "--quiet", "--save", str(d / "m.npz")]
    )
    assert code == 0
    X_new = X[:10]
    write_table(d / "inorder.csv", NAMES, X_new)
    order = [2, 0, 1]
    write_table(d / "shuffled.csv", [NAMES[j] for j in order], X_new[:, order])
    write_table(
        d / "shuffled_target.csv",
        ["label", "gamma", "alpha", "beta"],
        [[t, *x[order]] for x, t in zip(X_new, y)],
    )
    write_table(d / "renamed.csv", ["alpha", "beta", "delta"], X_new)
    write_table(d / "missing.csv", ["alpha", "beta"], X_new[:, :2])
    write_table(d / "headerless.csv", None, X_new)
    write_table(d / "headerless_target.csv", None, [[*x, t] for x, t in zip(X_new, y)])
    write_table(d / "headerless_wide.csv", None, [[*x, t, 0] for x, t in zip(X_new, y)])
    return d


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The documentation site built once per test process with `mkdocs build --strict`."""
    import pathlib
    import subprocess
    import sys

    pytest.importorskip("mkdocstrings_handlers.python", reason="needs the docs extra")
    out_dir = tmp_path_factory.mktemp("docs") / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out_dir)],
        cwd=pathlib.Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out_dir
