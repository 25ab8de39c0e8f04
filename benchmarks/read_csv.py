"""Reading a large numeric CSV: ``nb.data.read`` side by side with ``pandas.read_csv``.

    python benchmarks/read_csv.py                 # a 50 MB file, 5 rounds
    python benchmarks/read_csv.py --mb 200 --rounds 3

Writes a numeric CSV (a header, ``--columns`` float features written with 6
decimals, an integer class label last) of ``--mb`` megabytes (10**6 bytes) to a
temporary folder, then reads it, each read in a fresh process, the contenders
alternated round by round so that the shared machine's load hits them alike:

* ``nnbasics``: ``nb.data.read(path)`` (the whole read: bytes, SHA-256, header
  detection, parse, checks, float32 features and encoded labels);
* ``pandas.read_csv``: ``pandas.read_csv(path)`` with its defaults;
* ``pandas.read_csv(engine="pyarrow")``, when pyarrow is installed, for scale.

Time is the median over rounds of the call alone (imports excluded); peak
memory is the growth of the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over its value just before the
call, i.e. what the read itself needed at its peak. The goal: ``nnbasics``
within 2x ``pandas.read_csv``'s time and within 3x the file's size in peak
memory. Writes ``<out>/read_csv.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

CHILD = """
import resource, sys, time
import numpy, pandas
import nnbasics as nb
path, which = sys.argv[1], sys.argv[2]
read = {
    "nnbasics": lambda: nb.data.read(path),
    "pandas": lambda: pandas.read_csv(path),
    "pandas_pyarrow": lambda: pandas.read_csv(path, engine="pyarrow"),
}[which]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
out = read()
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (after - before) * 1024)
"""


def write_csv(path: Path, mb: float, columns: int, seed: int = 0) -> None:
    """A numeric CSV of ``mb`` megabytes (10**6 bytes; whole blocks of rows, at least that).

    A header, ``columns`` float features with 6 decimals, an integer label last.
    """
    rng = np.random.default_rng(seed)
    header = ",".join([f"x{j}" for j in range(columns)] + ["label"]) + "\n"
    with open(path, "w") as f:
        f.write(header)
        while f.tell() < mb * 1e6:
            X = rng.normal(size=(10_000, columns)).round(6)
            y = rng.integers(0, 10, size=10_000)
            f.write("".join(",".join(map(str, x)) + f",{k}\n" for x, k in zip(X.tolist(), y)))


def measure(path: Path, which: str) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), which],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout.split()
    return float(out[0]), int(out[1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=50.0, help="file size in MB (default 50)")
    p.add_argument("--columns", type=int, default=20, help="feature columns (default 20)")
    p.add_argument("--rounds", type=int, default=5, help="reads per contender (default 5)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    args = p.parse_args(argv)
    try:
        import pyarrow  # noqa: F401

        contenders = ["nnbasics", "pandas", "pandas_pyarrow"]
    except ImportError:
        contenders = ["nnbasics", "pandas"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numeric.csv"
        write_csv(path, args.mb, args.columns)
        size = path.stat().st_size
        with open(path) as f:
            lines = sum(1 for _ in f)
        runs: dict[str, list[tuple[float, int]]] = {c: [] for c in contenders}
        for r in range(args.rounds):
            for c in contenders if r % 2 == 0 else contenders[::-1]:
                runs[c].append(measure(path, c))
                print(f"round {r + 1} {c}: {runs[c][-1][0]:.3f} s", file=sys.stderr)
    result = {
        "file_bytes": size,
        "rows": lines - 1,
        "columns": args.columns + 1,
        "rounds": args.rounds,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "contenders": {
            c: {
                "seconds": [t for t, _ in v],
                "median_seconds": statistics.median(t for t, _ in v),
                "peak_bytes": [m for _, m in v],
                "median_peak_bytes": int(statistics.median(m for _, m in v)),
            }
            for c, v in runs.items()
        },
    }
    ours, pandas = result["contenders"]["nnbasics"], result["contenders"]["pandas"]
    time_ratio = ours["median_seconds"] / pandas["median_seconds"]
    memory_ratio = ours["median_peak_bytes"] / size
    result["time_ratio_vs_pandas"] = time_ratio
    result["peak_memory_over_file_size"] = memory_ratio
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "read_csv.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "read_csv.md").write_text(report(result, time_ratio, memory_ratio))
    print((args.out / "read_csv.md").read_text())
    return 0


def report(result: dict, time_ratio: float, memory_ratio: float) -> str:
    size = result["file_bytes"]
    rows = [
        "# Reading a large numeric CSV: `nb.data.read` vs `pandas.read_csv`",
        "",
        f"File: {size / 1e6:.1f} MB, {result['rows']} rows x {result['columns']} columns "
        "(a header, float features with 6 decimals, an integer label last). "
        f"Machine: {result['machine']}, Python {result['python']}. "
        f"Median of {result['rounds']} reads per contender, each in a fresh process, "
        "contenders alternated round by round. Made by `python benchmarks/read_csv.py`.",
        "",
        "**The machine is shared** (2 cores, several other jobs running): times are "
        "noisy, the ratios between contenders measured in the same rounds are what to read.",
        "",
        "| reader | median time (s) | all times (s) | peak memory (MB) | peak / file size |",
        "|---|---|---|---|---|",
    ]
    names = {
        "nnbasics": "`nb.data.read(path)`",
        "pandas": "`pandas.read_csv(path)`",
        "pandas_pyarrow": '`pandas.read_csv(path, engine="pyarrow")`',
    }
    for c, v in result["contenders"].items():
        rows.append(
            f"| {names[c]} | {v['median_seconds']:.3f} | "
            + ", ".join(f"{t:.2f}" for t in v["seconds"])
            + f" | {v['median_peak_bytes'] / 1e6:.0f} | {v['median_peak_bytes'] / size:.2f}x |"
        )
    met_time, met_memory = time_ratio <= 2, memory_ratio <= 3
    rows += [
        "",
        "Goal: within 2x `pandas.read_csv`'s time and within 3x the file's size in peak memory.",
        "",
        f"- time: {time_ratio:.2f}x pandas.read_csv: goal **{'met' if met_time else 'missed'}**",
        f"- peak memory: {memory_ratio:.2f}x the file's size: goal "
        f"**{'met' if met_memory else 'missed'}**",
        "",
        "Peak memory is the growth of the process's peak resident set size during the "
        "call. `nb.data.read` does more than `pandas.read_csv`: it computes the file's "
        "SHA-256 (recorded in model files; in a thread beside the parse), detects the "
        "header, checks every value and returns float32 features and int32 labels. It "
        "parses in chunks of about four million cells (pandas' C parser), converting each to "
        "float32 at once, so that its peak stays near the features' size where "
        "`pandas.read_csv` holds the whole file's parse buffers.",
        "",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
