"""Builds the notebooks from their sources in ``_src/`` and executes them.

Each source is a Python file in the "percent" format (as jupytext writes it):
``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell whose lines
are comments (``# `` is stripped), and ``# %% tags=["figure"]`` marks the code
cell whose first PNG output is also saved as ``figures/<notebook>.png`` for the
README. The executed notebooks (outputs included) are written beside this file.

    python notebooks/_build.py            # all notebooks
    python notebooks/_build.py 03 05      # those whose names start with 03 or 05
    python notebooks/_build.py --no-exec  # write the notebooks without running them
    python notebooks/_build.py --sync 06  # copy changed sources in, keep the outputs

``--sync`` is for edits that do not change what a full run prints (for example a
shorter path under NNBASICS_NOTEBOOK_QUICK): each cell's source is replaced and its
outputs are kept. tests/test_notebooks.py checks that every notebook's cells are its
source's.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SRC = HERE / "_src"
FIGURES = HERE / "figures"
PROFILE = bool(os.environ.get("NB_PROFILE"))
CELL = re.compile(r"^# %%(?P<rest>.*)$")


def parse(path: Path) -> list:
    """The cells of a percent-format source file."""
    cells, kind, tags, lines = [], None, [], []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind is None or not text:
            return
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", line) for line in text.split("\n"))
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            if tags:
                cell.metadata["tags"] = tags
            cells.append(cell)

    for line in path.read_text().split("\n"):
        match = CELL.match(line)
        if match:
            flush()
            rest = match.group("rest").strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            tag_match = re.search(r"tags=(\[.*\])", rest)
            tags = json.loads(tag_match.group(1)) if tag_match else []
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def build(path: Path, execute: bool = True) -> float:
    """Writes (and executes) one notebook; returns its execution time in seconds."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = parse(path)
    seconds = 0.0
    if execute:
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            record_timing=True,
            resources={"metadata": {"path": str(HERE)}},
        ).execute()
        seconds = time.perf_counter() - start
        for i, cell in enumerate(nb.cells):
            if PROFILE and "execution" in cell.metadata:
                ex = cell.metadata["execution"]
                t0, t1 = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
                if t0 and t1:
                    from datetime import datetime

                    dt = datetime.fromisoformat(t1.rstrip("Z")) - datetime.fromisoformat(
                        t0.rstrip("Z")
                    )
                    print(
                        f"  cell {i:2d}  {dt.total_seconds():6.1f} s  {cell.source.splitlines()[0][:60]}"
                    )
            # Execution metadata (timestamps) would change on every build.
            cell.metadata.pop("execution", None)
        save_figure(nb, path.stem)
    out = HERE / f"{path.stem}.ipynb"
    nbformat.write(nb, out)
    return seconds


def sync(path: Path) -> None:
    """Replaces the sources of the built notebook's cells by ``path``'s, keeping outputs."""
    out = HERE / f"{path.stem}.ipynb"
    nb = nbformat.read(out, as_version=4)
    cells = parse(path)
    kinds = [c.cell_type for c in cells]
    if kinds != [c.cell_type for c in nb.cells]:
        raise SystemExit(f"{path.stem}: cells added, removed or reordered: rebuild it")
    for cell, new in zip(nb.cells, cells):
        cell.source = new.source
    nbformat.write(nb, out)


def save_figure(nb, stem: str) -> None:
    for cell in nb.cells:
        if "figure" not in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                FIGURES.mkdir(exist_ok=True)
                (FIGURES / f"{stem}.png").write_bytes(base64.b64decode(png))
                return
    raise RuntimeError(f"{stem}: no PNG output in a cell tagged 'figure'")


def main(argv: list[str]) -> None:
    execute = "--no-exec" not in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    sources = sorted(
        p for p in SRC.glob("*.py") if not prefixes or any(p.stem.startswith(x) for x in prefixes)
    )
    if "--sync" in argv:
        for path in sources:
            sync(path)
            print(f"{path.stem}.ipynb  sources synced")
        return
    total = 0.0
    for path in sources:
        seconds = build(path, execute)
        total += seconds
        print(f"{path.stem}.ipynb  {seconds:6.1f} s", flush=True)
    print(f"total  {total:6.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
