"""The test suite itself: no test reads a clock."""

import ast
import pathlib

# --- no test reads a clock (CONTRIBUTING: tests count, they never time)

CLOCKS = {
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "process_time"),
    ("time", "time_ns"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter_ns"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
}


def _clock_reads(path):
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in CLOCKS
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            names = {a.name for a in node.names}
            if names & {attr for _, attr in CLOCKS}:
                found.append(f"{path.name}:{node.lineno}: from {node.module} import {names}")
    return found


def test_no_test_reads_a_clock():
    tests = sorted(pathlib.Path(__file__).parent.rglob("*.py"))
    assert len(tests) > 20
    found = [hit for path in tests for hit in _clock_reads(path)]
    assert not found, found


def test_the_clock_finder_finds_clocks(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import time\nt = time.monotonic()\nassert time.perf_counter() - t < 60\n")
    assert len(_clock_reads(probe)) == 2
