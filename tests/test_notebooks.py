"""Executes every notebook in notebooks/ top to bottom on a fresh kernel.

Each notebook runs in a temporary copy of the notebooks directory (the
committed files, outputs included, are never rewritten); a cell that raises
fails the test. The kernel is "python3", which jupyter_client resolves to
ipykernel in the running interpreter's environment, so the kernel imports the
same nnbasics as the tests. Kernels are separate processes: the float64
setting of tests/conftest.py does not reach them (the notebooks that need
float64 enable it themselves). They inherit the environment, where
NNBASICS_NOTEBOOK_QUICK=1 asks a notebook that reads it (07) for fewer seeds,
epochs and configurations than its committed full run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

import nnbasics.cli.gradcheck
import nnbasics.compilation

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


# `nnbasics gradcheck`'s per-program compiler options, as XLA_FLAGS for the kernels
QUICK_COMPILE = nnbasics.compilation.xla_flags(nnbasics.cli.gradcheck._QUICK_COMPILE)

# Notebooks that need an optional extra, and the module it provides.
NEEDS = {"07_mnist1d": "mnist1d"}


def test_notebooks_present():
    assert [p.stem[:2] for p in PATHS] == ["01", "02", "03", "04", "05", "06", "07"]


def _build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_cells_are_their_sources(path):
    """The committed notebook (what runs here and on the site) is its linted _src file."""
    cells = _build_module().parse(NOTEBOOKS / "_src" / f"{path.stem}.py")
    built = nbformat.read(path, as_version=4).cells
    assert [(c.cell_type, c.source) for c in built] == [(c.cell_type, c.source) for c in cells]


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    module = NEEDS.get(path.stem)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{path.stem} needs the optional package {module}")
    monkeypatch.setenv("NNBASICS_NOTEBOOK_QUICK", "1")
    # The kernels compile with XLA's quick-compile options (as `nnbasics gradcheck` does
    # for its one-shot program): a notebook here is compile-bound, and this cuts its run
    # by about a quarter. They change float32 results in the last bits (a float32
    # optimizer run can end elsewhere), so nothing a notebook prints is compared here;
    # the committed outputs come from default runs (notebooks/_build.py). The suite's own
    # flags (conftest.py) stay on.
    monkeypatch.setenv("XLA_FLAGS", f"{os.environ.get('XLA_FLAGS', '')} {QUICK_COMPILE}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # generated sets land here
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("*.png", "__pycache__"))
    nb = nbformat.read(work / path.name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
