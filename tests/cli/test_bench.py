"""``nnbasics bench`` forwarding to the benchmarks."""

import sys

from tests._helpers.cli import run


def test_bench_is_forwarded(capsys, monkeypatch):
    seen = {}

    class FakeBench:
        @staticmethod
        def main(argv):
            seen["argv"] = argv
            return 0

    monkeypatch.setitem(sys.modules, "nnbasics.bench", FakeBench)
    code, _, _ = run(capsys, "bench", "--quick", "--out", "x")
    assert code == 0
    assert seen["argv"] == ["--quick", "--out", "x"]


def test_bench_missing_module(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nnbasics.bench", None)  # import raises ModuleNotFoundError
    code, _, err = run(capsys, "bench")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nnbasics: error: ")
