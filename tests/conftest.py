import atexit
import os
import shutil
import tempfile

# scikit-learn's check_array_api_input runs only when SciPy's array-API mode was on
# before SciPy's first import (tests/test_sklearn.py runs every estimator check).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import jax
import pytest

# Gradient and optimizer comparisons are made in float64 (DESIGN.md, Conventions).
jax.config.update("jax_enable_x64", True)

# The command line turns JAX's persistent compilation cache on; tests keep it
# out of the user's ~/.cache (one throw-away directory per test process).
# One folder per pytest process: xdist workers inherit the controller's
# environment, and two processes evicting from one capped cache race on its files.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="nnbasics-tests-")
    # removed when this process ends (the commands the tests start have ended by then)
    atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)

# --doctest-modules (pyproject.toml) would import every module here; the helpers
# named _*.py run a worker or hold fixtures and are imported by the tests themselves.
collect_ignore_glob = ["_*.py"]


# --- nothing skips silently in CI (issue 21)

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
