"""The documentation site, built once for the tests of this folder."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> pathlib.Path:
    """The site built with `mkdocs build --strict` (warnings are errors)."""
    pytest.importorskip("mkdocstrings_handlers.python", reason="needs the docs extra")
    out_dir = tmp_path_factory.mktemp("docs") / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out_dir
