"""How cost grows with the work: the same training job on more and more examples.

    python benchmarks/scaling.py                       # 3 rounds, writes benchmarks/results/
    python benchmarks/scaling.py --rounds 1 --sizes digits:1 digits:10

The job, the same in each contender: a 64-256-10 (MNIST-1D: 40-256-10) relu/softmax
network, Glorot-uniform weights, Adam 1e-3, batch 128 reshuffled every epoch, no
penalty, 10 epochs, float32, then the test accuracy. The data: scikit-learn's
digits standardized, replicated ×1, ×10 or ×100 with Gaussian noise (σ = 0.3 in
standardized units, a fixed seed) on every copy, 20 % held out for the test; or
MNIST-1D's own 4 000 / 1 000 split. Every run is a fresh ``python`` process
timed from start to exit (imports, data, compilation, training, evaluation):

* nnbasics: ``nb.fit``, with an empty persistent compilation cache (cold) and
  with the cache the previous run filled (warm: the second run of a script);
* scikit-learn: ``MLPClassifier`` (no early stopping, ``tol=0``);
* PyTorch eager: the usual ``randperm`` / ``zero_grad`` / ``backward`` / ``step`` loop.

The contenders alternate within each round; medians are reported. nnbasics'
script also times each epoch (the callback syncs with the device), so the
steady-state step (median of epochs 2..10 over the steps per epoch) is compared
with the machine's float32 GEMM rate measured in the same run.
Writes ``<out>/scaling_<device>.json``, ``.md`` and ``.png`` (matplotlib, if present).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from whole_process import _has, machine  # this folder is the script's sys.path[0]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EPOCHS, BATCH, HIDDEN, LR = 10, 128, 256, 1e-3

DATA = f"""
import sys, time
import numpy as np
name, times = sys.argv[1], int(sys.argv[2])
if name == "digits":
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    rng = np.random.default_rng(0)
    X = np.concatenate([X + 0.3 * rng.standard_normal(X.shape) * (k > 0) for k in range(times)])
    y = np.tile(y, times)
    order = rng.permutation(len(y))
    X, y = X[order].astype(np.float32), y[order]
    cut = int(0.8 * len(y))
    (X, y), (Xt, yt) = (X[:cut], y[:cut]), (X[cut:], y[cut:])
else:
    import nnbasics as nb
    (X, y), (Xt, yt) = nb.data.load("mnist1d", split="train"), nb.data.load("mnist1d", split="test")
    X, Xt = X.astype(np.float32), Xt.astype(np.float32)
EPOCHS, BATCH, HIDDEN, LR = {EPOCHS}, {BATCH}, {HIDDEN}, {LR}
"""

NNBASICS = (
    DATA
    + """
import statistics, jax, nnbasics as nb
net = nb.MLP((X.shape[1], HIDDEN, 10), hidden="relu", output="softmax")
marks = []
r = nb.fit(net, net.init(jax.random.key(0)), nb.optim.adam(LR), (X, y), epochs=EPOCHS,
           batch_size=BATCH, key=jax.random.key(1),
           callback=lambda e, m: marks.append(time.perf_counter()))
acc = float(np.mean(np.asarray(net.predict(r.params, Xt)) == yt))
epoch = statistics.median(b - a for a, b in zip(marks, marks[1:])) if len(marks) > 2 else 0
print("RESULT", acc, epoch)
"""
)

SKLEARN = (
    DATA
    + """
from sklearn.neural_network import MLPClassifier
clf = MLPClassifier((HIDDEN,), solver="adam", learning_rate_init=LR, batch_size=BATCH,
                    max_iter=EPOCHS, alpha=0.0, tol=0.0, n_iter_no_change=10**9,
                    random_state=0).fit(X, y)
print("RESULT", float(np.mean(clf.predict(Xt) == yt)), 0)
"""
)

TORCH = (
    DATA
    + """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                            torch.nn.Linear(HIDDEN, 10))
for layer in (model[0], model[2]):
    torch.nn.init.xavier_uniform_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
opt = torch.optim.Adam(model.parameters(), lr=LR)
nll = torch.nn.CrossEntropyLoss()
Xs, ys = torch.tensor(X), torch.tensor(y, dtype=torch.long)
for _ in range(EPOCHS):
    for idx in torch.randperm(len(Xs)).split(BATCH):
        opt.zero_grad()
        nll(model(Xs[idx]), ys[idx]).backward()
        opt.step()
with torch.no_grad():
    acc = float((model(torch.tensor(Xt)).argmax(1).numpy() == yt).mean())
print("RESULT", acc, 0)
"""
)

GEMM = """
import time, jax, jax.numpy as jnp
n = 1024
a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
f = jax.jit(lambda a: a @ a)
f(a).block_until_ready()
t = time.perf_counter()
for _ in range(20):
    out = f(a)
out.block_until_ready()
print("RESULT", 2 * n**3 * 20 / (time.perf_counter() - t) / 1e9, 0)
"""


def _run(code: str, args: list[str], cache_home: str | None) -> tuple[float, float, float]:
    """(wall seconds, printed accuracy, printed epoch seconds) of one fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    if cache_home is not None:
        # the compilation cache only: XDG_CACHE_HOME would also hold the generated MNIST-1D
        env["JAX_COMPILATION_CACHE_DIR"] = cache_home
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"{args}: exit {out.returncode}\n{out.stderr[-2000:]}")
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
    _, acc, epoch = line.split()
    return wall, float(acc), float(epoch)


def run_size(name: str, times: int, rounds: int, log) -> dict:
    args = [name, str(times)]
    warm = tempfile.mkdtemp(prefix="nnb-scaling-warm-")
    contenders = {
        "nnbasics, empty cache": lambda: _run(NNBASICS, args, tempfile.mkdtemp()),
        "nnbasics, warm cache": lambda: _run(NNBASICS, args, warm),
        "scikit-learn": lambda: _run(SKLEARN, args, None),
    }
    if _has("torch"):
        contenders["PyTorch eager"] = lambda: _run(TORCH, args, None)
    _run(NNBASICS, args, warm)  # fills the warm cache
    runs: dict[str, list] = {k: [] for k in contenders}
    for r in range(rounds):
        order = list(contenders)
        if r % 2:
            order.reverse()
        for k in order:
            runs[k].append(contenders[k]())
        log(
            f"{name} ×{times} round {r + 1}: "
            + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in runs.items())
        )
    return {
        k: {
            "median_s": statistics.median(w for w, _, _ in v),
            "all_s": [w for w, _, _ in v],
            "test_accuracy": v[0][1],
            "epoch_s": statistics.median(e for _, _, e in v),
        }
        for k, v in runs.items()
    }


def examples(name: str, times: int) -> int:
    return int(0.8 * 1797 * times) if name == "digits" else 4000


def render(res: dict) -> str:
    gflops = res["gemm_gflops"]
    lines = [
        f"# How cost grows with the work ({res['device']})",
        "",
        "Written by `benchmarks/scaling.py` (its docstring: the job and the method).",
        f"{res['date']}; {res['machine']}; {res['rounds']} rounds, medians, whole processes.",
        f"Float32 GEMM rate of this machine (1024², jitted): {gflops:.0f} GFLOP/s.",
        "",
        "| data | training examples | contender | median s | runs | test acc | vs scikit-learn | vs PyTorch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in res["sizes"]:
        sk = row["results"]["scikit-learn"]["median_s"]
        pt = row["results"].get("PyTorch eager", {}).get("median_s")
        for k, v in row["results"].items():
            lines.append(
                f"| {row['label']} | {row['examples']} | {k} | {v['median_s']:.2f} | "
                + " ".join(f"{s:.2f}" for s in v["all_s"])
                + f" | {v['test_accuracy']:.4f} | {sk / v['median_s']:.2f}× | "
                + (f"{pt / v['median_s']:.2f}× |" if pt else "– |")
            )
    lines += [
        "",
        "## Steady-state step (nnbasics, warm cache)",
        "",
        "| data | steps per epoch | epoch s | step µs | step GFLOP/s | share of the GEMM rate |",
        "|---|---|---|---|---|---|",
    ]
    for row in res["sizes"]:
        epoch = row["results"]["nnbasics, warm cache"]["epoch_s"]
        steps = -(-row["examples"] // BATCH)
        d = row["features"]
        flops = 6 * BATCH * (d * HIDDEN + HIDDEN * 10)  # forward 2·, backward 4· per weight
        rate = flops / (epoch / steps) / 1e9
        lines.append(
            f"| {row['label']} | {steps} | {epoch:.3f} | {epoch / steps * 1e6:.0f} | "
            f"{rate:.1f} | {rate / gflops:.1%} |"
        )
    return "\n".join(lines) + "\n"


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in res["sizes"] if r["name"] == "digits"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in rows[0]["results"]:
        ax.plot(
            [r["examples"] for r in rows],
            [r["results"][k]["median_s"] for r in rows],
            "o-",
            label=k,
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="training examples (digits ×1, ×10, ×100)",
        ylabel="whole process, s",
        title=f"10 epochs of 64-256-10, batch {BATCH} ({res['device']})",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sizes", nargs="+", default=["digits:1", "digits:10", "digits:100", "mnist1d:1"]
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    import jax

    device = jax.devices()[0].platform
    res = {
        "device": device,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "rounds": args.rounds,
        "gemm_gflops": _run(GEMM, [], tempfile.mkdtemp())[1],
        "sizes": [],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in args.sizes:
        name, times = spec.split(":")
        res["sizes"].append(
            {
                "name": name,
                "label": f"{name} ×{times}" if name == "digits" else name,
                "examples": examples(name, int(times)),
                "features": 64 if name == "digits" else 40,
                "results": run_size(name, int(times), args.rounds, log),
            }
        )
        (args.out / f"scaling_{device}.json").write_text(json.dumps(res, indent=1))
        (args.out / f"scaling_{device}.md").write_text(render(res))
    if _has("matplotlib"):
        plot(res, args.out / f"scaling_{device}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
