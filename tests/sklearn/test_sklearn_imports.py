"""``import nnbasics.sklearn`` loads nothing beyond ``import jax`` and
``import sklearn.neural_network``: its own modules only, the training stack
(optax, nnbasics.train, nnbasics.optim) when an estimator first fits.

A test of what is imported, in fresh interpreters, not of time.
"""

import subprocess
import sys


def _modules(code: str) -> set[str]:
    """The modules ``code`` adds to a fresh interpreter's ``sys.modules``."""
    script = (
        "import sys\nbefore = set(sys.modules)\n"
        + code
        + "\nprint(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    return set(out.stdout.split())


def test_import_nnbasics_sklearn_costs_no_more_than_jax_and_sklearns_mlp():
    baseline = _modules("import jax\nimport sklearn.neural_network")
    loaded = _modules("import nnbasics.sklearn")
    extra = loaded - baseline
    assert "nnbasics.sklearn._mlp" in extra
    assert {m for m in extra if m.split(".")[0] != "nnbasics"} == set()
    assert {"nnbasics.train", "nnbasics.optim", "nnbasics.folds"}.isdisjoint(extra)


def test_the_training_stack_is_imported_by_the_first_fit():
    loaded = _modules(
        "import numpy as np\n"
        "from nnbasics.sklearn import MLPClassifier\n"
        "MLPClassifier((3,), max_iter=1).fit(np.eye(4), [0, 1, 0, 1])"
    )
    assert {"optax", "nnbasics.train", "nnbasics.optim"} <= loaded
