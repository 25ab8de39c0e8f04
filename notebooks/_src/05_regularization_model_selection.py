# %% [markdown]
# # 5 · Regularization, initialization and model selection
#
# A network that fits its training set perfectly may still generalize badly. This notebook looks at the
# course's remedies — L2 and L1 penalties, early stopping, the choice of model capacity — at why the
# initialization must break symmetry, and at choosing hyper-parameters on a validation set by grid and
# random search (`nnbasics.search`, vmapped over configurations).

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import nnbasics as nb
from nnbasics import search

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})

X, y = nb.data.load("digits")
train, valid, test = nb.data.split(jax.random.key(0), X, y, stratify=True)
_, train, valid, test = nb.data.standardize(train, valid, test)
small = (train[0][:200], train[1][:200])  # a small training set, easy to overfit
print(
    "train",
    train[0].shape,
    " small",
    small[0].shape,
    " valid",
    valid[0].shape,
    " test",
    test[0].shape,
)

# %% [markdown]
# ## 1. L2 shrinks, L1 zeroes
#
# Both penalties act on the weights only (never the biases):
#
# $$J(\boldsymbol\theta) = \frac1n\sum_i \mathrm{NLL}^{(i)} + \frac{\lambda_2}{2}\sum_k\|W^{(k)}\|^2 + \lambda_1\sum_k\sum_{ij}|W^{(k)}_{ij}|.$$
#
# L2's gradient $\lambda_2 W$ makes a gradient step the *weight decay* $\theta \leftarrow (1-\eta\lambda_2)\theta - \eta\nabla\mathrm{NLL}$:
# every weight shrinks in proportion to its size. L1's subgradient $\lambda_1\,\mathrm{sign}(W)$ pulls every
# weight towards 0 by the same amount, so weights the data does not need end at (or, with SGD's finite
# steps, oscillate tightly around) zero. `nb.fit(..., l2=, l1=)` adds them in the hand-written backprop.

# %%
net = nb.MLP((64, 32, 10), hidden="relu", output="softmax")
p0 = net.init(jax.random.key(1))
opt = nb.optim.momentum(0.05, beta=0.9)
penalties = {
    "none": {},
    "L2 1e-3": {"l2": 1e-3},
    "L2 1e-2": {"l2": 1e-2},
    "L2 5e-2": {"l2": 5e-2},
    "L1 1e-4": {"l1": 1e-4},
    "L1 1e-3": {"l1": 1e-3},
    "L1 5e-3": {"l1": 5e-3},
}
weights = {}
for name, kw in penalties.items():
    res = nb.fit(
        net, p0, opt, train, epochs=10, batch_size=64, key=jax.random.key(2), valid=valid, **kw
    )
    weights[name] = np.asarray(res.params[0]["W"]).ravel()
    print(
        f"{name:9s} valid accuracy {res.history['valid_accuracy'][res.best_epoch]:.3f}   "
        f"mean |W1| {np.abs(weights[name]).mean():.4f}   "
        f"|W1| < 1e-3: {np.mean(np.abs(weights[name]) < 1e-3):6.1%}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
bins = np.linspace(-0.6, 0.6, 121)
for name in ("none", "L2 5e-2", "L1 5e-3"):
    axes[0].hist(weights[name], bins=bins, histtype="step", lw=1.5, label=name)
axes[0].set(yscale="log", xlabel="first-layer weight", ylabel="count", title="weight histograms")
axes[0].legend()
for kind, color in (("L2", "C1"), ("L1", "C2")):
    names = ["none"] + [n for n in penalties if n.startswith(kind)]
    strength = [0] + [penalties[n][kind.lower()] for n in names[1:]]
    axes[1].plot(
        range(len(names)),
        [np.mean(np.abs(weights[n]) < 1e-3) for n in names],
        "o-",
        color=color,
        label=kind,
    )
    axes[2].plot(
        range(len(names)), [np.abs(weights[n]).mean() for n in names], "o-", color=color, label=kind
    )
    for i, s in enumerate(strength):
        axes[1].annotate(
            f"{s:g}",
            (i, np.mean(np.abs(weights[names[i]]) < 1e-3)),
            fontsize=8,
            xytext=(3, 3),
            textcoords="offset points",
            color=color,
        )
for ax, title in ((axes[1], "fraction of |W1| < 1e-3"), (axes[2], "mean |W1|")):
    ax.set(
        xticks=range(4),
        xticklabels=["0", "weak", "medium", "strong"],
        xlabel="penalty strength",
        title=title,
    )
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# L2 shrinks all weights (the histogram narrows) but leaves almost none at zero; L1 drives a large
# fraction of the weights — e.g. those of the always-blank border pixels of the digits — to zero.
#
# ## 2. Early stopping
#
# Trained long enough, a large network memorizes a small training set: the training loss keeps falling
# towards 0 while the validation loss bottoms out after a few epochs and then creeps up (the network
# grows ever more confident, also on the validation digits it gets wrong). Early stopping watches the validation loss, stops after `patience`
# epochs without improvement and returns the parameters of the best epoch (`result.best_epoch`).

# %%
big = nb.MLP((64, 128, 10), hidden="relu", output="softmax")
full = nb.fit(
    big,
    big.init(jax.random.key(3)),
    nb.optim.adam(1e-2),
    small,
    epochs=80,
    batch_size=50,
    key=jax.random.key(4),
    valid=valid,
)
early = nb.fit(
    big,
    big.init(jax.random.key(3)),
    nb.optim.adam(1e-2),
    small,
    epochs=80,
    batch_size=50,
    key=jax.random.key(4),
    valid=valid,
    patience=10,
)
print(
    f"without early stopping: {len(full.history['train_loss'])} epochs; "
    f"with patience 10: stopped after {len(early.history['train_loss'])} epochs, "
    f"best epoch {early.best_epoch}, stopped_early={early.stopped_early}"
)
for name, res in (("last epoch", full.state.params), ("early stopping", early.params)):
    loss, acc = nb.train.metrics(big, res, *test)
    print(f"test with {name:15s} parameters: loss {float(loss):.3f}, accuracy {float(acc):.3f}")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
e = np.arange(len(full.history["train_loss"]))
ax.semilogy(e, full.history["train_loss"], label="training loss")
ax.semilogy(e, full.history["valid_loss"], label="validation loss")
ax.semilogy(full.best_epoch, full.history["valid_loss"][full.best_epoch], "k*", ms=12)
ax.axvline(early.best_epoch, color="k", ls="--", label=f"best epoch {early.best_epoch}")
ax.axvline(
    len(early.history["train_loss"]) - 1, color="gray", ls=":", label="early stop (patience 10)"
)
ax.set(xlabel="epoch", ylabel="mean NLL", title="MLP (64, 128, 10) on 200 digits")
ax.legend()
plt.show()

# %% [markdown]
# Early stopping selects on the validation *loss*; the printed test scores show that this need not pick
# the parameters with the best *accuracy* — the later network is more confident (worse NLL on the
# digits it gets wrong) yet may classify a few more correctly. On 200 training and 269 validation
# examples such differences are close to noise; what early stopping reliably saves is the epochs of
# training after the validation loss stopped improving (all but the first 18 of 80 above).
#
# ## 3. Bias and variance: training vs validation loss against capacity
#
# Generalization error is (squared) bias plus variance. A weak model (strong L2, small capacity) has
# high bias: training and validation losses are both high. A flexible model has high variance: it fits
# its training set closely and the validation loss is much higher. We vary the L2 strength of the big
# network on the small training set. `search.search` trains all 10 strengths as one `vmap`-ed program
# (`l2` is a numeric hyper-parameter) and keeps each run's history.

# %%
l2_values = list(np.geomspace(1e-5, 1.0, 10))
sweep = search.search(
    big,
    small,
    valid,
    configs=search.grid(learning_rate=[3e-3], l2=l2_values),
    optimizer="adam",
    epochs=100,
    batch_size=50,
)
train_final = sweep.history["train_loss"][:, -1]  # includes the penalty
valid_final = sweep.history["valid_loss"][:, -1]
print(
    f"{sweep.traces} compiled program(s) for {len(l2_values)} runs; "
    f"lowest validation loss at l2 = {sweep.config['l2']:.2g}"
)

fig, ax = plt.subplots(figsize=(8, 4))
ax.loglog(l2_values, train_final, "o-", label="training objective (NLL + penalty)")
ax.loglog(l2_values, valid_final, "o-", label="validation loss")
ax.axvline(sweep.config["l2"], color="k", ls="--", label="selected")
ax.annotate(
    "high variance\n(overfits)", (1e-5, valid_final[0]), xytext=(10, 10), textcoords="offset points"
)
ax.annotate(
    "high bias\n(underfits)", (1.0, valid_final[-1]), xytext=(-60, 10), textcoords="offset points"
)
ax.set(
    xlabel="L2 strength λ", ylabel="mean NLL after 100 epochs", title="capacity vs generalization"
)
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# ## 4. Initialization must break symmetry
#
# Biases start at 0, weights from Glorot's uniform $W^{(k)}_{ij}\sim U[-b, b]$,
# $b = \sqrt6/\sqrt{H_k + H_{k-1}}$ (`net.init`). Two bad alternatives:
#
# * **all zeros** with tanh: $\mathbf h = \tanh(0) = 0$, so $\nabla W^{(2)} = \mathbf h^T\delta = 0$ and
#   $\nabla\mathbf h = \delta W^{(2)T} = 0$: only the output biases ever learn (a saddle point);
# * **all weights equal**: every hidden unit computes the same function and receives the same gradient,
#   so they stay identical forever — the network has effectively one hidden unit.

# %%
tnet = nb.MLP((64, 16, 10), hidden="tanh", output="softmax")
glorot = tnet.init(jax.random.key(5))
inits = {
    "Glorot uniform": glorot,
    "all zeros": jax.tree.map(jnp.zeros_like, glorot),
    "all weights 0.05": [
        {"W": jnp.full_like(l["W"], 0.05), "b": jnp.zeros_like(l["b"])} for l in glorot
    ],
}
init_runs = {}
for name, p in inits.items():
    res = nb.fit(
        tnet,
        p,
        nb.optim.momentum(0.05, beta=0.9),
        train,
        epochs=12,
        batch_size=64,
        key=jax.random.key(6),
        valid=valid,
    )
    init_runs[name] = res
    W1 = np.asarray(res.state.params[0]["W"])
    distinct = np.unique(np.round(W1, 6), axis=1).shape[1]  # distinct hidden units (columns of W1)
    print(
        f"{name:17s} valid accuracy {res.history['valid_accuracy'][-1]:.3f}   "
        f"distinct hidden units after training: {distinct} of 16   "
        f"max |W1| {np.abs(W1).max():.3f}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, res in init_runs.items():
    axes[0].plot(res.history["valid_accuracy"], label=name)
axes[0].set(xlabel="epoch", ylabel="validation accuracy", title="learning curves by initialization")
axes[0].legend()
W1 = np.asarray(init_runs["all weights 0.05"].state.params[0]["W"])
axes[1].imshow(W1[:16], cmap="RdBu", aspect="auto")
axes[1].set(
    title="'all equal' after training: W1 rows 0–15 × 16 hidden units\n(every column identical)",
    xlabel="hidden unit",
    ylabel="input pixel",
)
axes[1].grid(False)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Grid search vs random search
#
# Hyper-parameters are chosen on the validation set; the test set is used once, at the end, to report
# the chosen model. A **grid search** tries every combination of a few values per hyper-parameter; a
# **random search** samples each hyper-parameter independently from a distribution (here log-uniform).
# With the same budget of 16 runs, the grid tries only 4 distinct values of each hyper-parameter, while
# random search tries 16 — which matters when one hyper-parameter (here the learning rate) matters much
# more than the other (Bergstra & Bengio, 2012). Both run vmapped: one compiled program each.

# %%
mid = nb.MLP((64, 64, 10), hidden="relu", output="softmax")
common = dict(optimizer="momentum", epochs=15, batch_size=64, patience=5)
grid_configs = search.grid(
    learning_rate=list(np.geomspace(1e-3, 0.3, 4)), l2=list(np.geomspace(1e-5, 1e-1, 4))
)
random_configs = search.random(
    jax.random.key(7),
    16,
    learning_rate=search.log_uniform(1e-3, 0.3),
    l2=search.log_uniform(1e-5, 1e-1),
)
results = {
    "grid search": search.search(mid, train, valid, test, configs=grid_configs, **common),
    "random search": search.search(mid, train, valid, test, configs=random_configs, **common),
}
for name, res in results.items():
    print(
        f"{name}: {res.traces} compiled program(s); best config "
        + ", ".join(f"{k} = {v:.3g}" for k, v in res.config.items())
    )
    print(search.format_table(res, top=5), "\n")

# %% tags=["figure"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), sharex=True, sharey=True)
for ax, (name, res) in zip(axes, results.items()):
    t = res.table
    sc = ax.scatter(
        t["learning_rate"],
        t["l2"],
        c=t["valid_accuracy"],
        cmap="viridis",
        s=90,
        vmin=0.85,
        vmax=1.0,
        edgecolors="k",
    )
    ax.scatter(
        t["learning_rate"][res.best],
        t["l2"][res.best],
        marker="*",
        s=400,
        color="red",
        edgecolors="k",
        label=f"selected: test accuracy {t['test_accuracy'][res.best]:.3f}",
    )
    ax.set(xscale="log", yscale="log", xlabel="learning rate", title=f"{name}, 16 runs")
    ax.legend(loc="lower left", fontsize=9)
    for v in np.unique(t["learning_rate"]):
        ax.axvline(v, color="gray", lw=0.5, alpha=0.5)
axes[0].set_ylabel("L2 strength")
fig.colorbar(sc, ax=axes, label="validation accuracy (best epoch)")
plt.show()
