"""A fresh random sample of mutants over a group of modules, each run against its module's tests.

    python tools/mutation_sample.py draw GROUP [--n N] [--seed SEED]
    python tools/mutation_sample.py run SAMPLE_FILE... [--limit K] [--shard I/M]
    python tools/mutation_sample.py summary SAMPLE_FILE...
    python tools/mutation_sample.py baseline SAMPLE_FILE...
    python tools/mutation_sample.py show NAME...
    python tools/mutation_sample.py check NAME... -- PYTEST_ARGS...

``draw`` lists every mutant mutmut makes of the group's modules (pooled, so each is
equally likely), draws N of them with ``random.Random(SEED).sample`` and writes
``tools/mutation-results/GROUP.sample`` (the seed, N, the population's size and the
names in the order drawn). The seed is drawn at run time (``secrets.randbits(32)``)
unless ``--seed`` is given to reproduce an earlier draw. ``run`` applies each drawn
mutant in that order: its edit is written into the module's source, the module's
tests (``SELECTION`` below) and the module's doctests run in a fresh interpreter,
and the file is restored byte for byte; one line per mutant goes to
``GROUP.results`` (``killed``, ``survived``, ``error`` for any pytest exit status
other than 0 and 1, ``timeout``), and a run that is stopped resumes where it left
off. The first K of a sample are themselves a uniform sample, so ``--limit K`` runs
a smaller one. ``--shard I/M`` runs only the queue's mutants number I, I + M, ...
(two checkouts, each running one shard, use two cores; their results files are
joined after). ``show`` prints a mutant's edit as a diff; ``check`` runs any tests
against a mutant (how a survivor's new test is seen to fail). ``summary`` prints
each sample's score with its 95 % Wilson interval and the edits of the mutants not
killed; ``baseline`` runs every test that killed a mutant on the unmutated code
(each must pass there, or its kills mean nothing).

Decorated functions are mutated too (mutmut leaves them alone): the mutants are made
from the source with its decorators removed (``@overload`` stubs kept) and applied
with the original decorators in place.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcst as cst
from mutmut.mutation.file_mutation import mutate_file_contents

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tools" / "mutation-results"

GROUPS = {
    "mathematical": [
        "activations", "losses", "regularizers", "init", "schedules", "graph", "mlp",
        "optim/_core", "optim/_basic", "optim/_adam", "optim/_recipes", "newton", "linear",
        "logistic", "gradcheck",
    ],
    "rest": [
        "checkpoint", "train/_fit", "train/_epoch", "train/_arguments", "train/_resume",
        "models", "data/splits", "folds", "search", "_checks", "_files",
    ],
}  # fmt: skip

# The tests each module's mutants run against: its mirrored test file(s), the test files
# that import or drive it (a train module: the whole of tests/train/, whose files drive the
# package through nb.fit), and the refusal table for every module that refuses (the
# module's doctests are added in run()); left out: the CLI, distributed and
# documentation-site tests, which start processes or build the site.
_REFUSALS = "tests/test_refusals.py"
_TRAIN = "tests/train/"
SELECTION = {
    "activations": ["tests/test_activations.py", "tests/test_mlp.py"],
    "losses": ["tests/test_losses.py", "tests/test_mlp.py"],
    "regularizers": ["tests/test_regularizers.py"],
    "init": ["tests/test_init.py"],
    "schedules": ["tests/test_schedules.py", "tests/optim/test_optimizers.py", _REFUSALS],
    "graph": ["tests/test_graph.py"],
    "mlp": ["tests/test_mlp.py", _REFUSALS],
    "optim/_core": [
        "tests/optim/test_optimizers.py",
        "tests/optim/test_optax_compat.py",
        _REFUSALS,
    ],
    "optim/_basic": [
        "tests/optim/test_optimizers.py",
        "tests/optim/test_optax_compat.py",
        _REFUSALS,
    ],
    "optim/_adam": [
        "tests/optim/test_adam.py",
        "tests/optim/test_nadam_amsgrad_match_optax.py",
        "tests/optim/test_optax_compat.py",
        _REFUSALS,
    ],
    "optim/_recipes": ["tests/optim/test_recipes.py", "tests/optim/test_registry.py"],
    "newton": ["tests/test_newton.py", "tests/sklearn/test_linear_models.py", _REFUSALS],
    "linear": ["tests/test_linear.py", "tests/sklearn/test_linear_models.py", _REFUSALS],
    "logistic": [
        "tests/test_logistic.py",
        "tests/test_logistic_gradient_bounds.py",
        "tests/test_gradcheck.py",
        "tests/sklearn/test_linear_models.py",
        _REFUSALS,
    ],
    "gradcheck": ["tests/test_gradcheck.py", "tests/test_mlp.py", _REFUSALS],
    "checkpoint": [
        "tests/test_checkpoint.py",
        "tests/test_checkpoint_values.py",
        "tests/train/test_resume.py",
        "tests/models/test_crafted_files.py",
        _REFUSALS,
    ],
    "train/_fit": [_TRAIN, _REFUSALS],
    "train/_epoch": [_TRAIN, _REFUSALS],
    "train/_arguments": [_TRAIN, _REFUSALS],
    "train/_resume": [_TRAIN, "tests/test_checkpoint.py", _REFUSALS],
    "models": ["tests/test_models.py", "tests/models/test_crafted_files.py", _REFUSALS],
    "data/splits": ["tests/data/test_splits.py", _REFUSALS],
    "folds": [
        "tests/sklearn/test_search.py",
        "tests/test_search.py",
        "tests/train/test_buckets.py",
        _REFUSALS,
    ],
    "search": [
        "tests/test_search.py",
        "tests/sklearn/test_search.py",
        "tests/train/test_buckets.py",
        _REFUSALS,
    ],
    "_checks": ["tests/test_checks.py", _REFUSALS],
    "_files": [
        "tests/test_files.py",
        "tests/data/test_files.py",
        "tests/models/test_crafted_files.py",
        "tests/test_checkpoint.py",
        "tests/test_checkpoint_values.py",
        "tests/train/test_resume.py",
        _REFUSALS,
    ],
}


def source_path(module: str) -> Path:
    return ROOT / "nnbasics" / f"{module}.py"


def dotted(module: str) -> str:
    return "nnbasics." + module.replace("/", ".")


def _original(module: str) -> str:
    """The module's committed source (the worktree's copy may hold a mutant while a run is on)."""
    path = source_path(module).relative_to(ROOT).as_posix()
    return subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _is_overload(node: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "overload"
        for d in node.decorators
    )


class _Undecorate(cst.CSTTransformer):
    """Removes the decorators of top-level functions, classes and methods (not @overload)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested functions are part of their function's mutants

    def leave_FunctionDef(self, original, updated):
        return updated if _is_overload(updated) else updated.with_changes(decorators=())

    def leave_ClassDef(self, original, updated):
        return updated.with_changes(decorators=())


def mutated_module(module: str):
    """mutmut's mutated file of ``module`` (made from its undecorated source)."""
    path = source_path(module)
    code = cst.parse_module(_original(module)).visit(_Undecorate()).code
    return mutate_file_contents(str(path.relative_to(ROOT)), code)


def population(module: str) -> list[str]:
    prefix = dotted(module) + "."
    return [prefix + name for name in sorted(mutated_module(module).mutant_names)]


def _split(name: str) -> tuple[str, str, str | None, str]:
    """``nnbasics.a.b.x_f__mutmut_3`` -> (module path, function, class or None, mangled name)."""
    package, _, mangled = name.rpartition(".")
    module = package.removeprefix("nnbasics.").replace(".", "/")
    stem = mangled.rpartition("__mutmut_")[0]
    if "ǁ" in stem:
        _, klass, function = stem.split("ǁ")
        return module, function, klass, mangled
    return module, stem.removeprefix("x_"), None, mangled


def _find(body, name: str, klass: str | None) -> cst.FunctionDef:
    if klass is not None:
        (cls,) = [c for c in body if isinstance(c, cst.ClassDef) and c.name.value == klass]
        body = cls.body.body
    found = [c for c in body if isinstance(c, cst.FunctionDef) and c.name.value == name]
    return found[-1]  # the implementation comes after any @overload stubs


def mutated_source(name: str, cache: dict | None = None) -> str:
    """The module's source with the mutant ``name`` in place of its function."""
    module, function, klass, mangled = _split(name)
    cache = {} if cache is None else cache
    if module not in cache:
        cache[module] = cst.parse_module(mutated_module(module).code)
    mutated = cache[module]
    mutant = _find(mutated.body, mangled, klass)
    original_module = cst.parse_module(_original(module))
    original = _find(original_module.body, function, klass)
    mutant = mutant.with_changes(name=cst.Name(function), decorators=original.decorators)
    replaced = original_module.deep_replace(original, mutant)
    assert isinstance(replaced, cst.Module)
    return replaced.code


def show(names: list[str]) -> None:
    for name in names:
        module = _split(name)[0]
        before = _original(module).splitlines(keepends=True)
        after = mutated_source(name).splitlines(keepends=True)
        print(f"# {name}")
        sys.stdout.writelines(difflib.unified_diff(before, after, n=0))


def _pytest(module: str, text: str, args: list[str], timeout: float) -> tuple[str, int | None, str]:
    """Runs pytest with ``text`` as the module's source; the file is restored after.

    Returns the status, pytest's exit status and the first failing test's id (so that
    the tests that killed mutants can be run once on the unmutated code, to show that
    they pass there).
    """
    path = source_path(module)
    original = path.read_bytes()
    # One persistent compilation cache for every mutant: a program the mutant does not
    # change is read back instead of compiled again (the key is the program itself).
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    env.setdefault(
        "JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "nnbasics-mutants-cache")
    )
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly"]
    command += ["-p", "no:cacheprovider", *args]
    try:
        path.write_text(text)
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True
            )
        except subprocess.TimeoutExpired:
            return "timeout", None, ""
    finally:
        path.write_bytes(original)
    failed = [
        line.split(" - ")[0]
        for line in done.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    ]
    status = {0: "survived", 1: "killed"}.get(done.returncode, "error")
    return status, done.returncode, (failed or [""])[0]


def draw(group: str, n: int, seed: int | None) -> Path:
    seed = secrets.randbits(32) if seed is None else seed
    every = [name for module in GROUPS[group] for name in population(module)]
    chosen = random.Random(seed).sample(every, min(n, len(every)))
    out = RESULTS / f"{group}.sample"
    RESULTS.mkdir(exist_ok=True)
    header = [
        f"# group: {group} ({', '.join(GROUPS[group])})",
        f"# seed: {seed}",
        f"# n: {len(chosen)} of {len(every)} mutants, random.Random(seed).sample, in draw order",
    ]
    out.write_text("\n".join(header + chosen) + "\n")
    print(out.relative_to(ROOT), f"seed {seed}, {len(chosen)} of {len(every)}")
    return out


def _drawn(sample: Path) -> list[str]:
    return [line.strip() for line in sample.read_text().splitlines() if line.strip()[:1] not in "#"]


def run(samples: list[Path], limit: int | None, timeout: float, shard=(0, 1)) -> None:
    """Runs the samples' mutants in draw order, taking one from each sample in turn.

    So that, when the run is stopped, every sample has run the same number (a first
    part of a sample is a uniform sample too).
    """
    queue = []
    for k in range(max(len(_drawn(sample)) for sample in samples)):
        queue += [(sample, _drawn(sample)[k]) for sample in samples if k < len(_drawn(sample))]
    done = set()
    for sample in samples:
        if sample.with_suffix(".results").exists():
            lines = sample.with_suffix(".results").read_text().splitlines()
            done |= {line.split(": ")[0] for line in lines}
    cache: dict = {}
    for k, (sample, name) in enumerate(queue):
        results = sample.with_suffix(".results")
        if name in done or (limit is not None and k >= limit * len(samples)):
            continue
        if k % shard[1] != shard[0]:
            continue
        module = _split(name)[0]
        args = [*SELECTION[module], str(source_path(module).relative_to(ROOT))]
        start = time.monotonic()
        status, rc, failed = _pytest(module, mutated_source(name, cache), args, timeout)
        line = f"{name}: {status} (exit {rc}, {time.monotonic() - start:.0f} s) {failed}"
        with results.open("a") as f:
            f.write(line + "\n")
        print(line, flush=True)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def summary(samples: list[Path]) -> None:
    """Per sample: the counts, the score killed/checked with its Wilson interval, and
    the survivors, errors and timeouts (to be judged by hand) with their edits."""
    for sample in samples:
        lines = sample.with_suffix(".results").read_text().splitlines()
        status = {line.split(": ")[0]: line.split(": ")[1].split()[0] for line in lines}
        counts = collections.Counter(status.values())
        k, n = counts["killed"], len(status)
        lo, hi = wilson(k, n)
        print(
            f"{sample.stem}: {dict(counts)}; killed {k}/{n} = {k / n:.1%} (95 % {lo:.1%}-{hi:.1%})"
        )
        show([name for name, s in status.items() if s != "killed"])
        print("killing tests:", len(_killers([sample])))


def _killers(samples: list[Path]) -> list[str]:
    """The distinct tests that killed the samples' mutants (the first failure of each)."""
    lines = [line for s in samples for line in s.with_suffix(".results").read_text().splitlines()]
    return sorted({line.split(") ", 1)[1] for line in lines if ": killed " in line} - {""})


def baseline(samples: list[Path]) -> int:
    """Runs every test that killed a mutant on the unmutated checkout: each must pass."""
    ids = [name.split(" ", 1)[1] for name in _killers(samples)]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    print(f"{len(ids)} tests")
    return subprocess.call([*command, *ids], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def check(names: list[str], args: list[str], timeout: float) -> int:
    survived = 0
    for name in names:
        status, rc, failed = _pytest(_split(name)[0], mutated_source(name), args, timeout)
        print(f"{name}: {status} (pytest exit {rc}) {failed}", flush=True)
        survived += status == "survived"
    return 1 if survived else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("draw")
    p.add_argument("group", choices=GROUPS)
    p.add_argument("--n", type=int, default=150)
    p.add_argument("--seed", type=int)
    p = sub.add_parser("run")
    p.add_argument("samples", type=Path, nargs="+")
    p.add_argument("--limit", type=int)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--shard", type=lambda s: tuple(map(int, s.split("/"))), default=(0, 1))
    p = sub.add_parser("summary")
    p.add_argument("samples", type=Path, nargs="+")
    p = sub.add_parser("baseline")
    p.add_argument("samples", type=Path, nargs="+")
    p = sub.add_parser("show")
    p.add_argument("names", nargs="+")
    p = sub.add_parser("check")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.add_argument("--timeout", type=float, default=600.0)
    a = parser.parse_args(argv)
    if a.command == "draw":
        draw(a.group, a.n, a.seed)
    elif a.command == "run":
        run(a.samples, a.limit, a.timeout, a.shard)
    elif a.command == "summary":
        summary(a.samples)
    elif a.command == "baseline":
        return baseline(a.samples)
    elif a.command == "show":
        show(a.names)
    else:
        if "--" not in a.rest:
            raise SystemExit("check: NAME... -- PYTEST_ARGS...")
        cut = a.rest.index("--")
        return check(a.rest[:cut], a.rest[cut + 1 :], a.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
