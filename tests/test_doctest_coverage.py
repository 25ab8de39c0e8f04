"""At least 80 % of the public callables carry a >>> example.

The examples themselves run under ``--doctest-modules`` (pyproject.toml); this test
keeps their number from silently dropping as names are added.
"""

import inspect
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from public_api import public_callables  # noqa: E402

GOAL = 0.80


def _has_example(obj) -> bool:
    return ">>>" in (inspect.getdoc(obj) or "")


def test_public_callables_are_found():
    names = public_callables()
    for expected in ("nnbasics.fit", "nnbasics.optim.adam", "nnbasics.sklearn.MLPClassifier"):
        assert expected in names, sorted(names)[:10]


def test_most_public_callables_have_a_doctest_example():
    names = public_callables()
    missing = sorted(name for name, obj in names.items() if not _has_example(obj))
    covered = 1 - len(missing) / len(names)
    assert covered >= GOAL, f"{covered:.0%} of {len(names)} have a >>> example; missing: {missing}"
