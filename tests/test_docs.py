"""The documentation site: the strict build, and every python block in it runs as it stands."""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# Pages whose python blocks are written to run as they stand (each block on its own).
RUNNABLE = ["README.md", "docs/getting-started.md"]


@pytest.mark.slow
def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocstrings_handlers.python", reason="needs the docs extra")
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs not installed (pip install '.[docs]')")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    api = tmp_path / "site" / "api"
    assert (api / "nnbasics.optim.html").exists()
    assert "nnbasics.optim.adam" in (api / "nnbasics.optim.html").read_text()
    assert "nnbasics train" in (tmp_path / "site" / "cli.html").read_text()


def _blocks():
    for page in RUNNABLE:
        for i, code in enumerate(BLOCK.findall((ROOT / page).read_text())):
            # the README's example trains for 100 epochs: slow on 2 shared cores
            marks = [pytest.mark.slow] if page == "README.md" else []
            yield pytest.param(code, id=f"{page}#{i}", marks=marks)


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code):
    exec(compile(code, "<docs block>", "exec"), {})
