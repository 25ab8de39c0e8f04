# The rows call the API with wrong types on purpose.
# pyright: reportArgumentType=false, reportCallIssue=false
"""Every refusal of the library, pinned by rule: one row per refusal site, whole message.

The sites are enumerated from the code (an AST walk over ``nnbasics/``): every
``raise ValueError(...)``, every ``raise`` of a helper that builds one (a function
annotated ``-> ValueError``), and every call of a ``_checks`` helper that raises
(``fail``, ``positive_int``, ``real_in``, ``one_of``, ...) or of a module's own
wrapper of one (``_unit``, ``_flag``, ``_non_negative = _checks.non_negative``);
a wrapper's own call is not a site, its callers are. A site is keyed
``module:qualname:argument``, the argument being the name the message leads with
(a template for f-strings), with ``#2``, ``#3`` for further sites of one function
naming the same argument.

A helper's namesake imported from elsewhere (the command line's ``fail``, which
prints) is not a checker, and a generator's refusals are sites in its own body
(calling it raises nothing: they come as it is iterated).

Each row is a call that must raise the site's ``ValueError`` with the whole
message, received value included, and whose traceback passes through the site's
own lines. A new refusal without a row fails ``test_every_site_has_a_row``, and
so does a row whose site is gone. The sites without a row are listed by name,
each with why: ``CAUGHT_INSIDE`` (the library catches the error itself),
``ACROSS_PROCESSES`` (reached only by several processes together; the test
pinning the message named) and ``CANNOT_RAISE`` (a wrapper's call that refuses
nothing as made); the rule holds for every other site.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import traceback
import zipfile
from typing import Any
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse

import nnbasics as nb
from nnbasics import (
    checkpoint,
    data,
    distributed,
    folds,
    gradcheck,
    linear,
    logistic,
    newton,
    optim,
    schedules,
    search,
)
from nnbasics.sklearn import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    Ridge,
)

PACKAGE = pathlib.Path(nb.__file__).parent

# _checks' helpers that raise: the index of the argument naming the refused argument
# (None: the helper names it itself).
CHECKERS: dict[str, Any] = {
    "fail": 0,
    "positive_int": 0,
    "non_negative_int": 0,
    "batch_size": None,
    "real_in": 0,
    "non_negative": 0,
    "finite_array": 0,
    "one_of": 0,
    "finite_rows": 0,
    "prng_key": 0,
    "check_finite": 2,  # _files.check_finite(what, path, field, value)
}
FIXED_NAME = {"batch_size": "batch_size"}


def _callee(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _label(node: ast.expr | None) -> str:
    """A static name for an argument-name expression: the literal, or the template."""
    if node is None:
        return "?"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            "{" + ast.unparse(v.value) + "}" if isinstance(v, ast.FormattedValue) else str(v.value)
            for v in node.values
            if isinstance(v, (ast.FormattedValue, ast.Constant))
        )
    return "{" + ast.unparse(node) + "}"


def _message_name(node: ast.expr | None) -> str:
    """The argument a ValueError's message names: its text before the first ':'."""
    text = _label(node)
    return text.split(":", 1)[0] if ":" in text else text[:40]


def _arg(call: ast.Call, index: int, names: tuple[str, ...]) -> ast.expr | None:
    if index < len(call.args) and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    return None


def _is_generator(node: ast.FunctionDef) -> bool:
    """Whether ``node`` yields: calling it raises nothing, its refusals come as it is iterated."""
    todo = list(node.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(n))
    return False


class _Scope(ast.NodeVisitor):
    def __init__(self, module: str, checkers: dict[str, Any], factories: dict[str, Any]):
        self.module, self.checkers, self.factories = module, checkers, factories
        self.stack: list[tuple[str, str]] = []  # (kind, name)
        self.params: list[list[str]] = [[]]
        self.found: list[tuple[str, str, str, int, int]] = []
        self.wrappers: dict[str, Any] = {}
        self.new_factories: dict[str, Any] = {}
        self.imported: set[str] = set()
        self.foreign: set[str] = set()  # names imported from a module other than _checks
        self.generators: list[bool] = [False]

    def _qualname(self) -> str:
        parts = []
        for kind, name in self.stack:
            parts.append(name)
            if kind == "def":
                parts.append("<locals>")
        return ".".join(parts[:-1] if parts and parts[-1] == "<locals>" else parts) or "<module>"

    def visit_ClassDef(self, node):
        self.stack.append(("class", node.name))
        self.params.append([])
        self.generic_visit(node)
        self.params.pop()
        self.stack.pop()

    def visit_FunctionDef(self, node):
        method = bool(self.stack) and self.stack[-1][0] == "class"
        self.stack.append(("def", node.name))
        a = node.args
        params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
        self.params.append(params[1:] if method else params)
        self.generators.append(_is_generator(node))
        if node.returns is not None and ast.unparse(node.returns) == "ValueError":
            p = self.params[-1]
            self.new_factories[node.name] = next(
                (p.index(k) for k in ("field", "name") if k in p), None
            )
        self.generic_visit(node)
        self.generators.pop()
        self.params.pop()
        self.stack.pop()

    def visit_AsyncFunctionDef(self, node: Any):
        self.visit_FunctionDef(node)

    def _site(self, node: ast.AST, name: str) -> None:
        lo = getattr(node, "lineno", 0)
        self.found.append(
            (self.module, self._qualname(), name, lo, getattr(node, "end_lineno", lo))
        )

    def _named(self, node, arg) -> None:
        """A site naming ``arg``, or, when ``arg`` is the enclosing function's parameter, a wrapper."""
        params = self.params[-1]
        if (
            isinstance(arg, ast.Name)
            and arg.id in params
            and self.stack
            and not self.generators[-1]
        ):
            name = self.stack[-1][1]
            if not name.startswith("__"):
                self.wrappers[name] = params.index(arg.id)
                self.wrappers[name + "@module"] = self.module.rsplit(".", 1)[-1]
        else:
            self._site(node, _label(arg))

    def visit_ImportFrom(self, node):
        names = {a.asname or a.name for a in node.names}
        self.imported.update(names)
        if not (node.module or "").endswith("_checks"):
            self.foreign.update(names)

    def visit_Assign(self, node):
        # an alias (``_non_negative = _checks.non_negative``) is a checker too
        v = node.value
        name = v.attr if isinstance(v, ast.Attribute) else v.id if isinstance(v, ast.Name) else None
        if name in self.checkers:
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.wrappers[t.id] = self.checkers[name]
                    self.wrappers[t.id + "@module"] = self.module.rsplit(".", 1)[-1]
        self.generic_visit(node)

    def visit_Raise(self, node):
        exc = node.exc
        if isinstance(exc, ast.Call):
            callee = _callee(exc)
            if callee == "ValueError":
                self._site(node, _message_name(exc.args[0] if exc.args else None))
                return
            if callee in self.factories:
                idx = self.factories[callee]
                if idx is None:
                    self._site(node, f"{callee}()")
                else:
                    self._named(node, _arg(exc, idx, ("field", "name")))
                return
        self.generic_visit(node)

    def visit_Call(self, node):
        callee = _callee(node)
        f = node.func
        home = self.checkers.get(f"{callee}@module")
        if callee is not None and callee not in CHECKERS:
            # a wrapper is reached through its module, as a method, or by its bare
            # name in its own module or one that imports it (not a namesake)
            if isinstance(f, ast.Attribute):
                base = f.value.id if isinstance(f.value, ast.Name) else None
                if base not in {home, "self", "cls"}:
                    callee = None
            elif home != self.module.rsplit(".", 1)[-1] and callee not in self.imported:
                callee = None
        if callee in CHECKERS and isinstance(f, ast.Name) and callee in self.foreign:
            callee = None  # a namesake of a _checks helper (the command line's fail prints)
        if callee in self.checkers:
            idx = self.checkers[callee]
            if idx is None:
                self._site(node, FIXED_NAME.get(callee, callee))
            else:
                self._named(node, _arg(node, idx, ("name", "field")))
        self.generic_visit(node)


def refusal_sites() -> dict[str, tuple[str, int, int]]:
    """{'module:qualname:name': (path, first line, last line)} of every refusal site."""
    files = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "_checks.py")
    trees = {p: ast.parse(p.read_text(), str(p)) for p in files}
    checkers, factories = dict(CHECKERS), {}
    while True:
        found, wrappers, new_factories = [], {}, {}
        for p, tree in trees.items():
            rel = p.relative_to(PACKAGE.parent).with_suffix("")
            module = ".".join(rel.parts).removesuffix(".__init__")
            v = _Scope(module, checkers, factories)
            v.visit(tree)
            found += [(*f, p) for f in v.found]
            wrappers.update(v.wrappers)
            new_factories.update(v.new_factories)
        grown = {**checkers, **wrappers}, {**factories, **new_factories}
        if grown == (checkers, factories):
            break
        checkers, factories = grown
    # a wrapper's own call of the checker is not a site: its callers are
    sites: dict[str, tuple[str, int, int]] = {}
    for module, qual, name, lo, hi, path in found:
        key = f"{module}:{qual}:{name}"
        n, unique = 1, key
        while unique in sites:
            n += 1
            unique = f"{key}#{n}"
        sites[unique] = (str(path), lo, hi)
    return sites


def _ckpt(tmp, **changes):
    """A valid checkpoint in tmp whose manifest fields are replaced by ``changes``."""
    state = {"w": np.zeros((2, 3))}
    path = checkpoint.save(tmp, state, {}, {})
    with np.load(path) as f:
        arrays = dict(f)
    manifest = json.loads(str(arrays["manifest"]))
    manifest.update(changes)
    arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(path, **arrays)
    return lambda: checkpoint.restore(tmp, state, {})


NET = nb.MLP((2, 3))
P = NET.init(jax.random.key(0))
X = jnp.ones((4, 2))


LIN = {"w": jnp.zeros(2), "b": jnp.zeros(())}
XL, YL = jnp.ones((3, 2)), jnp.array([0, 1, 1])


TRAIN = (np.ones((4, 2)), np.array([0, 1, 2, 0]))
K = jax.random.key(0)


def _fit(**changes):
    """nb.fit of NET on TRAIN for one epoch, with ``changes`` to its arguments."""
    arguments: dict[str, Any] = dict(
        net=NET, params=P, optimizer=optim.sgd(0.1), train=TRAIN, epochs=1, batch_size=2, key=K
    )
    arguments.update(changes)
    return nb.fit(**arguments)


def _with_checkpoint(tmp):
    """A folder holding a checkpoint."""
    checkpoint.save(tmp, {"w": np.zeros(2)}, {}, {})
    return tmp


def _folds(**changes):
    arguments: dict[str, Any] = dict(configs=[{"learning_rate": 0.1}], epochs=1, batch_size=2)
    arguments.update(changes)
    folds_ = arguments.pop("folds", [TRAIN, TRAIN])
    return folds.train_folds(NET, folds_, **arguments)


def _classifier(**params):
    params.setdefault("max_iter", 1)
    return MLPClassifier(**params).fit(np.ones((4, 2)), np.array([0, 1, 0, 1]))


def _search(**changes):
    """nb.search.search of NET on TRAIN (valid = TRAIN) for one epoch, with ``changes``."""
    arguments: dict[str, Any] = dict(configs=[{"learning_rate": 0.1}], epochs=1, batch_size=2)
    arguments.update(changes)
    valid = arguments.pop("valid", TRAIN)
    return search.search(arguments.pop("net", NET), TRAIN, valid, **arguments)


def _model(tmp, **changes):
    """A saved and reloaded model of NET (features a, b; classes x, y, z)."""
    arguments: dict[str, Any] = dict(labels=["x", "y", "z"], features=["a", "b"])
    arguments.update(changes)
    return nb.load_model(nb.save_model(os.path.join(tmp, "m.npz"), NET, P, **arguments))


def _save(tmp, net=NET, params=P, **changes):
    return nb.save_model(os.path.join(tmp, "m.npz"), net, params, **changes)


REG = nb.MLP((2, 2), output="linear")
STATS = data.Standardizer(mean=np.zeros(2), scale=np.ones(2))


XS, YS = np.arange(20.0).reshape(10, 2), np.arange(10) % 2


def _tampered(tmp, state=None, history=None, manifest=None, drop=(), arrays=None, like=None):
    """restore() of a checkpoint of ``state`` whose file was then edited."""
    state = {"w": np.zeros((2, 3))} if state is None else state
    path = checkpoint.save(tmp, state, history or {}, {})
    with np.load(path) as f:
        stored = dict(f)
    if manifest is not None:
        stored["manifest"] = np.array(
            manifest if isinstance(manifest, str) else json.dumps(manifest)
        )
    stored.update(arrays or {})
    for name in drop:
        del stored[name]
    np.savez(path, **stored)
    return checkpoint.restore(tmp, state if like is None else like, {})


def _manifest(tmp, **changes):
    """The manifest save() writes for {"w": zeros((2, 3))}, with ``changes``."""
    path = checkpoint.save(tmp, {"w": np.zeros((2, 3))}, {}, {})
    with np.load(path) as f:
        manifest = json.loads(str(f["manifest"]))
    os.remove(path)
    return {**manifest, **changes}


def _state(**changes):
    return nb.train.init_state(P, optim.sgd(0.1), K)._replace(**changes)


def _edited_model(tmp, net=NET, params=P, header=None, drop=(), arrays=None, **saved):
    """load_model of a model file of ``net`` whose header and arrays were then edited."""
    path = nb.save_model(os.path.join(tmp, "m.npz"), net, params, **saved)
    with np.load(path) as f:
        stored = dict(f)
    content = json.loads(str(stored["header"]))
    content.update(header or {})
    stored["header"] = np.array(json.dumps(content))
    stored.update(arrays or {})
    for name in drop:
        del stored[name]
    np.savez(path, **stored)
    return nb.load_model(path)


def _npz(tmp, name="d.npz", **arrays):
    """The path of an .npz file in tmp holding ``arrays``."""
    path = os.path.join(tmp, name)
    np.savez(path, **arrays)
    return path


def _npy_pair(tmp, y_bytes):
    """The features file of an .npy pair whose targets file holds ``y_bytes``."""
    np.save(os.path.join(tmp, "x.npy"), np.ones((2, 2)))
    pathlib.Path(tmp, "x.y.npy").write_bytes(y_bytes)
    return os.path.join(tmp, "x.npy")


def _csv(tmp, text, name="d.csv"):
    path = pathlib.Path(tmp, name)
    path.write_text(text)
    return str(path)


def _model_header(tmp, header):
    """load_model of a file whose header array holds the text ``header``."""
    path = os.path.join(tmp, "m.npz")
    np.savez(path, header=np.array(header))
    return nb.load_model(path)


def _npz_members(tmp, name="m.npz", **members):
    path = os.path.join(tmp, name)
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k + ".npy", v)
    return path


def _npy_bytes(array, version=None):
    f = io.BytesIO()
    np.lib.format.write_array(f, array, version=version)
    return f.getvalue()


def _under_env(env, call):
    with mock.patch.dict(os.environ, env):
        return call()


def _before_sklearn_1_9(call):
    """``call()`` as scikit-learn before 1.9 runs it: all-zero sample weights passed on."""
    from sklearn.utils.validation import _check_sample_weight

    def passing_zeros(*args, **kwargs):
        return _check_sample_weight(*args, allow_all_zero_weights=True, **kwargs)

    with mock.patch("nnbasics.sklearn._linear._check_sample_weight", passing_zeros):
        return call()


def _twice(estimator, first, second):
    estimator.partial_fit(*first)
    return estimator.partial_fit(*second)


COSH = (lambda x: jnp.sum(jnp.cosh(x)), jnp.sinh, lambda x: jnp.diag(jnp.cosh(x)), jnp.ones(2))
WK = {"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)}


def _late(tmp, row: bytes, rows=20_000):
    """A CSV file of ``rows`` rows "1,2" below a header "a,b", then the bytes ``row``."""
    path = pathlib.Path(tmp, "d.csv")
    path.write_bytes(b"a,b\n" + b"1,2\n" * rows + row)
    return str(path)


def _without(package, call):
    """``call()`` where ``package`` is not installed."""
    with mock.patch.dict(sys.modules, {package: None}):
        return call()


def _with_sklearn_iris(tmp, text, call):
    """``call()`` where the scikit-learn found is one in tmp whose iris.csv holds ``text``."""
    folder = pathlib.Path(tmp, "sklearn", "datasets", "data")
    folder.mkdir(parents=True)
    (folder / "iris.csv").write_text(text)
    pathlib.Path(tmp, "sklearn", "__init__.py").write_text("")
    with mock.patch.dict(sys.modules), mock.patch.object(sys, "path", [tmp, *sys.path]):
        del sys.modules["sklearn"]  # found again, in tmp; put back on leaving
        return call()


def _from_args(*argv):
    parser = argparse.ArgumentParser()
    distributed.add_arguments(parser)
    return distributed.from_args(parser.parse_args(argv))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BUSY_PORT = _free_port()


def _holding(port: int, call):
    """``call()`` while ``port`` is in use (here, or by whoever took it since)."""
    with socket.socket() as s:
        with contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            s.listen()
        return call()


class _ChildRefusal(ValueError):
    """A ValueError raised in another process, with the (file, line) frames it passed through."""

    def __init__(self, message: str, frames: list):
        super().__init__(message)
        self.frames = [tuple(f) for f in frames]


_CHILD = """
import json, sys, traceback
try:
    exec(sys.argv[1])
except ValueError as e:
    frames, error = [], e
    while error is not None:
        frames += [(f.f_code.co_filename, n) for f, n in traceback.walk_tb(error.__traceback__)]
        error = error.__context__
    print(json.dumps({"message": str(e), "frames": frames}))
"""


def _in_a_fresh_process(code: str):
    """Runs ``code`` in a new Python process, JAX not yet started, and raises its ValueError here.

    For refusals that need a process whose JAX runtime has not started (this
    one's has); no cluster or distributed settings in its environment.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NNBASICS_", "JAX_COORDINATOR", "SLURM_", "OMPI_", "TPU_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-2000:]
    found = json.loads(lines[-1])
    raise _ChildRefusal(found["message"], found["frames"])


# key: (call(tmp), whole message; "{tmp}" stands for the call's temporary folder)
ROWS = {
    "nnbasics.checkpoint:save:checkpoint_dir": (
        lambda tmp: (
            open(os.path.join(tmp, "f"), "w").close(),
            checkpoint.save(os.path.join(tmp, "f"), {}, {}, {}),
        ),
        "checkpoint_dir: expected a directory, received '{tmp}/f', which is a file",
    ),
    "nnbasics.checkpoint:save:meta": (
        lambda tmp: checkpoint.save(tmp, {}, {}, {"lr": {1, 2}}),
        "meta: expected a JSON-able dict, received {'lr': {1, 2}} (Object of type set is not JSON serializable)",
    ),
    "nnbasics.checkpoint:_check_manifest:version": (
        lambda tmp: _ckpt(tmp, version="1")(),
        "checkpoint: expected an integer as manifest version in '{tmp}/checkpoint.npz', received '1'",
    ),
    "nnbasics.checkpoint:_check_manifest:meta": (
        lambda tmp: _ckpt(tmp, meta=[1])(),
        "checkpoint: expected an object as manifest meta in '{tmp}/checkpoint.npz', received [1]",
    ),
    "nnbasics.checkpoint:_check_manifest:epoch": (
        lambda tmp: _ckpt(tmp, epoch=1.5)(),
        "checkpoint: expected an integer as manifest epoch in '{tmp}/checkpoint.npz', received 1.5",
    ),
    "nnbasics.checkpoint:_check_manifest:treedef": (
        lambda tmp: _ckpt(tmp, treedef=3)(),
        "checkpoint: expected a string as manifest treedef in '{tmp}/checkpoint.npz', received 3",
    ),
    "nnbasics.checkpoint:_check_manifest:history": (
        lambda tmp: _ckpt(tmp, history=[1])(),
        "checkpoint: expected a list of names as manifest history in '{tmp}/checkpoint.npz', received [1]",
    ),
    "nnbasics.checkpoint:_check_manifest:leaves": (
        lambda tmp: _ckpt(tmp, leaves={"a": 1})(),
        "checkpoint: expected a list as manifest leaves in '{tmp}/checkpoint.npz', received {'a': 1}",
    ),
    "nnbasics.checkpoint:_check_manifest:leaves[{i}].shape": (
        lambda tmp: _ckpt(tmp, leaves=[{"shape": [2, -1], "dtype": "float64"}])(),
        "checkpoint: expected a list of sizes as manifest leaves[0].shape in '{tmp}/checkpoint.npz', received [2, -1]",
    ),
    "nnbasics.checkpoint:_check_manifest:leaves[{i}].dtype": (
        lambda tmp: _ckpt(tmp, leaves=[{"shape": [2, 3], "dtype": "float99"}])(),
        "checkpoint: expected a NumPy/JAX dtype name as manifest leaves[0].dtype in '{tmp}/checkpoint.npz', received 'float99'",
    ),
    "nnbasics.mlp:MLP.__post_init__:sizes": (
        lambda tmp: nb.MLP(5),  # pyright: ignore[reportArgumentType]
        "sizes: expected a sequence of at least two positive integers, received 5",
    ),
    "nnbasics.mlp:MLP.__post_init__:sizes#2": (
        lambda tmp: nb.MLP((5,)),
        "sizes: expected at least two layer sizes (d_in, ..., d_out), received (5,)",
    ),
    "nnbasics.mlp:MLP.__post_init__:sizes[{i}]": (
        lambda tmp: nb.MLP((5, 0)),
        "sizes[1]: expected a positive integer, received 0",
    ),
    "nnbasics.mlp:MLP.__post_init__:hidden": (
        lambda tmp: nb.MLP((2, 3), hidden="gelu"),
        "hidden: expected one of 'relu', 'sigmoid', 'tanh', 'linear', 'softplus', 'maxout', received 'gelu'",
    ),
    "nnbasics.mlp:MLP.__post_init__:output": (
        lambda tmp: nb.MLP((2, 3), output="poisson"),
        "output: expected one of 'sigmoid', 'softmax', 'linear', 'gaussian', 'mixture', received 'poisson'",
    ),
    "nnbasics.mlp:MLP.__post_init__:pieces": (
        lambda tmp: nb.MLP((2, 3), pieces=0),
        "pieces: expected a positive integer, received 0",
    ),
    "nnbasics.mlp:MLP.__post_init__:components": (
        lambda tmp: nb.MLP((2, 3), components=1.5),  # pyright: ignore[reportArgumentType]
        "components: expected a positive integer, received 1.5",
    ),
    "nnbasics.mlp:MLP.init:key": (
        lambda tmp: NET.init(0),
        "key: expected a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0), received 0",
    ),
    "nnbasics.mlp:MLP.predict:X": (
        lambda tmp: NET.predict(P, jnp.array([[1.0, 2.0], [jnp.nan, 0.0]])),
        "X: expected finite values in every row, received NaN/inf in 1 row(s): 1",
    ),
    "nnbasics.mlp:MLP._check_inputs:params": (
        lambda tmp: NET.apply(P[:0], X),
        "params: expected a list of 1 layers {'W', 'b'}, received 0 layers",
    ),
    "nnbasics.mlp:MLP._check_inputs:params[{k}]['{name}']": (
        lambda tmp: NET.apply([{"W": jnp.ones((3, 3)), "b": P[0]["b"]}], X),
        "params[0]['W']: expected shape (2, 3), received shape (3, 3)",
    ),
    "nnbasics.mlp:MLP._check_inputs:X": (
        lambda tmp: NET.apply(P, jnp.ones((4, 3))),
        "X: expected shape (n, 2), received shape (4, 3)",
    ),
    "nnbasics.mlp:MLP._check_targets:weights": (
        lambda tmp: NET.loss(P, X, jnp.zeros(4, int), weights=jnp.ones(3)),
        "weights: expected per-example weights of shape (4,), received shape (3,)",
    ),
    "nnbasics.mlp:MLP._check_targets:y": (
        lambda tmp: NET.loss(P, X, jnp.zeros(4)),
        "y: expected integer class labels of shape (4,) for output 'softmax', received float64 of shape (4,)",
    ),
    "nnbasics.mlp:MLP._check_targets:y#2": (
        lambda tmp: nb.MLP((2, 3), output="sigmoid").loss(P, X, jnp.zeros((4, 2))),
        "y: expected targets of shape (4, 3) for output 'sigmoid', received shape (4, 2)",
    ),
    "nnbasics.mlp:MLP._check_targets:y#3": (
        lambda tmp: NET.loss(P, X, jnp.array([0, 1, 3, -1])),
        "y: expected labels in 0..2, received labels in -1..3",
    ),
    "nnbasics.mlp:MLP._check_targets:y#4": (
        lambda tmp: nb.MLP((2, 3), output="sigmoid").loss(P, X, jnp.full((4, 3), 0.5)),
        "y: expected 0/1 targets for output 'sigmoid', received values [0.5]",
    ),
    "nnbasics.mlp:MLP._check_targets:y#5": (
        lambda tmp: nb.MLP((2, 3), output="linear").loss(P, X, jnp.full((4, 3), jnp.inf)),
        "y: expected finite values, received 12 NaN/inf entries",
    ),
    "nnbasics.optim._adam:_adam:b1": (
        lambda tmp: optim.adam(0.1, b1=1.0),
        "b1: expected a real number in [0.0, 1.0), received 1.0",
    ),
    "nnbasics.optim._adam:_adam:b2": (
        lambda tmp: optim.adam(0.1, b2=-0.1),
        "b2: expected a real number in [0.0, 1.0), received -0.1",
    ),
    "nnbasics.optim._adam:_adam:eps": (
        lambda tmp: optim.adam(0.1, eps=-1e-8),
        "eps: expected a real number in [0.0, inf), received -1e-08",
    ),
    "nnbasics.optim._adam:_adam:eps_root": (
        lambda tmp: optim.adam(0.1, eps_root=float("inf")),
        "eps_root: expected a real number in [0.0, inf), received inf",
    ),
    "nnbasics.optim._adam:_adam:mu_dtype": (
        lambda tmp: optim.adam(0.1, mu_dtype="float99"),
        "mu_dtype: expected None or a dtype such as jnp.float32, received 'float99'",
    ),
    "nnbasics.optim._adam:_adam:fold_bias_correction": (
        lambda tmp: optim.adam(0.1, fold_bias_correction="yes"),
        "fold_bias_correction: expected one of False, True, received 'yes'",
    ),
    "nnbasics.optim._adam:_adam:nesterov": (
        lambda tmp: optim.adam(0.1, nesterov="yes"),
        "nesterov: expected one of False, True, received 'yes'",
    ),
    "nnbasics.optim._adam:_adam:weight_decay": (
        lambda tmp: optim.adamw(0.1, weight_decay=-0.5),
        "weight_decay: expected a real number in [0.0, inf), received -0.5",
    ),
    "nnbasics.optim._adam:_adam:fold_bias_correction#2": (
        lambda tmp: optim.adam(0.1, nesterov=True, fold_bias_correction=True),
        "fold_bias_correction: expected False with Nesterov momentum or AMSGrad (scikit-learn's folded form has neither), received True",
    ),
    "nnbasics.optim._adam:_adam.<locals>.step:params": (
        lambda tmp: optim.adamw(0.1, weight_decay=0.5).update(
            {"w": jnp.ones(2)}, optim.adamw(0.1, weight_decay=0.5).init({"w": jnp.ones(2)})
        ),
        "params: expected the parameters (adamw), received None",
    ),
    "nnbasics.optim._adam:amsgrad:bias_correction_mu": (
        lambda tmp: optim.amsgrad(0.1, bias_correction_mu=2),
        "bias_correction_mu: expected one of False, True, received 2",
    ),
    "nnbasics.optim._adam:amsgrad:bias_correction_nu": (
        lambda tmp: optim.amsgrad(0.1, bias_correction_nu=None),
        "bias_correction_nu: expected one of False, True, received None",
    ),
    "nnbasics.optim._basic:sgd:accumulator_dtype": (
        lambda tmp: optim.sgd(0.1, accumulator_dtype="float99"),
        "accumulator_dtype: expected None or a dtype such as jnp.float32, received 'float99'",
    ),
    "nnbasics.optim._basic:momentum:beta": (
        lambda tmp: optim.momentum(0.1, beta=1.5),
        "beta: expected a real number in [0.0, 1.0), received 1.5",
    ),
    "nnbasics.optim._basic:momentum:nesterov": (
        lambda tmp: optim.momentum(0.1, nesterov="no"),
        "nesterov: expected one of False, True, received 'no'",
    ),
    "nnbasics.optim._basic:momentum:dampening": (
        lambda tmp: optim.momentum(0.1, dampening=2.0),
        "dampening: expected a real number in [0.0, 1.0], received 2.0",
    ),
    "nnbasics.optim._basic:momentum:lr_in_velocity": (
        lambda tmp: optim.momentum(0.1, lr_in_velocity="no"),
        "lr_in_velocity: expected one of False, True, received 'no'",
    ),
    "nnbasics.optim._basic:momentum:accumulator_dtype": (
        lambda tmp: optim.momentum(0.1, accumulator_dtype=3),
        "accumulator_dtype: expected None or a dtype such as jnp.float32, received 3",
    ),
    "nnbasics.optim._basic:adagrad:initial_accumulator_value": (
        lambda tmp: optim.adagrad(0.1, initial_accumulator_value=-1.0),
        "initial_accumulator_value: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.optim._basic:adagrad:eps": (
        lambda tmp: optim.adagrad(0.1, eps="1e-8"),
        "eps: expected a real number in [0.0, inf), received '1e-8'",
    ),
    "nnbasics.optim._basic:adagrad:eps_in_sqrt": (
        lambda tmp: optim.adagrad(0.1, eps_in_sqrt=None),
        "eps_in_sqrt: expected one of False, True, received None",
    ),
    "nnbasics.optim._basic:rmsprop:decay": (
        lambda tmp: optim.rmsprop(0.1, decay=1.0),
        "decay: expected a real number in [0.0, 1.0), received 1.0",
    ),
    "nnbasics.optim._basic:rmsprop:eps": (
        lambda tmp: optim.rmsprop(0.1, eps=-1.0),
        "eps: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.optim._basic:rmsprop:eps_in_sqrt": (
        lambda tmp: optim.rmsprop(0.1, eps_in_sqrt=2),
        "eps_in_sqrt: expected one of False, True, received 2",
    ),
    "nnbasics.optim._basic:rmsprop:initial_scale": (
        lambda tmp: optim.rmsprop(0.1, initial_scale=float("nan")),
        "initial_scale: expected a real number in [0.0, inf), received nan",
    ),
    "nnbasics.optim._basic:rmsprop:centered": (
        lambda tmp: optim.rmsprop(0.1, centered="True"),
        "centered: expected one of False, True, received 'True'",
    ),
    "nnbasics.optim._basic:rmsprop:momentum": (
        lambda tmp: optim.rmsprop(0.1, momentum=1.0),
        "momentum: expected a real number in [0.0, 1.0), received 1.0",
    ),
    "nnbasics.optim._basic:rmsprop:nesterov": (
        lambda tmp: optim.rmsprop(0.1, nesterov=[]),
        "nesterov: expected one of False, True, received []",
    ),
    "nnbasics.optim._core:_as_schedule:learning_rate": (
        lambda tmp: optim.sgd("0.1"),
        "learning_rate: expected a real number in (0, inf) or a schedule (a callable t -> rate), received '0.1'",
    ),
    "nnbasics.optim._core:_as_schedule:learning_rate#2": (
        lambda tmp: optim.sgd(-0.1),
        "learning_rate: expected a real number in (0, inf) or a schedule (a callable t -> rate), received -0.1",
    ),
    "nnbasics.optim._core:_optimizer:weight_decay": (
        lambda tmp: optim.sgd(0.1, weight_decay=-1.0),
        "weight_decay: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.optim._core:_optimizer.<locals>.update:params": (
        lambda tmp: optim.sgd(0.1, weight_decay=0.5).update(
            {"w": jnp.ones(2)}, optim.sgd(0.1, weight_decay=0.5).init({"w": jnp.ones(2)})
        ),
        "params: expected the parameters (weight_decay is set), received None",
    ),
    "nnbasics.optim._registry:get:name": (
        lambda tmp: optim.get("adamax"),
        "name: expected one of 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw', 'nadam', 'amsgrad', received 'adamax'",
    ),
    "nnbasics.optim._registry:get:hyperparameters": (
        lambda tmp: optim.get("sgd", learning_rate=0.1, beta=0.9),
        "hyperparameters: expected names that 'sgd' takes (accumulator_dtype, learning_rate, weight_decay), received 'beta'",
    ),
    "nnbasics.linear:_check_X:X": (
        lambda tmp: linear.mse(LIN, jnp.ones(3), YL),
        "X: expected a 2-D array of shape (n, d), received shape (3,)",
    ),
    "nnbasics.linear:_check_y:y": (
        lambda tmp: linear.mse(LIN, XL, jnp.ones(4)),
        "y: expected shape (3,) or (3, k) to match X's 3 rows, received shape (4,)",
    ),
    "nnbasics.linear:_check_params:params": (
        lambda tmp: linear.mse({"w": jnp.zeros(2)}, XL, YL),
        'params: expected a dict with keys "w" and "b", received [\'w\']',
    ),
    "nnbasics.linear:_check_params:params['w']": (
        lambda tmp: linear.mse({"w": jnp.zeros(3), "b": 0.0}, XL, YL),
        "params['w']: expected shape (2,) or (2, k) to match X's 2 features, received shape (3,)",
    ),
    "nnbasics.linear:_check_params:params['b']": (
        lambda tmp: linear.mse({"w": jnp.zeros(2), "b": jnp.zeros(2)}, XL, YL),
        "params['b']: expected shape () to match params['w'] (2,), received shape (2,)",
    ),
    "nnbasics.linear:_inputs:y": (
        lambda tmp: linear.mse(LIN, XL, jnp.ones((3, 2))),
        "y: expected shape (3,) to match params['w'] (2,), received shape (3, 2)",
    ),
    "nnbasics.linear:_inputs:l2": (
        lambda tmp: linear.mse(LIN, XL, YL, l2=-1.0),
        "l2: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.linear:solve:l2": (
        lambda tmp: linear.solve(XL, YL, l2=float("nan")),
        "l2: expected a real number in [0.0, inf), received nan",
    ),
    "nnbasics.logistic:_check_params:params['w']": (
        lambda tmp: logistic.nll({"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}, XL, YL),
        "params['w']: expected shape (2,): one output unit, received shape (2, 2)",
    ),
    "nnbasics.logistic:_check_y:y": (
        lambda tmp: logistic.nll(LIN, XL, jnp.array([0, 1])),
        "y: expected shape (3,) to match X's 3 rows, received shape (2,)",
    ),
    "nnbasics.logistic:_check_y:y#2": (
        lambda tmp: logistic.nll(LIN, XL, jnp.array([0, 2, 1])),
        "y: expected labels in {0, 1}, received values [0, 1, 2]",
    ),
    "nnbasics.logistic:_check_l2:l2": (
        lambda tmp: logistic.nll(LIN, XL, YL, l2=-0.5),
        "l2: expected a real number in [0.0, inf), received -0.5",
    ),
    "nnbasics.logistic:_newton_inputs:steps": (
        lambda tmp: logistic.newton(LIN, XL, YL, steps=0),
        "steps: expected a positive integer, received 0",
    ),
    "nnbasics.logistic:newton:tol": (
        lambda tmp: logistic.newton(LIN, XL, YL, tol=-1e-3),
        "tol: expected a real number in [0.0, inf), received -0.001",
    ),
    "nnbasics.newton:_check_step_options:damping": (
        lambda tmp: newton.newton(lambda x: jnp.sum(x**2), jnp.ones(2), damping=-1.0),
        "damping: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.newton:_check_step_options:step_size": (
        lambda tmp: newton.newton(lambda x: jnp.sum(x**2), jnp.ones(2), step_size=0.0),
        "step_size: expected a real number in (0.0, inf), received 0.0",
    ),
    "nnbasics.newton:newton:steps": (
        lambda tmp: newton.newton(lambda x: jnp.sum(x**2), jnp.ones(2), steps=2.5),
        "steps: expected a positive integer, received 2.5",
    ),
    "nnbasics.newton:newton:tol": (
        lambda tmp: newton.newton(lambda x: jnp.sum(x**2), jnp.ones(2), tol=float("inf")),
        "tol: expected a real number in [0.0, inf), received inf",
    ),
    "nnbasics.schedules:_check_value:value": (
        lambda tmp: schedules.constant(0.0),
        "value: expected a real number in (0.0, inf), received 0.0",
    ),
    "nnbasics.schedules:_check_decreasing:hold": (
        lambda tmp: schedules.inverse_time(0.1, 0.5, hold=-1),
        "hold: expected a non-negative integer, received -1",
    ),
    "nnbasics.schedules:inverse_time:decay": (
        lambda tmp: schedules.inverse_time(0.1, -0.5),
        "decay: expected a real number in [0.0, inf), received -0.5",
    ),
    "nnbasics.schedules:power:exponent": (
        lambda tmp: schedules.power(0.1, "1"),
        "exponent: expected a real number in [0.0, inf), received '1'",
    ),
    "nnbasics.gradcheck:numerical_grad:eps": (
        lambda tmp: gradcheck.numerical_grad(jnp.sum, jnp.ones(2), eps=0.0),
        "eps: expected a real number in (0.0, inf], received 0.0",
    ),
    "nnbasics.gradcheck:numerical_grad:batch_size": (
        lambda tmp: gradcheck.numerical_grad(jnp.sum, jnp.ones(2), batch_size=0),
        "batch_size: expected a positive integer, received 0",
    ),
    "nnbasics.gradcheck:numerical_grad:f": (
        lambda tmp: gradcheck.numerical_grad(lambda x: x, jnp.ones(2)),
        "f: expected a function returning a scalar of shape (), received (2,)",
    ),
    "nnbasics.gradcheck:rel_error:tiny": (
        lambda tmp: gradcheck.rel_error(jnp.ones(2), jnp.ones(2), tiny=0.0),
        "tiny: expected a real number in (0.0, inf], received 0.0",
    ),
    "nnbasics.gradcheck:rel_error:b": (
        lambda tmp: gradcheck.rel_error({"a": jnp.ones(2)}, [jnp.ones(2)]),
        "b: expected the same pytree structure as a (PyTreeDef({'a': *})), received PyTreeDef([*])",
    ),
    "nnbasics.gradcheck:rel_error:b#2": (
        lambda tmp: gradcheck.rel_error(jnp.ones(2), jnp.ones(3)),
        "b: expected leaf shapes equal to a's (2,), received shape (3,)",
    ),
    "nnbasics.gradcheck:report:manual": (
        lambda tmp: gradcheck.report(jnp.sum, lambda p: 1.0, jnp.ones(2)),
        "manual: expected a function returning (value, grads), received float",
    ),
    "nnbasics.gradcheck:report:manual#2": (
        lambda tmp: gradcheck.report(jnp.sum, lambda p: (jnp.sum(p), [p]), jnp.ones(2)),
        "manual: expected grads with the pytree structure of params (PyTreeDef(*)), received PyTreeDef([*])",
    ),
    "nnbasics.train._arguments:check_data:?": (
        lambda tmp: _fit(train=(np.ones((4, 3)), TRAIN[1])),
        "train[0] (X): expected 2 features (columns), received 3 features",
    ),
    "nnbasics.train._arguments:_check_fit_args:net": (
        lambda tmp: _fit(net="mlp"),
        "net: expected an nnbasics.MLP, received str",
    ),
    "nnbasics.train._arguments:_check_fit_args:optimizer": (
        lambda tmp: _fit(optimizer="adam"),
        "optimizer: expected an optax.GradientTransformation (nb.optim or optax), received str",
    ),
    "nnbasics.train._arguments:_check_fit_args:{name}": (
        lambda tmp: _fit(valid=np.ones((4, 2))),
        "valid: expected a pair (X, y), received ndarray",
    ),
    "nnbasics.train._arguments:_check_fit_args:epochs": (
        lambda tmp: _fit(epochs=0),
        "epochs: expected a positive integer, received 0",
    ),
    "nnbasics.train._arguments:_check_fit_args:batch_size": (
        lambda tmp: _fit(batch_size=5),
        "batch_size: expected an integer from 1 to the number of training examples (4), received 5",
    ),
    "nnbasics.train._arguments:_check_fit_args:patience": (
        lambda tmp: _fit(patience=-1, valid=TRAIN),
        "patience: expected a non-negative integer, received -1",
    ),
    "nnbasics.train._arguments:_check_fit_args:patience#2": (
        lambda tmp: _fit(patience=3),
        "patience: expected None when no valid set is given (early stopping watches the validation loss), received 3",
    ),
    "nnbasics.train._arguments:_check_fit_args:min_delta": (
        lambda tmp: _fit(min_delta=-0.1),
        "min_delta: expected a real number in [0.0, inf), received -0.1",
    ),
    "nnbasics.train._arguments:_check_fit_args:monitor": (
        lambda tmp: _fit(monitor="train_loss"),
        "monitor: expected one of 'valid_loss', 'valid_accuracy', received 'train_loss'",
    ),
    "nnbasics.train._arguments:_check_fit_args:monitor#2": (
        lambda tmp: _fit(monitor="valid_accuracy"),
        "monitor: expected 'valid_loss' unless valid is given and the output is softmax or sigmoid, received 'valid_accuracy' with no valid set",
    ),
    "nnbasics.train._arguments:_check_fit_args:l2": (
        lambda tmp: _fit(l2=-1.0),
        "l2: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.train._arguments:_check_fit_args:l1": (
        lambda tmp: _fit(l1=float("inf")),
        "l1: expected a real number in [0.0, inf), received inf",
    ),
    "nnbasics.train._arguments:_check_fit_args:grad": (
        lambda tmp: _fit(grad="jax"),
        "grad: expected one of 'manual', 'auto', received 'jax'",
    ),
    "nnbasics.train._arguments:_check_fit_args:key": (
        lambda tmp: _fit(key=1),
        "key: expected a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0), received 1",
    ),
    "nnbasics.train._arguments:_check_fit_args:resume": (
        lambda tmp: _fit(resume=True),
        "resume: expected False unless checkpoint_dir is given, received True",
    ),
    "nnbasics.train._arguments:_check_checkpoint_dir:checkpoint_dir": (
        lambda tmp: (open(tmp + "/f", "w").close(), _fit(checkpoint_dir=tmp + "/f")),
        "checkpoint_dir: expected a directory (created if missing), received the file '{tmp}/f'",
    ),
    "nnbasics.train._arguments:_check_checkpoint_dir:checkpoint_dir#2": (
        lambda tmp: (os.mkdir(os.path.join(tmp, checkpoint.FILENAME)), _fit(checkpoint_dir=tmp)),
        "checkpoint_dir: expected a directory where checkpoint.npz can be written, received '{tmp}', where checkpoint.npz is a directory",
    ),
    "nnbasics.train._arguments:_check_checkpoint_dir:checkpoint_dir#4": (
        lambda tmp: _fit(checkpoint_dir=_with_checkpoint(tmp)),
        "checkpoint_dir: expected a directory without a checkpoint, or resume=True to continue it, or overwrite=True to replace it, received '{tmp}', which holds one",
    ),
    "nnbasics.train._arguments:_check_compute_dtype:compute_dtype": (
        lambda tmp: _fit(compute_dtype="float64"),
        "compute_dtype: expected one of None, 'bfloat16', 'float16', received 'float64'",
    ),
    "nnbasics.folds:train_folds:folds": (
        lambda tmp: _folds(folds=[]),
        "folds: expected a non-empty list of (X, y) training pairs, received []",
    ),
    "nnbasics.folds:train_folds:folds[{f}]": (
        lambda tmp: _folds(folds=[TRAIN, np.ones(3)]),
        "folds[1]: expected a pair (X, y), received ndarray",
    ),
    "nnbasics.folds:train_folds:folds[{f}]#2": (
        lambda tmp: _folds(folds=[TRAIN, (np.ones((4, 3)), TRAIN[1])]),
        "folds[1]: train[0] (X): expected 2 features (columns), received 3 features",
    ),
    "nnbasics.folds:_check_fold_values:fold_values": (
        lambda tmp: _folds(fold_values={"hidden": [[1, 1]]}),
        "fold_values: expected names of the configs' numeric values ['learning_rate'], "
        "received 'hidden'",
    ),
    "nnbasics.folds:_check_fold_values:fold_values[{name}]": (
        lambda tmp: _folds(fold_values={"learning_rate": [["fast", 0.1]]}),
        "fold_values['learning_rate']: expected a (1, 2) array of numbers, received [['fast', 0.1]]",
    ),
    "nnbasics.folds:_check_fold_values:fold_values[{name}]#2": (
        lambda tmp: _folds(fold_values={"learning_rate": np.zeros(3)}),
        "fold_values['learning_rate']: expected a (1, 2) array, received shape (3,)",
    ),
    "nnbasics.folds:_check_fold_values:fold_values[{name}]#3": (
        lambda tmp: _folds(fold_values={"learning_rate": [[np.nan, 0.1]]}),
        "fold_values['learning_rate']: expected finite numbers, received a non-finite value",
    ),
    "nnbasics.folds:train_folds:seeds": (
        lambda tmp: _folds(seeds=np.zeros((2, 2), int)),
        "seeds: expected None or (1, 2) ints, received shape (2, 2)",
    ),
    "nnbasics.folds:train_folds:seeds#2": (
        lambda tmp: _folds(seeds=np.array([[0, -1]])),
        "seeds: expected ints in [0, 2**32), received range [-1, 0]",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:solver": (
        lambda tmp: _classifier(solver="lbfgs"),
        "solver: expected one of ['adagrad', 'adam', 'adamw', 'amsgrad', 'momentum', 'nadam', 'nesterov', 'rmsprop', 'sgd'], got 'lbfgs'",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:dtype": (
        lambda tmp: _classifier(dtype="float16"),
        "dtype: expected 'float32' or 'float64', got 'float16'",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:alpha": (
        lambda tmp: _classifier(alpha=-1),
        "alpha: expected a number >= 0, got -1",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:learning_rate_init": (
        lambda tmp: _classifier(learning_rate_init=0),
        "learning_rate_init: expected a number > 0, got 0",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:max_iter": (
        lambda tmp: _classifier(max_iter=0.5),
        "max_iter: expected an int >= 1, got 0.5",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:validation_fraction": (
        lambda tmp: _classifier(validation_fraction=1.0),
        "validation_fraction: expected a number in (0, 1), got 1.0",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:hidden_layer_sizes": (
        lambda tmp: _classifier(hidden_layer_sizes=(4, 0)),
        "hidden_layer_sizes: expected positive ints, got (4, 0)",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._check_params:batch_size": (
        lambda tmp: _classifier(batch_size="all"),
        "batch_size: expected 'auto' or an int >= 1, got 'all'",
    ),
    "nnbasics.sklearn._mlp:MLPClassifier._prepare:y": (
        lambda tmp: MLPClassifier().fit(np.ones((4, 2)), np.zeros(4)),
        "y: expected at least 2 classes, got 1 class (np.float64(0.0))",
    ),
    "nnbasics.search:uniform:lo": (
        lambda tmp: search.uniform("a", 1.0),
        "lo: expected a finite real number, received a",
    ),
    "nnbasics.search:uniform:hi": (
        lambda tmp: search.uniform(0.0, float("nan")),
        "hi: expected a finite real number, received nan",
    ),
    "nnbasics.search:uniform:hi#2": (
        lambda tmp: search.uniform(1.0, 0.5),
        "hi: expected a number above lo=1.0, received 0.5",
    ),
    "nnbasics.search:log_uniform:lo": (
        lambda tmp: search.log_uniform(None, 1.0),
        "lo: expected a finite real number, received None",
    ),
    "nnbasics.search:log_uniform:hi": (
        lambda tmp: search.log_uniform(1.0, float("inf")),
        "hi: expected a finite real number, received inf",
    ),
    "nnbasics.search:log_uniform:lo#2": (
        lambda tmp: search.log_uniform(0.0, 1.0),
        "lo: expected a positive number (log scale), received 0.0",
    ),
    "nnbasics.search:log_uniform:hi#2": (
        lambda tmp: search.log_uniform(1.0, 0.5),
        "hi: expected a number above lo=1.0, received 0.5",
    ),
    "nnbasics.search:int_range:lo": (
        lambda tmp: search.int_range(-1, 3),
        "lo: expected a non-negative integer, received -1",
    ),
    "nnbasics.search:int_range:hi": (
        lambda tmp: search.int_range(0, 1.5),
        "hi: expected a non-negative integer, received 1.5",
    ),
    "nnbasics.search:int_range:hi#2": (
        lambda tmp: search.int_range(3, 1),
        "hi: expected an integer >= lo=3, received 1",
    ),
    "nnbasics.search:choice:values": (
        lambda tmp: search.choice([]),
        "values: expected a non-empty sequence, received []",
    ),
    "nnbasics.search:grid:{name}": (
        lambda tmp: search.grid(learning_rate=[]),
        "learning_rate: expected a non-empty sequence of values, received []",
    ),
    "nnbasics.search:random:n": (
        lambda tmp: search.random(K, 0, learning_rate=search.uniform(0.1, 1.0)),
        "n: expected a positive integer, received 0",
    ),
    "nnbasics.search:_check_search_args:net": (
        lambda tmp: _search(net="mlp"),
        "net: expected an nnbasics.MLP, received str",
    ),
    "nnbasics.search:_check_search_args:optimizer": (
        lambda tmp: _search(optimizer="adamax"),
        "optimizer: expected one of 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw', 'nadam', 'amsgrad', received 'adamax'",
    ),
    "nnbasics.search:_check_search_args:epochs": (
        lambda tmp: _search(epochs=0),
        "epochs: expected a positive integer, received 0",
    ),
    "nnbasics.search:_check_search_args:chunk_size": (
        lambda tmp: _search(chunk_size=0),
        "chunk_size: expected a positive integer, received 0",
    ),
    "nnbasics.search:_check_search_args:patience": (
        lambda tmp: _search(patience=-2),
        "patience: expected a non-negative integer, received -2",
    ),
    "nnbasics.search:_check_search_args:min_delta": (
        lambda tmp: _search(min_delta=-1.0),
        "min_delta: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.search:_check_search_args:grad": (
        lambda tmp: _search(grad="jax"),
        "grad: expected one of 'manual', 'auto', received 'jax'",
    ),
    "nnbasics.search:_check_search_args:select": (
        lambda tmp: _search(select="train_loss"),
        "select: expected one of 'valid_loss', 'valid_accuracy', received 'train_loss'",
    ),
    "nnbasics.search:_check_search_args:dtype": (
        lambda tmp: _search(dtype=jnp.int32),
        "dtype: expected a floating dtype, received <class 'jax.numpy.int32'>",
    ),
    "nnbasics.search:_check_search_args:{name}": (
        lambda tmp: _search(valid=np.ones(3)),
        "valid: expected a pair (X, y), received ndarray",
    ),
    "nnbasics.search:_check_search_args:configs": (
        lambda tmp: _search(configs={"learning_rate": 0.1}),
        "configs: expected a non-empty list of config dicts (grid(...) or random(...)), received {'learning_rate': 0.1}",
    ),
    "nnbasics.search:_check_search_args:configs[{i}]": (
        lambda tmp: _search(configs=[0.1]),
        "configs[0]: expected a dict of hyper-parameters, received float",
    ),
    "nnbasics.search:_check_search_args:configs#2": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "beta": 0.9}]),
        "configs: expected hyper-parameters of optimizer 'adam' among learning_rate, b1, b2, eps, eps_root, weight_decay, l2, l1, min_delta, lr_decay, lr_exponent, seed, sizes, hidden, pieces, components, batch_size, lr_hold, received 'beta'",
    ),
    "nnbasics.search:_check_search_args:configs#3": (
        lambda tmp: _search(configs=[{"l2": 0.1}]),
        "configs: expected a 'learning_rate' in every config, received keys ['l2']",
    ),
    "nnbasics.search:_check_search_args:configs#4": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "lr_decay": 0.1, "lr_exponent": 0.5}]),
        "configs: expected at most one of 'lr_decay' (inverse_time) and 'lr_exponent' (power), received both",
    ),
    "nnbasics.search:_check_search_args:configs#5": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "lr_hold": 2}]),
        "configs: expected 'lr_decay' or 'lr_exponent' beside 'lr_hold', received keys ['learning_rate', 'lr_hold']",
    ),
    "nnbasics.search:_check_search_args:configs[{i}]#2": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1}, {"learning_rate": 0.1, "l2": 0.1}]),
        "configs[1]: expected the keys of configs[0] ['learning_rate'], received keys ['learning_rate', 'l2']",
    ),
    "nnbasics.search:_check_search_args:configs[{i}][{name}]": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1}, {"learning_rate": 0.1e400}]),
        "configs[1]['learning_rate']: expected a finite real number, received inf",
    ),
    "nnbasics.search:_check_search_args:configs[{groups[key][0]}] ({net_g})": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "sizes": (3, 3)}]),
        "configs[0] (MLP(sizes=(3, 3), hidden='relu', output='softmax', pieces=2, components=3)): train[0] (X): expected 3 features (columns), received 2 features",
    ),
    "nnbasics.search:_check_config:{k}": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "seed": -1}]),
        "configs[0]['seed']: expected a non-negative integer, received -1",
    ),
    "nnbasics.search:_check_config:{k}#2": (
        lambda tmp: _search(configs=[{"learning_rate": "0.1"}]),
        "configs[0]['learning_rate']: expected a finite real number, received 0.1",
    ),
    "nnbasics.search:_check_config:{k}#3": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "l2": -0.5}]),
        "configs[0]['l2']: expected a real number in [0.0, inf), received -0.5",
    ),
    "nnbasics.search:_check_config:batch_size": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "batch_size": 9}]),
        "configs[0]['batch_size']: expected an integer from 1 to the number of training examples (4), received 9",
    ),
    "nnbasics.search:_check_config:sizes": (
        lambda tmp: _search(configs=[{"learning_rate": 0.1, "sizes": "wide"}]),
        "configs[0]['sizes']: expected a sequence of layer sizes, received wide",
    ),
    "nnbasics.search:format_table:top": (
        lambda tmp: search.format_table(_search(), top=0),
        "top: expected a positive integer, received 0",
    ),
    "nnbasics.search:random:key": (
        lambda tmp: search.random("k", 2, learning_rate=search.uniform(0.1, 1.0)),
        "key: expected a JAX PRNG key, received str",
    ),
    "nnbasics.models:save_model:net": (
        lambda tmp: _save(tmp, net=(2, 3)),
        "net: expected an nnbasics.MLP, received tuple",
    ),
    "nnbasics.models:save_model:standardizer.{field}": (
        lambda tmp: _save(tmp, standardizer=data.Standardizer(mean=np.zeros(3), scale=np.ones(2))),
        "standardizer.mean: expected shape (2,), received shape (3,)",
    ),
    "nnbasics.models:save_model:target_standardizer": (
        lambda tmp: _save(tmp, target_standardizer=STATS),
        "target_standardizer: expected None for a classifier (target statistics are for regression outputs), received statistics for a softmax output",
    ),
    "nnbasics.models:save_model:target_standardizer.{field}": (
        lambda tmp: _save(
            tmp,
            REG,
            REG.init(K),
            target_standardizer=data.Standardizer(mean=np.zeros(2), scale=np.ones(3)),
        ),
        "target_standardizer.scale: expected shape (2,), received shape (3,)",
    ),
    "nnbasics.models:save_model:target_standardizer.mean": (
        lambda tmp: _save(
            tmp,
            REG,
            REG.init(K),
            target_standardizer=data.Standardizer(mean=np.array([0.0, np.nan]), scale=np.ones(2)),
        ),
        "target_standardizer.mean: expected finite values, received 1 NaN/inf entries",
    ),
    "nnbasics.models:_check_scale:{name}.scale": (
        lambda tmp: _save(
            tmp,
            REG,
            REG.init(K),
            target_standardizer=data.Standardizer(mean=np.zeros(2), scale=np.array([1.0, -2.0])),
        ),
        "target_standardizer.scale: expected finite positive scales, received -2.0 at column 1 (1 such)",
    ),
    "nnbasics.models:save_model:labels": (
        lambda tmp: _save(tmp, labels=["x", "y"]),
        "labels: expected 3 class names for a classifier (None for regression outputs), received 2 names",
    ),
    "nnbasics.models:save_model:features": (
        lambda tmp: _save(tmp, features=["a", "a"]),
        "features: expected distinct feature names, received 'a' more than once",
    ),
    "nnbasics.models:save_model:meta": (
        lambda tmp: _save(tmp, meta={"epochs": np.int64(3)}),
        "meta: expected a JSON-able dict, received {'epochs': np.int64(3)} (Object of type int64 is not JSON serializable)",
    ),
    "nnbasics.models:save_model:path": (
        lambda tmp: _save(os.path.join(tmp, "missing")),
        "path: expected a file in an existing directory, received '{tmp}/missing/m.npz'",
    ),
    "nnbasics.models:save_model:path#2": (
        lambda tmp: (os.mkdir(os.path.join(tmp, "m.npz")), _save(tmp)),
        "path: expected a file name, received the directory '{tmp}/m.npz'",
    ),
    "nnbasics.models:_target_column:target": (
        lambda tmp: _model(tmp).columns("data.csv", 3, ["a", "b", "c"], target="d"),
        "target: expected a column name or a column index from -3 to 2 of data.csv, received 'd'",
    ),
    "nnbasics.models:Model.predict:X#2": (
        lambda tmp: _model(tmp).predict(pd.DataFrame({"a": ["u", "v"], "b": [1.0, 2.0]})),
        "X: expected numeric feature columns, received a DataFrame (could not convert string to float: 'u')",
    ),
    "nnbasics.models:Model.predict:X#3": (
        lambda tmp: _model(tmp).predict(np.ones((2, 3))),
        "X: expected an array of shape (n, 2), received shape (2, 3)",
    ),
    "nnbasics.models:Model.predict:X#4": (
        lambda tmp: _model(tmp).predict(np.array([[0.0, 1.0], [np.inf, 0.0]])),
        "X: expected finite values in every row, received NaN/inf in 1 row(s): 1",
    ),
    "nnbasics.models:Model.predict:X": (
        lambda tmp: _model(tmp).predict(pd.DataFrame({"a": [1.0], "c": [2.0]})),
        "X: expected the model's 2 feature columns by name ('a', 'b'), in any order, received columns with missing 'b' and unknown 'c'",
    ),
    "nnbasics.data.splits:split:key": (
        lambda tmp: data.split(0, XS, YS),
        "key: expected a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0), received 0",
    ),
    "nnbasics.data.splits:split:valid": (
        lambda tmp: data.split(K, XS, YS, valid=1.0),
        "valid: expected a real number in [0.0, 1.0), received 1.0",
    ),
    "nnbasics.data.splits:split:test": (
        lambda tmp: data.split(K, XS, YS, test=-0.1),
        "test: expected a real number in [0.0, 1.0), received -0.1",
    ),
    "nnbasics.data.splits:split:valid + test": (
        lambda tmp: data.split(K, XS, YS, valid=0.5, test=0.5),
        "valid + test: expected a sum below 1, leaving examples to train on, received 1.0",
    ),
    "nnbasics.data.splits:split:stratify": (
        lambda tmp: data.split(K, XS, YS, stratify=1),
        "stratify: expected True or False, received 1",
    ),
    "nnbasics.data.splits:split:{name}": (
        lambda tmp: data.split(K, XS, [0, 1]),
        "y: expected an array of shape (n, ...), received [0, 1]",
    ),
    "nnbasics.data.splits:split:y": (
        lambda tmp: data.split(K, XS, YS[:9]),
        "y: expected 10 rows, as many as X, received 9 rows",
    ),
    "nnbasics.data.splits:split:y#2": (
        lambda tmp: data.split(K, XS, YS * 0.5, stratify=True),
        "y: expected integer class labels of shape (n,) when stratify=True, received array of shape (10,) and dtype float64",
    ),
    "nnbasics.data.splits:split:X": (
        lambda tmp: data.split(K, XS[:2], YS[:2]),
        "X: expected enough rows for a non-empty train split and non-empty valid/test splits where their fraction is positive, received 2 rows, giving (train, valid, test) sizes (1, 0, 1) at valid=0.15, test=0.15",
    ),
    "nnbasics.data.splits:Standardizer.fit:X": (
        lambda tmp: data.Standardizer.fit(np.ones(3)),
        "X: expected an array of shape (n, d), received array of shape (3,) and dtype float64",
    ),
    "nnbasics.data.splits:Standardizer.fit:X#2": (
        lambda tmp: data.Standardizer.fit(np.ones((0, 2))),
        "X: expected at least one row, received array of shape (0, 2) and dtype float64",
    ),
    "nnbasics.data.splits:Standardizer.fit:X#3": (
        lambda tmp: data.Standardizer.fit(np.array([[1.0, np.nan]])),
        "X: expected finite values, received 1 NaN/inf entries",
    ),
    "nnbasics.data.splits:transform:X": (
        lambda tmp: data.transform(data.Standardizer.fit(XS), np.ones((2, 3))),
        "X: expected 2 features (columns), as fitted, received 3 features",
    ),
    "nnbasics.data.splits:inverse_transform:Z": (
        lambda tmp: data.inverse_transform(data.Standardizer.fit(XS), np.ones(2)),
        "Z: expected an array of shape (n, d), received array of shape (2,) and dtype float64",
    ),
    "nnbasics.data.splits:check_dataset:kind": (
        lambda tmp: data.check_dataset(XS, YS, kind="ranking"),
        "kind: expected one of 'classes', 'binary', 'real', received 'ranking'",
    ),
    "nnbasics.data.splits:check_dataset:{arg}": (
        lambda tmp: data.check_dataset(XS, YS, n_classes=0),
        "n_classes: expected a positive integer, received 0",
    ),
    "nnbasics.data.datasets:_check_name:name": (
        lambda tmp: data.load("mnist"),
        "name: expected one of 'digits', 'breast_cancer', 'iris', 'wine', 'xor', 'xor_noisy', 'moons', 'blobs', 'sine', 'multimodal', 'mnist1d', received mnist",
    ),
    "nnbasics.data.datasets:load:{arg}": (
        lambda tmp: data.load(os.path.join(tmp, "d.csv"), seed=3),
        "seed: expected None for a data file, received 3",
    ),
    "nnbasics.data.datasets:load:{arg}#2": (
        lambda tmp: data.load("iris", target="species"),
        "target: expected None for the named set 'iris' (it is for data files), received 'species'",
    ),
    "nnbasics.data.datasets:load:seed": (
        lambda tmp: data.load("moons", seed=-1),
        "seed: expected a non-negative integer, received -1",
    ),
    "nnbasics.data.datasets:load:n": (
        lambda tmp: data.load("moons", n=0),
        "n: expected a positive integer, received 0",
    ),
    "nnbasics.data.datasets:load:noise": (
        lambda tmp: data.load("iris", noise=0.1),
        "noise: expected None for the 'iris' set, which has no noise parameter, received 0.1",
    ),
    "nnbasics.data.datasets:load:noise#2": (
        lambda tmp: data.load("moons", noise=-0.1),
        "noise: expected a real number in [0.0, inf), received -0.1",
    ),
    "nnbasics.data.datasets:load:n#2": (
        lambda tmp: data.load("iris", n=151),
        "n: expected at most 150 for 'iris', received 151",
    ),
    "nnbasics.data.datasets:load:n#3": (
        lambda tmp: data.load("xor", n=8),
        "n: expected None or 4 for 'xor' (use 'xor_noisy' for more points), received 8",
    ),
    "nnbasics.data.datasets:_check_split_and_shuffle:split": (
        lambda tmp: data.load("iris", split="train"),
        "split: expected None for 'iris', which has no test split of its own (divide it with nnbasics.data.split), received train",
    ),
    "nnbasics.data.datasets:_check_split_and_shuffle:split#2": (
        lambda tmp: data.load("mnist1d", split="valid"),
        "split: expected one of None, 'train', 'test', received 'valid'",
    ),
    "nnbasics.data.datasets:_check_split_and_shuffle:shuffle": (
        lambda tmp: data.load("iris", shuffle="no"),
        "shuffle: expected True or False, received no",
    ),
    "nnbasics.data.datasets:_check_split_and_shuffle:shuffle#2": (
        lambda tmp: data.load("iris", shuffle=True),
        "shuffle: expected False for 'iris' (only 'mnist1d' has a shuffled variant), received True",
    ),
    "nnbasics.checkpoint:_check:checkpoint": (
        lambda tmp: _tampered(tmp, manifest=_manifest(tmp, version=99)),
        "checkpoint: format version of the checkpoint '{tmp}/checkpoint.npz' differs from this run's: expected 1, received 99",
    ),
    "nnbasics.checkpoint:restore:checkpoint": (
        lambda tmp: _tampered(tmp, manifest=_manifest(tmp, meta={"lr": 0.5})),
        "checkpoint: {tmp}/checkpoint.npz has lr = 0.5, this run asks for <missing> (resume with the same settings, or overwrite the checkpoint to start anew)",
    ),
    "nnbasics.checkpoint:restore:checkpoint#2": (
        lambda tmp: _tampered(tmp, like={"w": np.zeros((2, 3)), "b": np.zeros(3)}),
        "checkpoint: {tmp}/checkpoint.npz holds the state of another optimizer or network (its training state has another structure than this run's)",
    ),
    "nnbasics.checkpoint:restore:_corrupt()#2": (
        lambda tmp: _tampered(tmp, drop=["leaf_00000"]),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (leaf_00000 is missing)",
    ),
    "nnbasics.checkpoint:restore:_corrupt()#3": (
        lambda tmp: _tampered(tmp, arrays={"leaf_00000": np.zeros((2, 3), np.int8)}),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (leaf_00000 is stored as int8, expected float64)",
    ),
    "nnbasics.checkpoint:restore:_corrupt()#4": (
        lambda tmp: _tampered(tmp, manifest=_manifest(tmp, history=["train_loss"])),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (history 'train_loss' is missing)",
    ),
    "nnbasics.checkpoint:restore:history": (
        lambda tmp: _tampered(tmp, history={"a": np.zeros(2), "b": np.zeros(3)}),
        "checkpoint: expected 1-D arrays of one length as history in '{tmp}/checkpoint.npz', received {'a': (2,), 'b': (3,)}",
    ),
    "nnbasics.checkpoint:restore:epoch": (
        lambda tmp: _tampered(
            tmp,
            state=_state(),
            manifest=_manifest(
                tmp,
                epoch=4,
                treedef=str(jax.tree.structure(_state())),
                leaves=[
                    dict(shape=list(np.shape(x)), dtype=str(np.asarray(x).dtype))
                    for x in jax.tree.leaves(_state())
                ],
            ),
        ),
        "checkpoint: expected 4, the manifest's as epoch in '{tmp}/checkpoint.npz', received 0",
    ),
    "nnbasics.checkpoint:check_train_state:{jax.tree_util.keystr(keys)[1:]}": (
        lambda tmp: checkpoint.check_train_state(
            tmp, _state(params=[{"W": P[0]["W"] * np.nan, "b": P[0]["b"]}]), {}
        ),
        "checkpoint: expected finite values as params[0]['W'] in '{tmp}/checkpoint.npz', received 6 NaN/inf values",
    ),
    "nnbasics.checkpoint:check_train_state:epoch": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(epoch=-1), {}),
        "checkpoint: expected a count >= 0 as epoch in '{tmp}/checkpoint.npz', received -1",
    ),
    "nnbasics.checkpoint:check_train_state:best_epoch": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(epoch=2, best_epoch=2), {}),
        "checkpoint: expected an epoch in [-1, 1] as best_epoch in '{tmp}/checkpoint.npz', received 2",
    ),
    "nnbasics.checkpoint:check_train_state:wait": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(epoch=2, best_epoch=0, wait=0), {}),
        "checkpoint: expected epoch - 1 - best_epoch = 1 as wait in '{tmp}/checkpoint.npz', received 0",
    ),
    "nnbasics.checkpoint:check_train_state:best_loss": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(epoch=2, best_epoch=0, wait=1), {}),
        "checkpoint: expected inf before the first improvement (best_epoch -1), finite after as best_loss in '{tmp}/checkpoint.npz', received inf with best_epoch 0",
    ),
    "nnbasics.checkpoint:check_train_state:stopped": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(diverged=True, stopped=False), {}),
        "checkpoint: expected True when diverged is True as stopped in '{tmp}/checkpoint.npz', received False",
    ),
    "nnbasics.checkpoint:check_train_state:history {name}": (
        lambda tmp: checkpoint.check_train_state(tmp, _state(), {"train_loss": np.zeros(1)}),
        "checkpoint: expected 0 entries (one per finished epoch) as history 'train_loss' in '{tmp}/checkpoint.npz', received 1",
    ),
    "nnbasics.checkpoint:check_train_state:history 'train_loss'": (
        lambda tmp: checkpoint.check_train_state(
            tmp,
            _state(epoch=1, best_epoch=0, wait=0, best_loss=0.5),
            {"train_loss": np.array([np.nan])},
        ),
        "checkpoint: expected finite values as history 'train_loss' in '{tmp}/checkpoint.npz', received 1 NaN/inf values",
    ),
    "nnbasics.models:load_model:dtypes": (
        lambda tmp: _edited_model(tmp, header={"dtypes": ["float64"]}),
        "model: expected an object of dtype names as dtypes in '{tmp}/m.npz', received ['float64']",
    ),
    "nnbasics.models:load_model:layers.{k}.{name}": (
        lambda tmp: _edited_model(tmp, drop=["layers.0.b"]),
        "model: expected an array 'layers.0.b', received '{tmp}/m.npz' without it",
    ),
    "nnbasics.models:load_model:target": (
        lambda tmp: _edited_model(
            tmp, arrays={"target.mean": np.zeros(3), "target.scale": np.ones(3)}
        ),
        "model: expected no target statistics for a classifier as target in '{tmp}/m.npz', received some",
    ),
    "nnbasics.models:load_model:labels": (
        lambda tmp: _edited_model(tmp, header={"labels": "xyz"}),
        "model: expected a list of class names as labels in '{tmp}/m.npz', received 'xyz'",
    ),
    "nnbasics.models:load_model:labels#2": (
        lambda tmp: _edited_model(tmp, header={"labels": ["x", "y"]}),
        "model: expected 3 class names for its softmax output as labels in '{tmp}/m.npz', received 2 names",
    ),
    "nnbasics.models:load_model:meta": (
        lambda tmp: _edited_model(tmp, header={"meta": [1]}),
        "model: expected an object as meta in '{tmp}/m.npz', received list",
    ),
    "nnbasics.models:load_model:features in {path}": (
        lambda tmp: _edited_model(tmp, header={"features": ["a"]}),
        "features in '{tmp}/m.npz': expected 2 feature names, one per input, received 1 names",
    ),
    "nnbasics.models:_statistics:{prefix}.{f}": (
        lambda tmp: _edited_model(
            tmp,
            standardizer=data.Standardizer(mean=np.zeros(2), scale=np.ones(2)),
            drop=["standardizer.scale"],
        ),
        "model: expected an array 'standardizer.scale', received '{tmp}/m.npz' without it",
    ),
    "nnbasics.models:_statistics:{prefix}.scale": (
        lambda tmp: _edited_model(
            tmp,
            standardizer=data.Standardizer(mean=np.zeros(2), scale=np.ones(2)),
            arrays={"standardizer.scale": np.array([1.0, 0.0])},
        ),
        "model: expected finite positive scales as standardizer.scale in '{tmp}/m.npz', received 0.0 at column 1 (1 such)",
    ),
    "nnbasics.models:_array:model": (
        lambda tmp: _edited_model(tmp, drop=["layers.0.W"]),
        "model: expected an array 'layers.0.W', received '{tmp}/m.npz' without it",
    ),
    "nnbasics.models:_array:dtypes[{name}]": (
        lambda tmp: _edited_model(tmp, header={"dtypes": {"layers.0.W": "float99"}}),
        "model: expected a NumPy/JAX dtype name as dtypes['layers.0.W'] in '{tmp}/m.npz', received 'float99'",
    ),
    "nnbasics.models:_array:dtypes[{name}]#2": (
        lambda tmp: _edited_model(tmp, header={"dtypes": {"layers.0.W": "int32"}}),
        "model: expected a floating dtype as dtypes['layers.0.W'] in '{tmp}/m.npz', received int32",
    ),
    "nnbasics.models:_array:model#2": (
        lambda tmp: _edited_model(tmp, arrays={"layers.0.W": np.zeros((2, 3), np.int8)}),
        "model: expected layers.0.W of dtype float32, received dtype int8",
    ),
    "nnbasics.data.files:read:task": (
        lambda tmp: data.read(_csv(tmp, "a,y\n1,0\n2,1\n"), task="clustering"),
        "task: expected one of None, 'classification', 'regression', received 'clustering'",
    ),
    "nnbasics.data.files:read:missing": (
        lambda tmp: data.read(_csv(tmp, "a,y\n1,0\n2,1\n"), missing="fill"),
        "missing: expected one of 'refuse', 'drop', received 'fill'",
    ),
    "nnbasics.data.files:_data_path:path": (
        lambda tmp: data.read(3),
        "path: expected a file path (str or os.PathLike), received 3",
    ),
    "nnbasics.data.files:_data_path:path#2": (
        lambda tmp: data.read(os.path.join(tmp, "d.xlsx")),
        "path: expected a data file ending in .csv, .tsv, .txt, .npz, .npy, received '{tmp}/d.xlsx'",
    ),
    "nnbasics.data.files:_read_bytes:{str(path)}": (
        lambda tmp: data.read(os.path.join(tmp, "none.npz")),
        "{tmp}/none.npz: expected a readable file, received No such file or directory",
    ),
    "nnbasics.data.files:_target_index:target": (
        lambda tmp: data.read(_csv(tmp, "a,y\n1,0\n2,1\n"), target="label"),
        "target: expected a column name ('a', 'y') or a column index from -2 to 1 of {tmp}/d.csv, received 'label'",
    ),
    "nnbasics.data.files:_read_arrays:target": (
        lambda tmp: data.read(_npz(tmp, X=np.ones((2, 2)), y=np.arange(2)), target="y"),
        "target: expected None for {tmp}/d.npz (its y array is the target), received 'y'",
    ),
    "nnbasics.data.files:_read_arrays:{str(y_path)}": (
        lambda tmp: data.read(_npy_pair(tmp, b"junk")),
        "{tmp}/x.y.npy: expected an array saved by numpy.save, received a file in another format",
    ),
    "nnbasics.data.files:_npy_target_path:path": (
        lambda tmp: data.read(os.path.join(tmp, "d.y.npy")),
        "path: expected the features file of an .npy pair (NAME.npy holds X and NAME.y.npy beside it holds y; X.npy pairs with y.npy), received '{tmp}/d.y.npy'",
    ),
    "nnbasics.data.files:_check_arrays:{path}, X": (
        lambda tmp: data.read(_npz(tmp, X=np.ones(3), y=np.arange(3))),
        "{tmp}/d.npz, X: expected a numeric array of shape (n, d), received array of shape (3,) and dtype float64",
    ),
    "nnbasics.data.files:_check_arrays:{path}, X#2": (
        lambda tmp: data.read(_npz(tmp, X=np.ones((0, 2)), y=np.arange(0))),
        "{tmp}/d.npz, X: expected at least one example, received an empty data set (0 rows)",
    ),
    "nnbasics.data.files:_check_arrays:{path}, y": (
        lambda tmp: data.read(_npz(tmp, X=np.ones((3, 2)), y=np.arange(2))),
        "{tmp}/d.npz, y: expected numbers or strings of shape (3,) or (3, d_out), a row per row of X, received array of shape (2,) and dtype int64",
    ),
    "nnbasics.data.files:_check_arrays:{path}, X#3": (
        lambda tmp: data.read(_npz(tmp, X=np.array([[1.0, np.nan], [0.0, 0.0]]), y=np.arange(2))),
        "{tmp}/d.npz, X: expected finite values in every row, received NaN/inf in 1 row(s): 0",
    ),
    "nnbasics.data.files:_check_arrays:{path}, y#2": (
        lambda tmp: data.read(_npz(tmp, X=np.ones((2, 2)), y=np.array([0.5, np.inf]))),
        "{tmp}/d.npz, y: expected finite values in every row, received NaN/inf in 1 row(s): 1",
    ),
    "nnbasics.data.files:_encode_classes:{where(None)}": (
        lambda tmp: data.read(
            _npz(tmp, X=np.ones((2, 2)), y=np.ones((2, 2))), task="classification"
        ),
        "{tmp}/d.npz, y: expected one target column for task='classification', received 2 columns",
    ),
    "nnbasics.data.files:_encode_classes:{where(None)}#2": (
        lambda tmp: data.read(
            _npz(tmp, X=np.ones((30, 2)), y=np.arange(30) + 0.5), task="classification"
        ),
        "{tmp}/d.npz, y: expected class labels for task='classification', received 30 distinct values in 30 rows that look continuous (not whole numbers, e.g. 0.5, 1.5); use task='regression'",
    ),
    "nnbasics.data.files:_encode_classes:{where(None)}#3": (
        lambda tmp: data.read(_npz(tmp, X=np.ones((3, 2)), y=np.zeros(3)), task="classification"),
        "{tmp}/d.npz, y: expected at least 2 classes, received 1 class ('0') in all 3 rows",
    ),
    "nnbasics.data.files:_regression_targets:{where(i)}": (
        lambda tmp: data.read(_csv(tmp, "a,y\n1,x\n2,z\n"), task="regression"),
        "{tmp}/d.csv, line 2, column 'y': expected a number (task='regression'), received 'x'",
    ),
    "nnbasics.data.files:read:{shown}": (
        lambda tmp: data.read(_npz(tmp, features=np.ones((2, 2)), y=np.arange(2))),
        "{tmp}/d.npz: expected an .npz archive holding arrays 'X' and 'y', received arrays ['features', 'y']",
    ),
    "nnbasics.data.files:read:{shown}#2": (
        lambda tmp: data.read(_csv(tmp, "")),
        "{tmp}/d.csv: expected a table with one example per line, received an empty file",
    ),
    "nnbasics.data._text:_check_distinct:{path}, line {line}": (
        lambda tmp: data.read(_csv(tmp, "a,a,y\n1,2,0\n3,4,1\n")),
        "{tmp}/d.csv, line 1: expected distinct column names, received 'a' twice (columns 1 and 2)",
    ),
    "nnbasics.data._text:_ragged:{path}, line {line}": (
        lambda tmp: data.read(_csv(tmp, "a,b,y\n1,2,0\n3,4,1,5\n")),
        "{tmp}/d.csv, line 3: expected 3 cells, as in line 1, received 4 cells",
    ),
    "nnbasics.data._text:Table._missing:{self.where(i, j)}": (
        lambda tmp: data.read(_csv(tmp, "a,b,y\n1,,0\n3,4,1\n")),
        "{tmp}/d.csv, line 2, column 'b': expected a value in every cell (1 row of 2 hold a missing value, at line 2; missing='drop' or --drop-missing drops such rows), received an empty cell",
    ),
    "nnbasics.data._text:Table.parse:{self.where(i, j)}": (
        lambda tmp: data.read(_csv(tmp, "a,b,y\n1,1e400,0\n3,4,1\n")),
        "{tmp}/d.csv, line 2, column 'b': expected a finite number within float32's range, received '1e400'",
    ),
    "nnbasics._files:_declared:member {info.filename} of .npy version {": (
        lambda tmp: nb.load_model(_npz_members(tmp, header=_npy_bytes(np.array("{}"), (3, 0)))),
        "model: expected a readable .npz file, received '{tmp}/m.npz' (ValueError: member 'header.npy' of .npy version (3, 0))",
    ),
    "nnbasics._files:_declared:member {info.filename} holds Python obje": (
        lambda tmp: nb.load_model(_npz(tmp, "m.npz", header=np.array([None], dtype=object))),
        "model: expected a readable .npz file, received '{tmp}/m.npz' (ValueError: member 'header.npy' holds Python objects)",
    ),
    "nnbasics._files:_declared:member {info.filename} declares {nbytes}": (
        lambda tmp: nb.load_model(_npz_members(tmp, header=_npy_bytes(np.zeros(4))[:-8])),
        "model: expected a readable .npz file, received '{tmp}/m.npz' (ValueError: member 'header.npy' declares 32 bytes of data but holds 24)",
    ),
    "nnbasics._files:read_npz:{what}": (
        lambda tmp: nb.load_model(_npz(tmp, "m.npz", W=np.zeros(2))),
        "model: expected an nnbasics file with a header, received '{tmp}/m.npz'",
    ),
    "nnbasics._files:read_npz:{what}#2": (
        lambda tmp: _model_header(tmp, "{"),
        "model: expected a JSON header in '{tmp}/m.npz', received one it cannot read (unreadable JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)))",
    ),
    "nnbasics._files:read_npz:{what}#3": (
        lambda tmp: _model_header(tmp, "[1]"),
        "model: expected a JSON object as the header of '{tmp}/m.npz', received list",
    ),
    "nnbasics._files:read_npz:{what}#4": (
        lambda tmp: _edited_model(tmp, arrays={"layers.0.W": np.zeros((3, 3))}),
        "model: expected layers.0.W of shape (2, 3), received shape (3, 3) in '{tmp}/m.npz'",
    ),
    "nnbasics._files:read_npz:{what}#5": (
        lambda tmp: nb.load_model(os.path.join(tmp, "none.npz")),
        "model: expected an existing file, received '{tmp}/none.npz'",
    ),
    "nnbasics._files:read_npz:{what}#6": (
        lambda tmp: nb.load_model(tmp),
        "model: expected a file, received the directory '{tmp}'",
    ),
    "nnbasics._files:read_npz:{what}#7": (
        lambda tmp: nb.load_model(_csv(tmp, "not a zip", "m.npz")),
        "model: expected a readable .npz file, received '{tmp}/m.npz' (BadZipFile: File is not a zip file)",
    ),
    "nnbasics.checkpoint:_read:_corrupt()": (
        lambda tmp: _tampered(tmp, drop=["manifest"]),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (no manifest)",
    ),
    "nnbasics.checkpoint:_read:_corrupt()#2": (
        lambda tmp: _tampered(tmp, manifest="{"),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (unreadable manifest: unreadable JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)))",
    ),
    "nnbasics.checkpoint:_read:_corrupt()#3": (
        lambda tmp: _tampered(tmp, manifest=_manifest(tmp, format="other")),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (the manifest is not an nnbasics checkpoint manifest)",
    ),
    "nnbasics.checkpoint:_read:_corrupt()#4": (
        lambda tmp: _tampered(tmp, arrays={"leaf_00000": np.zeros((3, 2))}),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (leaf_00000 has shape (3, 2), its manifest says [2, 3])",
    ),
    "nnbasics.checkpoint:_read:_corrupt()#5": (
        lambda tmp: (
            _csv(tmp, "not a zip", checkpoint.FILENAME),
            checkpoint.restore(tmp, {"w": np.zeros(2)}, {}),
        ),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (BadZipFile: File is not a zip file)",
    ),
    "nnbasics.checkpoint:restore:_corrupt()": (
        lambda tmp: _tampered(tmp, manifest=_manifest(tmp, leaves=[]), drop=["leaf_00000"]),
        "checkpoint: expected a readable nnbasics checkpoint in {tmp}, received a corrupt file '{tmp}/checkpoint.npz' (the manifest's leaf list does not match its tree structure)",
    ),
    "nnbasics.checkpoint:check_train_state:history": (
        lambda tmp: checkpoint.check_train_state(
            tmp, _state(), {"train_loss": np.zeros(0)}, names=["train_loss", "valid_loss"]
        ),
        "checkpoint: expected the arrays ['train_loss', 'valid_loss'] as history in '{tmp}/checkpoint.npz', received ['train_loss'] (missing ['valid_loss'])",
    ),
    "nnbasics.newton:minimize:steps": (
        lambda tmp: newton.minimize(*COSH, steps=0),
        "steps: expected a positive integer, received 0",
    ),
    "nnbasics.newton:minimize:tol": (
        lambda tmp: newton.minimize(*COSH, tol=-1.0),
        "tol: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.folds:train_folds:sample_weights": (
        lambda tmp: _folds(sample_weights=[np.ones(4)]),
        "sample_weights: expected None or 2 arrays, one per fold, received 1",
    ),
    "nnbasics.linear:solve:weights": (
        lambda tmp: linear.solve(XL, YL, weights=jnp.ones(2)),
        "weights: expected per-example weights of shape (3,), received shape (2,)",
    ),
    "nnbasics.logistic:_check_weights:weights": (
        lambda tmp: logistic.nll(LIN, XL, YL, weights=jnp.ones(2)),
        "weights: expected per-example weights of shape (3,), received shape (2,)",
    ),
    "nnbasics.logistic:_check_weights:weights#2": (
        lambda tmp: logistic.nll(LIN, XL, YL, weights=jnp.zeros(3)),
        "weights: expected finite values >= 0, not all 0, received values [0.0, 0.0, 0.0]",
    ),
    "nnbasics.logistic:_multinomial_inputs:params['w']": (
        lambda tmp: logistic.multinomial_nll(LIN, XL, YL),
        "params['w']: expected shape (2, K): one column per class, received shape (2,)",
    ),
    "nnbasics.logistic:_multinomial_inputs:y": (
        lambda tmp: logistic.multinomial_nll(WK, XL, jnp.ones(3)),
        "y: expected integer labels of shape (3,) to match X's 3 rows, received float64 (3,)",
    ),
    "nnbasics.logistic:_multinomial_inputs:y#2": (
        lambda tmp: logistic.multinomial_nll(WK, XL, jnp.array([0, 3, 1])),
        "y: expected labels in 0..2, received range [0, 3]",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:penalty": (
        lambda tmp: LogisticRegression(penalty="l1").fit(XS, YS),
        "penalty: expected one of 'l2', None, received 'l1'",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:C": (
        lambda tmp: LogisticRegression(C="1").fit(XS, YS),
        "C: expected a number > 0 (inf: no penalty), received '1'",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:tol": (
        lambda tmp: LogisticRegression(tol=-1e-4).fit(XS, YS),
        "tol: expected a real number in [0.0, inf), received -0.0001",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:max_iter": (
        lambda tmp: LogisticRegression(max_iter=0).fit(XS, YS),
        "max_iter: expected a positive integer, received 0",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:fit_intercept": (
        lambda tmp: LogisticRegression(fit_intercept="yes").fit(XS, YS),
        "fit_intercept: expected True or False, received 'yes'",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._check_params:class_weight": (
        lambda tmp: LogisticRegression(class_weight="auto").fit(XS, YS),
        "class_weight: expected None, 'balanced' or a dict, received 'auto'",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._prepare:y": (
        lambda tmp: LogisticRegression().fit(XS, np.zeros(10)),
        "y: expected at least 2 classes, received 1 class (np.float64(0.0)): the data contains only one class",
    ),
    "nnbasics.sklearn._linear:LogisticRegression._prepare:sample_weight": (
        lambda tmp: LogisticRegression(class_weight={0: 0.0, 1: 0.0}).fit(XS, YS),
        "sample_weight: expected weights >= 0 with a positive sum, received a sum of 0",
    ),
    "nnbasics.sklearn._linear:Ridge._check_params:alpha": (
        lambda tmp: Ridge(alpha=-1.0).fit(XS, YS),
        "alpha: expected a real number in [0.0, inf), received -1.0",
    ),
    "nnbasics.sklearn._linear:_LinearModel._check_params:fit_intercept": (
        lambda tmp: LinearRegression(fit_intercept=1).fit(XS, YS),
        "fit_intercept: expected True or False, received 1",
    ),
    "nnbasics.sklearn._linear:_LinearModel._prepare:sample_weight": (
        lambda tmp: _before_sklearn_1_9(
            lambda: LinearRegression().fit(XS, YS, sample_weight=np.zeros(10))
        ),
        "sample_weight: expected weights >= 0 with a positive sum, received a sum of 0",
    ),
    "nnbasics.sklearn._mlp:MLPClassifier.partial_fit:classes": (
        lambda tmp: MLPClassifier().partial_fit(XS, YS),
        "classes: expected every class label on the first call to partial_fit, received None",
    ),
    "nnbasics.sklearn._mlp:MLPClassifier.partial_fit:classes#2": (
        lambda tmp: _twice(MLPClassifier(), (XS, YS, [0, 1]), (XS, YS, [0, 1, 2])),
        "classes: expected [0, 1] as on the first call, received [0, 1, 2]",
    ),
    "nnbasics.sklearn._mlp:MLPClassifier.partial_fit:y": (
        lambda tmp: MLPClassifier().partial_fit(XS, YS + 1, classes=[0, 1]),
        "y: expected labels in classes [0, 1], received [2]",
    ),
    "nnbasics.sklearn._mlp:MLPRegressor._prepare_more:y": (
        lambda tmp: _twice(MLPRegressor(), (XS, YS * 1.0), (XS, np.ones((10, 2)))),
        "y: expected 1 target column(s) as before, received 2",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._partial_fit:early_stopping": (
        lambda tmp: MLPClassifier(early_stopping=True).partial_fit(XS, YS, classes=[0, 1]),
        "early_stopping: expected False with partial_fit, received True",
    ),
    "nnbasics.sklearn._mlp:_BaseMLP._partial_fit:partial_fit": (
        lambda tmp: MLPRegressor().partial_fit(XS, YS * 1e30),
        "partial_fit: the epoch's loss is not finite (training diverged): lower learning_rate_init or scale the data",
    ),
    "nnbasics.sklearn._sparse:refuse:early_stopping": (
        lambda tmp: MLPClassifier(early_stopping=True).fit(scipy.sparse.csr_matrix(XS), YS),
        "early_stopping: expected False with a sparse X, received True",
    ),
    "nnbasics.train._arguments:_check_params_dtype:params": (
        lambda tmp: _fit(params=[{"W": jnp.ones((2, 3), int), "b": jnp.zeros(3, int)}]),
        "params: expected floating-point arrays (e.g. net.init(key), float32 or float64), received int64 at params[0]['W']",
    ),
    "nnbasics.train._epoch:start_state:columns": (
        lambda tmp: nb.train.start_state(nb.MLP((13, 4, 3)), optim.adam(0.1), 0, "float32", 8),
        "columns: expected at least net.sizes[0] = 13, for a net without maxout units, received 8 for a net of relu units",
    ),
    "nnbasics.train._fit:_check_sample_weight:sample_weight": (
        lambda tmp: _fit(sample_weight=np.ones(3)),
        "sample_weight: expected numbers of shape (4,), one per example, received float64 (3,)",
    ),
    "nnbasics.train._fit:_check_sample_weight:sample_weight#2": (
        lambda tmp: _fit(sample_weight=np.zeros(4)),
        "sample_weight: expected finite weights >= 0, not all 0, received values [0.0, 0.0, 0.0, 0.0]",
    ),
    "nnbasics.train._arguments:_check_checkpoint_dir:checkpoint_dir#3": (
        lambda tmp: (open(tmp + "/f", "w").close(), _fit(checkpoint_dir=tmp + "/f/sub")),
        "checkpoint_dir: expected a writable directory, received '{tmp}/f/sub' (Not a directory)",
    ),
    "nnbasics.models:Model.read:target": (
        lambda tmp: _model(tmp).read(_npz(tmp, X=np.ones((2, 2)), y=np.arange(2)), target="y"),
        "target: expected None for {tmp}/d.npz (its y array is the target), received 'y'",
    ),
    "nnbasics.models:_header_net:model": (
        lambda tmp: _edited_model(tmp, header={"format": "other"}),
        "model: expected an nnbasics model file (format 'nnbasics-model'), received '{tmp}/m.npz' of format 'other'",
    ),
    "nnbasics.models:_header_net:model#2": (
        lambda tmp: _edited_model(tmp, header={"version": 0}),
        "model: expected format version 1, received version 0 in '{tmp}/m.npz'",
    ),
    "nnbasics.models:_header_net:model#3": (
        lambda tmp: _edited_model(tmp, header={"net": {"sizes": [2, 3]}}),
        "model: expected a valid network configuration in '{tmp}/m.npz', received {'sizes': [2, 3]} ('hidden')",
    ),
    "nnbasics.models:_header_net:net.sizes": (
        lambda tmp: _edited_model(tmp, header={"net": {"sizes": [2]}}),
        "model: expected 2 to 4 sizes in [1, 2147483647] (the file holds 3 arrays) as net.sizes in '{tmp}/m.npz', received [2]",
    ),
    "nnbasics.models:_header_net:{f} = {str(config[f])[": (
        lambda tmp: _edited_model(
            tmp, header={"net": {**NET.__dict__, "sizes": [2, 3], "pieces": 0}}
        ),
        "model: expected a valid network configuration in '{tmp}/m.npz', received {'sizes': [2, 3], 'hidden': 'relu', 'output': 'softmax', 'pieces': 0, 'components': 3} (pieces = 0)",
    ),
    "nnbasics.distributed._launcher:launch:n": (
        lambda tmp: distributed.launch(0, ["train"]),
        "n: expected a positive integer, received 0",
    ),
    "nnbasics.distributed._launcher:launch:argv": (
        lambda tmp: distributed.launch(1, "train"),
        "argv: expected a sequence of strings, received 'train'",
    ),
    "nnbasics.distributed._launcher:launch:timeout": (
        lambda tmp: distributed.launch(1, ["train"], timeout=0),
        "timeout: expected a real number in (0.0, inf], received 0",
    ),
    "nnbasics.distributed._launcher:launch:cpu_devices": (
        lambda tmp: distributed.launch(1, ["train"], cpu_devices=0),
        "cpu_devices: expected a positive integer, received 0",
    ),
    "nnbasics.distributed._runtime:initialize:{c_name}": (
        lambda tmp: distributed.initialize("nohost", 1, 0),
        "coordinator: expected HOST:PORT with a port from 1 to 65535, received 'nohost'",
    ),
    "nnbasics.distributed._runtime:initialize:{n_name}": (
        lambda tmp: distributed.initialize("localhost:1234", 0, 0),
        "num_processes: expected a positive integer, received 0",
    ),
    "nnbasics.distributed._runtime:initialize:{p_name}": (
        lambda tmp: distributed.initialize("localhost:1234", 2, -1),
        "process_id: expected a non-negative integer, received -1",
    ),
    "nnbasics.distributed._runtime:initialize:{p_name}#2": (
        lambda tmp: distributed.initialize("localhost:1234", 2, 2),
        "process_id: expected an integer from 0 to 1 (num_processes - 1), received 2",
    ),
    "nnbasics.distributed._runtime:initialize:{t_name}": (
        lambda tmp: distributed.initialize("localhost:1234", 2, 1, timeout=0),
        "timeout: expected a positive integer, received 0",
    ),
    "nnbasics.distributed._runtime:initialize:{ENV_NUM_PROCESSES}": (
        lambda tmp: _under_env({"NNBASICS_NUM_PROCESSES": "two"}, distributed.initialize),
        "NNBASICS_NUM_PROCESSES: expected an integer, received 'two'",
    ),
    "nnbasics.distributed._runtime:initialize:{ENV_PROCESS_ID}": (
        lambda tmp: _under_env({"NNBASICS_PROCESS_ID": "first"}, distributed.initialize),
        "NNBASICS_PROCESS_ID: expected an integer, received 'first'",
    ),
    "nnbasics.distributed._runtime:initialize:{ENV_INIT_TIMEOUT}": (
        lambda tmp: _under_env({"NNBASICS_INIT_TIMEOUT": "soon"}, distributed.initialize),
        "NNBASICS_INIT_TIMEOUT: expected an integer, received 'soon'",
    ),
    "nnbasics.distributed._runtime:_peer_timeout:{ENV_PEER_TIMEOUT}": (
        lambda tmp: _under_env(
            {"NNBASICS_PEER_TIMEOUT": "soon"},
            lambda: distributed.initialize("localhost:1234", 2, 1),
        ),
        "NNBASICS_PEER_TIMEOUT: expected an integer, received 'soon'",
    ),
    "nnbasics.distributed._runtime:_peer_timeout:{name}": (
        lambda tmp: _under_env(
            {"NNBASICS_PEER_TIMEOUT": "0"}, lambda: distributed.initialize("localhost:1234", 2, 1)
        ),
        "NNBASICS_PEER_TIMEOUT: expected a positive integer, received 0",
    ),
    "nnbasics.data.files:read_features:missing": (
        lambda tmp: data.read_features(_csv(tmp, "a,b\n1,2\n"), missing="fill"),
        "missing: expected one of 'refuse', 'drop', received 'fill'",
    ),
    "nnbasics.data.files:read_features:{shown}": (
        lambda tmp: data.read_features(_npz(tmp, features=np.ones((2, 2)))),
        "{tmp}/d.npz: expected an .npz archive holding an array 'X', received arrays ['features']",
    ),
    "nnbasics.data.files:read_features:{shown}#2": (
        lambda tmp: data.read_features(_csv(tmp, "junk", "x.npy")),
        "{tmp}/x.npy: expected an array saved by numpy.save, received a file in another format",
    ),
    "nnbasics.data.files:read_features:{shown}#3": (
        lambda tmp: data.read_features(os.path.join(tmp, "none.csv")),
        "{tmp}/none.csv: expected a readable file, received No such file or directory",
    ),
    "nnbasics.data.files:read_features:{shown}#4": (
        lambda tmp: data.read_features(_csv(tmp, "a,b\n")),
        "{tmp}/d.csv: expected data rows below the header, received a header only",
    ),
    "nnbasics.data.files:kept_lines:{shown}": (
        lambda tmp: data.files.kept_lines(os.path.join(tmp, "none.csv")),
        "{tmp}/none.csv: expected a readable file, received No such file or directory",
    ),
    "nnbasics.data.files:kept_lines:{shown}#2": (
        lambda tmp: data.files.kept_lines(_csv(tmp, "a,b\n")),
        "{tmp}/d.csv: expected data rows below the header, received a header only",
    ),
    "nnbasics.data._text:Table._missing:{self.path}": (
        lambda tmp: data.read_features(_csv(tmp, "a,b\n1,\n,2\n"), missing="drop"),
        "{tmp}/d.csv: expected rows without missing values to keep, received a missing value in every one of the 2 rows",
    ),
    "nnbasics.data._text:Table.target_values:{self.where(i, self.t)}": (
        lambda tmp: data.read(_csv(tmp, "a,y\n1,2\n2,1e400\n")),
        "{tmp}/d.csv, line 3, column 'y': expected a finite number within float32's range, received '1e400'",
    ),
    "nnbasics.data._text:_check_unambiguous:{path}, line {line}": (
        lambda tmp: data.read(_csv(tmp, "1,2,species\n1,2,a\n3,4,b\n5,6,b\n")),
        "{tmp}/d.csv, line 1: expected a first row that is clearly a header or clearly an example (pass --header or --no-header; header=True or False), received numbers and 'species', which appears nowhere else in column 3: a header whose names are numbers, or an example of a class seen once?",
    ),
    "nnbasics.data._text:_every_record:{path}, line {reader.line_num}": (
        lambda tmp: data.read(_csv(tmp, "a,b\n1,2\n" + "3" * 200000 + ",4\n")),
        "{tmp}/d.csv, line 3: expected CSV text, received field larger than field limit (131072)",
    ),
    "nnbasics.data._text:Table._chunks:{self.path}": (
        lambda tmp: data.read_features(_late(tmp, b"1,\xff\n")),
        "{tmp}/d.csv: expected UTF-8 text, received a byte that is not UTF-8 at offset 80006",
    ),
    "nnbasics.data._text:_every_record:{path}": (
        lambda tmp: data.read_features(_late(tmp, b"1,\xff\n", rows=1)),
        "{tmp}/d.csv: expected UTF-8 text, received a byte that is not UTF-8 at offset 10",
    ),
    "nnbasics.data._text:Table._chunks:{self.path}#2": (
        lambda tmp: data.read_features(_csv(tmp, 'a,b\n1,"2\n')),
        "{tmp}/d.csv: expected CSV text, received Error tokenizing data. C error: EOF inside string starting at row 1",
    ),
    "nnbasics.data.datasets:_random_state:seed": (
        lambda tmp: data.load("moons", seed=2**32),
        "seed: expected an integer below 2**32 for 'moons' and 'blobs' (the seeds of NumPy's RandomState), received 4294967296",
    ),
    "nnbasics.data.mnist1d:_mnist1d_args:seed": (
        lambda tmp: data.load("mnist1d", seed=2**32),
        "seed: expected an integer below 2**32 for 'mnist1d' (the generator seeds NumPy's global RandomState), received 4294967296",
    ),
    "nnbasics.data.mnist1d:_mnist1d_args:n": (
        lambda tmp: data.load("mnist1d", n=15),
        "n: expected a multiple of 10 for 'mnist1d' (the generator makes n/10 examples of each digit), received 15",
    ),
    "nnbasics.data.datasets:_read_shipped:name": (
        lambda tmp: _without("sklearn", lambda: data.load("iris")),
        "name: expected 'iris' read from scikit-learn's data file sklearn/datasets/data/iris.csv (pip install 'scikit-learn>=1.4'), received scikit-learn not installed",
    ),
    "nnbasics.data.datasets:_read_shipped:name#2": (
        lambda tmp: _with_sklearn_iris(tmp, "150,4,a,b,c\n1,2,3,4,0\n", lambda: data.load("iris")),
        "name: expected 'iris' read from {tmp}/sklearn/datasets/data/iris.csv as a table of shape (150, 5), received shape (1, 5)",
    ),
    "nnbasics.data.mnist1d:_mnist1d_version:name": (
        lambda tmp: _without("mnist1d", lambda: data.load("mnist1d")),
        "name: expected 'mnist1d' made by the optional package mnist1d (pip install \"nnbasics[mnist1d]\"), received mnist1d is not installed",
    ),
    "nnbasics.distributed._runtime:from_args:{given[0]}": (
        lambda tmp: _from_args("--num-processes", "2"),
        "--num-processes: expected to come with --distributed, received it without --distributed",
    ),
    "nnbasics.distributed._runtime:initialize:{c_name}#2": (
        lambda tmp: _holding(
            BUSY_PORT, lambda: distributed.initialize(f"127.0.0.1:{BUSY_PORT}", 2, 0)
        ),
        "coordinator: expected a free port for process 0's coordinator (choose another "
        f"127.0.0.1:PORT), received '127.0.0.1:{BUSY_PORT}', whose port {BUSY_PORT} is in use "
        "by another program",
    ),
    "nnbasics.distributed._runtime:initialize:distributed": (
        lambda tmp: _in_a_fresh_process(
            "from nnbasics import distributed; distributed.initialize()"
        ),
        "distributed: expected a coordinator address, a number of processes and a process id "
        "(arguments, --coordinator/--num-processes/--process-id, JAX_COORDINATOR_ADDRESS with "
        "NNBASICS_NUM_PROCESSES and NNBASICS_PROCESS_ID, or a SLURM, Open MPI or Cloud TPU job), "
        "received too few (coordinator_address should be defined.)",
    ),
}

# Sites whose ValueError never leaves the library (caught where it is raised), with why.
CAUGHT_INSIDE = {
    "nnbasics.models:load_model:": "an old file's meta.data.features that fails the check is "
    "ignored (the features then go by position, as they did when it was written)",
    "nnbasics.distributed._runtime:_coordinator_option:?": "--coordinator's argparse type: "
    "the ValueError becomes argparse's ArgumentTypeError, whose message argparse prints",
    "nnbasics.distributed._launcher:_Parser.error:{message}": "launch_main (nnbasics launch) "
    "prints it as its one line and returns 2",
    "nnbasics.distributed._launcher:launch_main:COMMAND": "launch_main (nnbasics launch) "
    "prints it as its one line and returns 2",
}

# Sites reached only when several processes run together: their whole messages are
# pinned by the multi-process tests named.
ACROSS_PROCESSES = {
    "nnbasics.distributed._runtime:_same_count:num_processes": (
        "tests/distributed/test_runtime.py"
        "::test_processes_given_different_counts_are_refused_in_one_line",
        "num_processes: expected the same number of processes in every ",
    ),
    "nnbasics.distributed._runtime:agree:{message}": (
        "tests/distributed/test_runtime.py"
        "::test_disagreeing_processes_get_one_library_error_before_any_collective",
        r"data\.train: expected the same value in all 2 processes before ",
    ),
}

# Calls of a wrapper that refuse nothing as called, with why.
CANNOT_RAISE = {
    "nnbasics.distributed._runtime:initialize:{ENV_COORDINATOR}": "_setting reads the "
    "coordinator as text (integer=False), which it never refuses; parse_coordinator checks it",
}

LISTED = {**CAUGHT_INSIDE, **ACROSS_PROCESSES, **CANNOT_RAISE}


SITES = refusal_sites()


def test_the_enumeration_finds_the_known_sites():
    # the walk sees through wrappers and aliases, not only direct _checks calls
    for key in (
        "nnbasics.checkpoint:_check_manifest:leaves[{i}].shape",
        "nnbasics.optim._adam:_adam:eps",  # _non_negative = _checks.non_negative
        "nnbasics.optim._adam:_adam:b1",  # _unit(name, value) wraps real_in
        "nnbasics.mlp:MLP._check_targets:y#3",
    ):
        assert key in SITES
    assert len(SITES) > 300


def test_every_site_has_a_row():
    missing = sorted(set(SITES) - set(ROWS) - set(LISTED))
    assert not missing, f"refusal sites with no row in ROWS: {missing}"


def test_every_row_and_listed_gap_names_a_site():
    listed = set(ROWS) | set(LISTED)
    stale = sorted(listed - set(SITES))
    assert not stale, f"rows or listed sites whose site is gone: {stale}"
    groups = (ROWS, CAUGHT_INSIDE, ACROSS_PROCESSES, CANNOT_RAISE)
    assert len(listed) == sum(map(len, groups))  # disjoint


@pytest.mark.parametrize("key", sorted(ACROSS_PROCESSES))
def test_a_site_across_processes_names_a_test_that_pins_it(key):
    test, message = ACROSS_PROCESSES[key]
    path, name = test.split("::")
    source = pathlib.Path(PACKAGE.parent, path).read_text()
    body = source[source.index(f"def {name}(") :].split("\ndef ", 1)[0]
    assert message in body


def _passes_through(error: BaseException | None, path: str, lo: int, hi: int) -> bool:
    """Whether ``error`` (or the error it replaced) was raised through lines lo..hi of path."""
    while error is not None:
        for frame, line in traceback.walk_tb(error.__traceback__):
            if frame.f_code.co_filename == path and lo <= line <= hi:
                return True
        if any(f == path and lo <= n <= hi for f, n in getattr(error, "frames", ())):
            return True  # raised in another process (_in_a_fresh_process)
        error = error.__context__
    return False


@pytest.mark.parametrize("key", sorted(ROWS))
def test_refusal(key, tmp_path):
    call, message = ROWS[key]
    expected = message.replace("{tmp}", str(tmp_path))
    with pytest.raises(ValueError, match=re.escape(expected)) as caught:
        call(str(tmp_path))
    assert str(caught.value) == expected  # the whole message, not a part of it
    assert _passes_through(caught.value, *SITES[key]), f"raised elsewhere than {key}"


def test_a_zero_size_leaf_is_not_refused(tmp_path):
    # "any pytree of arrays": a leaf with a zero-size dimension saves and restores
    state = {"w": np.zeros((0, 3)), "b": np.ones(2)}
    checkpoint.save(tmp_path, state, {}, {})
    restored = checkpoint.restore(tmp_path, state, {})
    assert restored is not None
    assert restored[0]["w"].shape == (0, 3)
