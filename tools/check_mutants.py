"""Applies mutmut mutants by hand, one at a time, and runs a test selection on each.

    python tools/check_mutants.py [--mutants DIR] NAME... -- PYTEST_ARGS...
    e.g. python tools/check_mutants.py nnbasics.schedules.x_power__mutmut_35 \
             -- tests/test_schedules.py -k power_warning

Needs the ``mutants/`` folder of the module's ``tools/mutate.sh`` run (where the
mutants are stored), or a copy of it named by ``--mutants DIR`` (so that one
module's survivors can be checked while the next module's run uses ``mutants/``). For each mutant: its edit is written into the library's
source file, the tests run, and the file is restored byte for byte. Prints one
line per mutant: ``killed`` (pytest exit status != 0) or ``SURVIVED``; exits 1
if any survived. This is how docs/mutation-report.md's "killed by" column is
checked (independently of mutmut's own run and its recorded test coverage).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import libcst as cst
from mutmut.mutation.diff_apply import (
    find_top_level_function_or_method,
    orig_function_and_class_names_from_key,
    read_functions_from_index,
    read_mutant_function,
    read_mutants_module,
)


def mutated_source(name: str, path: Path, mutants: Path) -> str:
    """The text of ``path`` with the mutant ``name``'s function in place of the original.

    ``mutants`` is the ``mutants/`` folder the mutant is read from. The original's
    decorators are kept (tools/mutate.sh runs a module's decorated functions undecorated).
    """
    function, _ = orig_function_and_class_names_from_key(name)
    function = function.rpartition(".")[-1]
    module = cst.parse_module(path.read_text())
    # The implementation: after any @typing.overload stubs of the same name, which come first.
    defined = [
        c for c in module.body if isinstance(c, cst.FunctionDef) and c.name.value == function
    ]
    original = defined[-1] if defined else find_top_level_function_or_method(module, function)
    if original is None:
        raise SystemExit(f"check_mutants: {name}: no function {function} in {path}")
    # mutmut reads "mutants/<path>" relative to the working directory.
    with contextlib.chdir(mutants.resolve().parent):
        pair = read_functions_from_index(name, str(path))
        mutant = pair[1] if pair else read_mutant_function(read_mutants_module(str(path)), name)
    mutant = mutant.with_changes(name=cst.Name(function), decorators=original.decorators)
    return module.deep_replace(original, mutant).code


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit(__doc__)
    cut = argv.index("--")
    names, pytest_args = argv[:cut], argv[cut + 1 :]
    mutants = Path("mutants")
    if names[:1] == ["--mutants"]:
        mutants, names = Path(names[1]), names[2:]
    if mutants.name != "mutants" or not mutants.is_dir():
        raise SystemExit(
            f"check_mutants: --mutants must name a folder called mutants, got {mutants}"
        )
    survived = 0
    for name in names:
        module = name.rsplit(".", 1)[0]
        path = Path(*module.split(".")).with_suffix(".py")
        text = path.read_text()
        try:
            path.write_text(mutated_source(name, path, mutants))
            rc = subprocess.call(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *pytest_args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            path.write_text(text)
        print(f"{name}: {'killed' if rc else 'SURVIVED'} (pytest exit {rc})", flush=True)
        survived += rc == 0
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
