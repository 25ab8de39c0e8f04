"""The public API, enumerated once for the docs hooks and the tests of its coverage.

Public modules are the modules in ``nnbasics.__all__``, the modules that host a
top-level name (``nnbasics.mlp`` for ``nnbasics.MLP``), ``nnbasics.sklearn``, and the
public submodules of any of them that is a package. A module's public names are its
``__all__``; for a module without one (DESIGN.md asks for it), the names it defines
that do not start with an underscore.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil

EXTRA_MODULES = ("sklearn",)  # public modules not (yet) in nnbasics.__all__


def public_modules() -> list[str]:
    """Qualified names of the public modules, in a stable order."""
    import nnbasics

    names = [n for n in nnbasics.__all__ if inspect.ismodule(getattr(nnbasics, n))]
    for n in nnbasics.__all__:  # modules that host a top-level name (nnbasics.mlp.MLP)
        home = getattr(getattr(nnbasics, n), "__module__", "").removeprefix("nnbasics.")
        if home and home not in names and "." not in home:
            names.append(home)
    for extra in EXTRA_MODULES:
        if extra not in names:
            with contextlib.suppress(ImportError):
                importlib.import_module(f"nnbasics.{extra}")
                names.append(extra)
    out = []
    for name in names:
        out.append(f"nnbasics.{name}")
        module = importlib.import_module(f"nnbasics.{name}")
        if hasattr(module, "__path__"):  # a package: its public submodules too
            out += [
                f"nnbasics.{name}.{m.name}"
                for m in pkgutil.iter_modules(module.__path__)
                if not m.name.startswith("_")
            ]
    return out


def public_names(module) -> list[str]:
    """``module.__all__``, or the public names the module itself defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def public_callables() -> dict[str, object]:
    """Every public function and class, once, under the first qualified name found."""
    found: dict[int, tuple[str, object]] = {}
    for qualified in ["nnbasics", *public_modules()]:
        module = importlib.import_module(qualified)
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            found.setdefault(id(obj), (f"{qualified}.{name}", obj))
    return dict(found.values())
