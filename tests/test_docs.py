"""The documentation site: the strict build, every python block in it runs as it stands,
and docs/reliability.md is backed by tests (every row names a test, and every test it names exists)."""

import ast
import contextlib
import functools
import http.server
import json
import pathlib
import re
import subprocess
import threading
from pathlib import Path

import pytest

from tests._helpers.browser import chromium

ROOT = pathlib.Path(__file__).resolve().parent.parent


BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


# Pages whose python blocks are written to run as they stand (each block on its own).
RUNNABLE = ["README.md", "docs/getting-started.md"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "topics").glob("*.md")
)


@pytest.mark.slow
def test_site_builds_strict(built_site):
    api = built_site / "api"
    assert (api / "nnbasics.optim.html").exists()
    assert "nnbasics.optim.adam" in (api / "nnbasics.optim.html").read_text()
    assert "nnbasics train" in (built_site / "cli.html").read_text()
    # the notebooks as tutorials, with their committed outputs (figures beside the page)
    tutorial = (built_site / "tutorials" / "01_logistic_regression.html").read_text()
    assert (
        "<img" in tutorial and (built_site / "tutorials" / "01_logistic_regression_1.png").exists()
    )
    # topic pages link their code to its reference entry
    topic = (built_site / "topics" / "logistic-linear-regression.html").read_text()
    assert "../api/nnbasics.logistic.html#nnbasics.logistic.nll" in topic


@contextlib.contextmanager
def _serve(root):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "math"),
    [
        ("index.html", True),
        ("guide.html", True),
        ("topics/newton.html", True),
        ("api/nnbasics.optim.html", False),
    ],
)
def test_page_in_headless_chromium(built_site, page, math, tmp_path):
    """The page loads offline with no console error, and its equations are typeset."""
    browser = chromium()
    with _serve(built_site) as url:
        out = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={tmp_path}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{url}/{page}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 0, out.stderr[-2000:]
    errors = [
        l for l in out.stderr.splitlines() if "CONSOLE" in l and ("rror" in l or "Uncaught" in l)
    ]
    assert not errors, errors
    dom = out.stdout
    assert "<article" in dom
    if math:
        assert 'class="katex"' in dom, "equations left as raw TeX"
    assert "fonts.googleapis" not in dom and "cdn." not in dom


@pytest.mark.slow
def test_search_index_finds_adam(built_site):
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    hits = [d["location"] for d in index["docs"] if "adam" in (d["title"] + d["text"]).lower()]
    assert any(h.startswith("api/nnbasics.optim") for h in hits), hits[:5]


def _blocks():
    for page in RUNNABLE:
        for i, code in enumerate(BLOCK.findall((ROOT / page).read_text())):
            # the README's example trains for 100 epochs: slow on 2 shared cores
            marks = [pytest.mark.slow] if page == "README.md" else []
            yield pytest.param(code, id=f"{page}#{i}", marks=marks)


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code):
    exec(compile(code, "<docs block>", "exec"), {})


# --- docs/reliability.md: every row names the test or benchmark that backs it

TABLE = ROOT / "docs" / "reliability.md"
REFERENCE = re.compile(r"(tests/(?:\w+/)*test_\w+\.py)(?:::(\w+))?")


def _rows():
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and not set(cells[0]) <= set("-: "):
            yield line, cells


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def test_every_row_names_a_test_or_a_benchmark():
    body = [cells for _, cells in _rows() if cells[-1] != "test"]
    assert len(body) >= 40, f"expected the reliability tables, found {len(body)} rows"
    unbacked = [
        c[0]
        for c in body
        if not re.search(r"tests/(?:\w+/)*test_\w+\.py|benchmarks/\w+\.py", c[-1])
    ]
    assert not unbacked, f"rows without a test: {unbacked}"


def test_every_named_test_exists():
    missing = []
    for line, _ in _rows():
        for path, name in REFERENCE.findall(line):
            file = ROOT / path
            if not file.exists() or (name and name not in _defined_tests(file)):
                missing.append(f"{path}::{name}" if name else path)
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
