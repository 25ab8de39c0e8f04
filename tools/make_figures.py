"""Draws the figures of the topic pages (docs/topics/*.md) into docs/assets/figures/.

Run by hand after changing a figure, and commit the SVGs (the docs build and the tests
never run this): ``pip install -e ".[plots]" && python tools/make_figures.py``.
Every number plotted comes from nnbasics itself.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import nnbasics as nb

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "assets" / "figures"
plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "nnbasics", "font.size": 9})


def save(fig, name):
    fig.tight_layout()
    fig.savefig(OUT / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)


def logistic():
    X, y = nb.data.load("blobs", n=300, seed=0)
    keep = y < 2
    X, y = X[keep], y[keep]
    params = nb.logistic.newton({"w": jnp.zeros(2), "b": jnp.zeros(())}, X, y, l2=1e-2)
    g0, g1 = np.meshgrid(
        np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200),
        np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200),
    )
    grid = np.c_[g0.ravel(), g1.ravel()].astype(np.float32)
    p = np.asarray(nb.logistic.predict_proba(params, grid)).reshape(g0.shape)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    c = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(g0, g1, p, levels=[0.5], colors="k")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=12)
    fig.colorbar(c, ax=ax, label="p(y = 1 | x)")
    ax.set(xlabel="x1", ylabel="x2", title="logistic regression (Newton), p = 0.5 in black")
    save(fig, "logistic")


def gd_sgd():
    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    net = nb.MLP((4, 3))
    params = net.init(jax.random.key(0))
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for batch_size, label in ((1, "SGD, batch 1"), (16, "minibatch 16"), (None, "batch GD (150)")):
        r = nb.fit(
            net,
            params,
            nb.optim.sgd(0.05),
            (X, y),
            epochs=30,
            batch_size=batch_size,
            key=jax.random.key(1),
        )
        ax.plot(r.history["train_loss"], label=label)
    ax.set(
        xlabel="epoch",
        ylabel="training loss",
        yscale="log",
        title="iris, softmax regression, α = 0.05",
    )
    ax.legend()
    save(fig, "gd_sgd")


def schedules():
    t = np.arange(2000)
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for label, rate in (
        ("constant 0.1", nb.schedules.constant(0.1)),
        ("inverse_time(0.1, 0.01, hold=100)", nb.schedules.inverse_time(0.1, 0.01, hold=100)),
        ("power(0.1, 0.75, hold=100)", nb.schedules.power(0.1, 0.75, hold=100)),
        ("power(0.1, 1.0, hold=100)", nb.schedules.power(0.1, 1.0, hold=100)),
    ):
        ax.plot(t, jax.vmap(rate)(jnp.asarray(t)), label=label)
    ax.set(xlabel="update t", ylabel="α_t", yscale="log", title="learning-rate schedules")
    ax.legend(fontsize=7)
    save(fig, "schedules")


def _quadratic_path(opt, steps=100):
    grad_f = lambda x: jnp.array([2 * x[0] / 100, 2 * x[1]])
    x = jnp.array([-9.0, 1.5])
    state, path = opt.init(x), [x]
    for _ in range(steps):
        updates, state = opt.update(grad_f(x), state, x)
        x = optax.apply_updates(x, updates)
        path.append(x)
    return np.array(path)


def optimizers():
    g0, g1 = np.meshgrid(np.linspace(-10, 2, 200), np.linspace(-2.5, 2.5, 200))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.contour(g0, g1, g0**2 / 100 + g1**2, levels=np.geomspace(0.01, 4, 10), colors="0.8")
    for name, opt in {
        "sgd 0.5": nb.optim.sgd(0.5),
        "momentum 0.5, β=0.9": nb.optim.momentum(0.5, beta=0.9),
        "nesterov": nb.optim.momentum(0.5, beta=0.9, nesterov=True),
        "adagrad 1.0": nb.optim.adagrad(1.0),
        "rmsprop 0.1": nb.optim.rmsprop(0.1),
        "adam 0.5": nb.optim.adam(0.5),
    }.items():
        path = _quadratic_path(opt)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=0.8, label=name)
    ax.set(xlabel="x1", ylabel="x2", title="100 steps on x1²/10² + x2²")
    ax.legend(fontsize=7, loc="lower right")
    save(fig, "optimizers")


def newton():
    X, y = nb.data.load("breast_cancer")
    X = (X - X.mean(0)) / X.std(0)
    with jax.enable_x64(True):
        X = jnp.asarray(X, jnp.float64)
        start = {"w": jnp.zeros(X.shape[1]), "b": jnp.zeros(())}
        norm = lambda p: float(jnp.abs(nb.logistic.grad(p, X, y, l2=1e-2)["w"]).max())
        path = nb.logistic.newton_path(start, X, y, l2=1e-2, steps=10)
        newton_norms = [norm({"w": path["w"][t], "b": path["b"][t]}) for t in range(11)]
        p, gd_norms = start, []
        for _ in range(200):
            gd_norms.append(norm(p))
            g = nb.logistic.grad(p, X, y, l2=1e-2)
            p = jax.tree.map(lambda a, b: a - 1.0 * b, p, g)
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.semilogy(newton_norms, "o-", label="Newton")
    ax.semilogy(gd_norms, label="gradient descent, α = 1")
    ax.set(xlabel="step", ylabel="max |∇J|", title="logistic regression on breast_cancer, λ = 0.01")
    ax.legend()
    save(fig, "newton")


def xor():
    net = nb.MLP((2, 2, 1), hidden="relu", output="linear")
    params = [
        {"W": jnp.array([[1.0, 1.0], [1.0, 1.0]]), "b": jnp.array([0.0, -1.0])},
        {"W": jnp.array([[1.0], [-2.0]]), "b": jnp.array([0.0])},
    ]
    X, y = nb.data.load("xor")
    _, tapes = net.forward(params, X)
    h = np.asarray(nb.activations.relu(tapes[0].a))
    fig, axes = plt.subplots(1, 2, figsize=(6, 2.8))
    for ax, points, title in ((axes[0], X, "input x"), (axes[1], h, "hidden h = relu(xW + c)")):
        ax.scatter(points[:, 0], points[:, 1], c=y, cmap="coolwarm", s=60, edgecolors="k")
        for (a, b), label in zip(points, y):
            ax.annotate(str(label), (a, b), textcoords="offset points", xytext=(6, 6))
        ax.set(title=title, xlim=(-0.3, 2.3), ylim=(-0.3, 1.3))
    axes[1].plot([0.5, 2.2], [0.0, 0.85], "k--", lw=1)
    save(fig, "xor")


def units():
    a = jnp.linspace(-4, 4, 401)
    fig, axes = plt.subplots(1, 2, figsize=(6, 2.8))
    for name in ("relu", "sigmoid", "tanh", "softplus"):
        axes[0].plot(a, getattr(nb.activations, name)(a), label=name)
        axes[1].plot(a, getattr(nb.activations, name + "_grad")(a), label=name)
    axes[0].set(title="g(a)", ylim=(-1.2, 4))
    axes[1].set(title="g′(a)")
    axes[0].legend(fontsize=7)
    save(fig, "units")


def early_stopping():
    X, y = nb.data.load("digits")
    train, valid, test = nb.data.split(jax.random.key(0), X, y, stratify=True)
    stats, train, valid, test = nb.data.standardize(train, valid, test)
    train = (train[0][:200], train[1][:200])
    net = nb.MLP((64, 64, 10))
    r = nb.fit(
        net,
        net.init(jax.random.key(1)),
        nb.optim.adam(1e-2),
        train,
        epochs=60,
        batch_size=50,
        key=jax.random.key(2),
        valid=valid,
    )
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.plot(r.history["train_loss"], label="training")
    ax.plot(r.history["valid_loss"], label="validation")
    ax.axvline(r.best_epoch, color="k", ls="--", lw=1, label=f"best epoch {r.best_epoch}")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="digits, 200 training examples")
    ax.legend()
    save(fig, "early_stopping")


def initialization():
    sizes = (100,) * 7
    h0 = jax.random.normal(jax.random.key(1), (1000, 100))
    fig, axes = plt.subplots(1, 2, figsize=(6, 2.8), sharey=True)
    for ax, scale, title in ((axes[0], 1.0, "Glorot uniform"), (axes[1], 0.1, "Glorot × 0.1")):
        params = nb.MLP(sizes, hidden="tanh").init(jax.random.key(0))
        h = h0
        for k, layer in enumerate(params[:-1]):
            h = jnp.tanh(h @ (scale * layer["W"]))
            ax.hist(
                np.asarray(h).ravel(),
                bins=50,
                range=(-1, 1),
                histtype="step",
                label=f"layer {k + 1}",
                density=True,
            )
        ax.set(title=title, xlabel="tanh activation")
    axes[0].legend(fontsize=7)
    save(fig, "initialization")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for draw in (
        logistic,
        gd_sgd,
        schedules,
        optimizers,
        newton,
        xor,
        units,
        early_stopping,
        initialization,
    ):
        draw()
        print("drew", draw.__name__)
