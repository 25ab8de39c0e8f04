"""The package's layout: every documented import path resolves, and no import circle.

The public paths are the ones DESIGN.md, the README and the docs give users; the
modules behind them may move, the paths may not. The circle check reads each
module's top-level imports from its syntax tree and follows only the edges to
other nnbasics modules (a package's own ``__init__`` importing its parts is the
public face, not a circle; a part importing that ``__init__`` back would be one).
"""

import ast
import importlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "nnbasics"

PUBLIC_PATHS = (
    "nnbasics.MLP",
    "nnbasics.fit",
    "nnbasics.FitResult",
    "nnbasics.save_model",
    "nnbasics.load_model",
    "nnbasics.Model",
    "nnbasics.enable_compilation_cache",
    "nnbasics.train.fit",
    "nnbasics.train.FitResult",
    "nnbasics.train.compile_epoch",
    "nnbasics.train.train_epoch",
    "nnbasics.train.evaluate",
    "nnbasics.train.metrics",
    "nnbasics.train.init_state",
    "nnbasics.train.MONITORS",
    "nnbasics.optim.sgd",
    "nnbasics.optim.momentum",
    "nnbasics.optim.adagrad",
    "nnbasics.optim.rmsprop",
    "nnbasics.optim.adam",
    "nnbasics.optim.adamw",
    "nnbasics.optim.nadam",
    "nnbasics.optim.amsgrad",
    "nnbasics.optim.REGISTRY",
    "nnbasics.optim.get",
    "nnbasics.optim.describe",
    "nnbasics.optim.names",
    "nnbasics.optim.hyperparameters",
    "nnbasics.optim.recipe_of",
    "nnbasics.optim.Recipe",
    "nnbasics.optim.Schedule",
    "nnbasics.schedules.constant",
    "nnbasics.schedules.inverse_time",
    "nnbasics.schedules.power",
    "nnbasics.distributed.initialize",
    "nnbasics.distributed.global_mesh",
    "nnbasics.distributed.launch",
    "nnbasics.distributed.launch_main",
    "nnbasics.distributed.LaunchError",
    "nnbasics.distributed.is_writer",
    "nnbasics.logistic.nll",
    "nnbasics.logistic.grad",
    "nnbasics.logistic.hessian",
    "nnbasics.logistic.newton",
    "nnbasics.logistic.predict_proba",
    "nnbasics.logistic.predict",
    "nnbasics.linear.mse",
    "nnbasics.linear.grad",
    "nnbasics.linear.solve",
    "nnbasics.gradcheck.numerical_grad",
    "nnbasics.gradcheck.rel_error",
    "nnbasics.data.load",
    "nnbasics.data.split",
    "nnbasics.data.read",
    "nnbasics.data.read_features",
    "nnbasics.search.grid",
    "nnbasics.search.random",
    "nnbasics.sklearn.MLPClassifier",
    "nnbasics.sklearn.MLPRegressor",
    "nnbasics.sklearn.GridSearchCV",
    "nnbasics.sklearn.RandomizedSearchCV",
    "nnbasics.sklearn.LogisticRegression",
    "nnbasics.sklearn.LinearRegression",
    "nnbasics.sklearn.Ridge",
    "nnbasics.cli.main",
)


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_path_resolves(path):
    module, _, name = path.rpartition(".")
    assert hasattr(importlib.import_module(module), name), path


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = pathlib.Path(*name.split("."))
    root = PACKAGE.parent
    return (root / relative).with_suffix(".py").exists() or (
        root / relative / "__init__.py"
    ).exists()


def _imports(path: pathlib.Path) -> set[str]:
    """The nnbasics modules ``path`` imports at its top level (not inside functions)."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports run only for the type checker
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("nnbasics")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("nnbasics"):
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if _is_module(child) else base)
    return {m for m in found if m != me}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle found by a depth-first search, as the path around it."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def _parts_importing_their_face(graph):
    """A part of a package importing that package's ``__init__`` (optim._registry -> optim)."""
    return sorted(
        (m, m.rpartition(".")[0])
        for m, deps in graph.items()
        if m.rpartition(".")[0] != "nnbasics" and m.rpartition(".")[0] in deps
    )


def test_no_import_circle():
    graph = _graph()
    assert _circles(graph) == []
    assert _parts_importing_their_face(graph) == []


def test_the_circle_finder_finds_the_registry_importing_its_package():
    graph = _graph()
    graph["nnbasics.optim._registry"] = graph["nnbasics.optim._registry"] | {"nnbasics.optim"}
    assert _parts_importing_their_face(graph) == [("nnbasics.optim._registry", "nnbasics.optim")]
    graph = _graph()
    graph["nnbasics.distributed._runtime"] |= {"nnbasics.distributed._launcher"}
    assert any(
        "nnbasics.distributed._launcher" in c and "nnbasics.distributed._runtime" in c
        for c in _circles(graph)
    )
