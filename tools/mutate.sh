#!/usr/bin/env bash
# Mutation testing of one module with its fast targeted tests (docs/mutation-report.md).
# The reported score comes from tools/mutation_sample.py (a fresh sample pooled over a group of
# modules, its seed drawn at run time); this runs one module whole, or a sample of it, with mutmut.
#   [SAMPLE=N] [SEED=S] tools/mutate.sh MODULE TEST_SELECTION...
#   e.g. tools/mutate.sh activations tests/test_activations.py
# MODULE is a path under nnbasics/ without .py (activations, data/splits).
# Writes tools/mutation-results/MODULE.txt, "/" as "_" (every mutant and its status); pyproject.toml's
# [tool.mutmut] is set for the run and restored from git at exit.
# SAMPLE=N runs a uniform random sample of N of the module's mutants (seeded by SEED, default 0;
# the names go to tools/mutation-results/MODULE.sample) instead of all of them; the others stay
# "not checked" in MODULE.txt and out of the counts. EXCLUDE=REGEX leaves the mutants whose
# names match it out of the draw (functions an earlier run covered in full).
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1
results="tools/mutation-results/${module//\//_}.txt"
shift
source="nnbasics/$module.py"
if ! git diff --quiet -- pyproject.toml "$source"; then
    echo "tools/mutate.sh: commit pyproject.toml and $source first (both are restored from git at exit)" >&2
    exit 2
fi
trap 'git checkout -q -- pyproject.toml "$source"' EXIT
# mutmut leaves decorated functions alone, and nb.optim's constructors carry @_recorded
# (their Recipe). For the run they are written undecorated, each followed by
# `name = _recorded(name)`: the same module at run time; restored from git at exit.
python - "$source" <<'PY'
import ast, sys
path = sys.argv[1]
lines = open(path).read().splitlines(keepends=True)
for node in sorted(ast.parse("".join(lines)).body, key=lambda n: -n.lineno):
    if isinstance(node, ast.FunctionDef) and [ast.unparse(d) for d in node.decorator_list] == ["_recorded"]:
        lines.insert(node.end_lineno, f"\n\n{node.name} = _recorded({node.name})\n")
        del lines[node.decorator_list[0].lineno - 1]
open(path, "w").write("".join(lines))
PY
python - "$module" "$@" <<'PY'
import json, re, sys
module, selection = sys.argv[1], sys.argv[2:]
text = open("pyproject.toml").read()
text = re.sub(r"^source_paths = .*$", f'source_paths = ["nnbasics/{module}.py"]', text, flags=re.M)
text = re.sub(
    r"^pytest_add_cli_args_test_selection = .*$",
    "pytest_add_cli_args_test_selection = " + json.dumps(selection),
    text,
    flags=re.M,
)
open("pyproject.toml", "w").write(text)
PY
rm -rf mutants
mkdir -p tools/mutation-results
# One persistent compilation cache for every mutant: a program the mutant does not change
# is read back instead of compiled again (the cache key is the program itself, so a changed
# program is compiled anew). tests/conftest.py keeps a JAX_COMPILATION_CACHE_DIR it is given.
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$(mktemp -d /tmp/nnbasics-mutmut-cache.XXXX)}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
names=()
if [[ -n "${SAMPLE:-}" ]]; then
    mapfile -t names < <(python - "$module" "$SAMPLE" "${SEED:-0}" "${results%.txt}.sample" <<'PY'
import os, random, re, sys
from mutmut.mutation.file_mutation import mutate_file_contents
module, n, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
path = f"nnbasics/{module}.py"  # undecorated above
every = sorted(mutate_file_contents(path, open(path).read()).mutant_names)
if os.environ.get("EXCLUDE"):
    every = [name for name in every if not re.search(os.environ["EXCLUDE"], name)]
prefix = "nnbasics." + module.replace("/", ".") + "."
chosen = sorted(random.Random(seed).sample(every, min(n, len(every))))
names = [prefix + name for name in chosen]
open(out, "w").write(f"# {len(names)} of {len(every)} mutants, random.Random({seed}).sample"
    + (f", EXCLUDE={os.environ['EXCLUDE']!r}" if os.environ.get("EXCLUDE") else "") + "\n" + "\n".join(names) + "\n")
print("\n".join(names))
PY
)
fi
mutmut run --max-children "${CHILDREN:-1}" "${names[@]}" | tr '\r' '\n' | tail -3
mutmut results --all true > "$results"
python - "$module" "$results" <<'PY'
import collections, sys
module, results = sys.argv[1:]
lines = [l.strip() for l in open(results) if ": " in l and not l.rstrip().endswith("not checked")]
counts = collections.Counter(l.rsplit(": ", 1)[1] for l in lines)
print(module, dict(counts))
PY
