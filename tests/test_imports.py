"""`import nnbasics` stays light: no scikit-learn, matplotlib, rich or pandas.

Each check runs in a fresh interpreter: the test process itself may have
imported them already.
"""

import os
import subprocess
import sys
import tempfile

# pandas: ~0.3 s of every process; imported where a data file is first read
HEAVY = ("sklearn", "matplotlib", "rich", "pandas")


def _modules_after(code: str) -> set[str]:
    """Top-level module names in ``sys.modules`` after running ``code`` afresh."""
    script = code + "\nimport sys\nprint(' '.join({m.split('.')[0] for m in sys.modules}))"
    # A throw-away cache: loading mnist1d writes its generated set there.
    env = dict(os.environ, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="nnbasics-imports-"))
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
    )
    return set(out.stdout.split())


def test_import_nnbasics_imports_no_heavy_package():
    loaded = _modules_after("import nnbasics")
    assert "nnbasics" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_loading_every_set_does_not_import_sklearn():
    loaded = _modules_after(
        "import nnbasics as nb\n"
        "import importlib.util\n"
        "for name in nb.data.names():\n"
        "    if name == 'mnist1d' and not importlib.util.find_spec('mnist1d'):\n"
        "        continue  # an optional extra\n"
        "    X, y = nb.data.load(name)\n"
        "    assert X.shape[0] > 0 and y.shape[0] == X.shape[0]"
    )
    assert "nnbasics" in loaded and "sklearn" not in loaded
