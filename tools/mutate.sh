#!/usr/bin/env bash
# Mutation testing of one module with its fast targeted tests (docs/mutation-report.md).
#   tools/mutate.sh MODULE TEST_SELECTION...
#   e.g. tools/mutate.sh activations tests/test_mutants.py tests/test_claims.py
# MODULE is a path under nnbasics/ without .py (activations, data/splits).
# Writes mutation-results/MODULE.txt, "/" as "_" (every mutant and its status); pyproject.toml's
# [tool.mutmut] is set for the run and restored from git at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1
results="mutation-results/${module//\//_}.txt"
shift
if ! git diff --quiet -- pyproject.toml; then
    echo "tools/mutate.sh: commit pyproject.toml first (it is restored from git at exit)" >&2
    exit 2
fi
trap 'git checkout -q -- pyproject.toml' EXIT
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
mkdir -p mutation-results
mutmut run --max-children 1 | tr '\r' '\n' | tail -3
mutmut results --all true > "$results"
python - "$module" "$results" <<'PY'
import collections, sys
module, results = sys.argv[1:]
lines = [l.strip() for l in open(results) if ": " in l]
counts = collections.Counter(l.rsplit(": ", 1)[1] for l in lines)
print(module, dict(counts))
PY
