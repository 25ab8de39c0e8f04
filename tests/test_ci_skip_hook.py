"""The suite's CI rule, run for real: under CI=true a skip is a failure.

tests/conftest.py turns every skip (but the documented platform ones) into a
failure when CI=true. Here pytest runs in a subprocess on a throw-away folder
holding a copy of that conftest and a test file that skips, once with CI=true
and once without.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

CONFTEST = pathlib.Path(__file__).parent / "conftest.py"

SKIPPING = """
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("the optional extra is not installed")
"""

SKIPPING_AT_COLLECTION = """
import pytest

pytest.importorskip("a_package_that_is_not_installed")

def test_never_collected():
    assert True
"""

PLATFORM_SKIP = """
import pytest

def test_needs_an_unprivileged_user():
    pytest.skip("runs as root, and this test needs not root")
"""


def _pytest(folder: pathlib.Path, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "."],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _folder(tmp_path: pathlib.Path, source: str) -> pathlib.Path:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(source)
    return tmp_path


@pytest.mark.parametrize("source", [SKIPPING, SKIPPING_AT_COLLECTION], ids=["test", "collection"])
def test_a_skip_fails_under_ci_and_passes_without(tmp_path, source):
    folder = _folder(tmp_path, source)
    strict = _pytest(folder, ci=True)
    assert strict.returncode in (1, 2), strict.stdout + strict.stderr  # 2: a collection error
    assert "skipped under CI=true, which allows no skip" in strict.stdout
    relaxed = _pytest(folder, ci=False)
    assert relaxed.returncode in (0, 5), relaxed.stdout + relaxed.stderr  # 5: nothing collected
    assert "skipped" in relaxed.stdout


def test_a_documented_platform_skip_passes_under_ci(tmp_path):
    strict = _pytest(_folder(tmp_path, PLATFORM_SKIP), ci=True)
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert "1 skipped" in strict.stdout
