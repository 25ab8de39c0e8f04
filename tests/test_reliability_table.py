"""docs/reliability.md is backed by tests: every row names a test, and every test it names exists."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "reliability.md"
REFERENCE = re.compile(r"(tests/test_\w+\.py)(?:::(\w+))?")


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
        c[0] for c in body if not re.search(r"tests/test_\w+\.py|benchmarks/\w+\.py", c[-1])
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
