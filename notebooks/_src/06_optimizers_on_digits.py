# %% [markdown]
# # 6 · Every optimizer on the digits, and its optax twin
#
# `nb.optim` writes each optimizer of the course by hand as an optax `GradientTransformation`
# (see `docs/optimizers.md`). Here we train the same network on the 8×8 digits with each of them, from
# the same initialization and with the same minibatches, and lay each hand-rolled optimizer's learning
# curve over that of its optax namesake: the curves coincide.
#
# | `nnbasics` | optax twin | update ($g_t$ the minibatch gradient) |
# |---|---|---|
# | `sgd(η)` | `optax.sgd(η)` | $\theta \leftarrow \theta - \eta g_t$ |
# | `momentum(η, β)` | `optax.sgd(η, momentum=β)` | $m_t = g_t + \beta m_{t-1}$, $\theta \leftarrow \theta - \eta m_t$ |
# | `momentum(η, β, nesterov=True)` | `optax.sgd(η, momentum=β, nesterov=True)` | $\theta \leftarrow \theta - \eta(g_t + \beta m_t)$ |
# | `adagrad(η)` | `optax.adagrad(η)` | $s_t = s_{t-1} + g_t^2$, $\theta \leftarrow \theta - \eta g_t/\sqrt{s_t + \epsilon}$ |
# | `rmsprop(η)` | `optax.rmsprop(η)` | $\nu_t = \rho\nu_{t-1} + (1-\rho)g_t^2$, $\theta \leftarrow \theta - \eta g_t/\sqrt{\nu_t + \epsilon}$ |
# | `adam(η)` | `optax.adam(η)` | $\theta \leftarrow \theta - \eta\,\hat m_t/(\sqrt{\hat v_t} + \epsilon)$, bias-corrected moments |
# | `adamw(η, weight_decay=λ)` | `optax.adamw(η, weight_decay=λ)` | Adam's step $+\ \eta\lambda\theta$ (decoupled weight decay) |

# %%
import os
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import nnbasics as nb

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})
# The test suite sets NNBASICS_NOTEBOOK_QUICK=1 to run every cell on fewer optimizers;
# the committed outputs are the full run.
QUICK = os.environ.get("NNBASICS_NOTEBOOK_QUICK") == "1"

X, y = nb.data.load("digits")
train, valid, test = nb.data.split(jax.random.key(0), X, y, stratify=True)
_, train, valid, test = nb.data.standardize(train, valid, test)
net = nb.MLP((64, 32, 10), hidden="relu", output="softmax")
params0 = net.init(jax.random.key(1))

# %% [markdown]
# Each pair is trained by `nb.fit` (hand-written backprop, 8 epochs, minibatches of 64, the same
# shuffling key), recording the training and validation loss after every epoch.

# %%
pairs = {
    "SGD": (nb.optim.sgd(0.1), optax.sgd(0.1)),
    "momentum": (nb.optim.momentum(0.02, beta=0.9), optax.sgd(0.02, momentum=0.9)),
    "Nesterov": (
        nb.optim.momentum(0.02, beta=0.9, nesterov=True),
        optax.sgd(0.02, momentum=0.9, nesterov=True),
    ),
    "AdaGrad": (nb.optim.adagrad(0.05), optax.adagrad(0.05)),
    "RMSProp": (nb.optim.rmsprop(1e-3), optax.rmsprop(1e-3)),
    "Adam": (nb.optim.adam(2e-3), optax.adam(2e-3)),
    "AdamW": (nb.optim.adamw(2e-3, weight_decay=1e-2), optax.adamw(2e-3, weight_decay=1e-2)),
}
if QUICK:
    pairs = {name: pairs[name] for name in ("SGD", "Adam")}
runs = {}
for name, (ours, theirs) in pairs.items():
    start = time.perf_counter()
    r_ours, r_theirs = (
        nb.fit(
            net, params0, opt, train, epochs=8, batch_size=64, key=jax.random.key(2), valid=valid
        )
        for opt in (ours, theirs)
    )
    runs[name] = (r_ours, r_theirs)
    curve_diff = max(
        np.max(np.abs(r_ours.history[k] - r_theirs.history[k]))
        for k in ("train_loss", "valid_loss")
    )
    param_diff = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(
            jax.tree.leaves(r_ours.state.params), jax.tree.leaves(r_theirs.state.params)
        )
    )
    print(
        f"{name:9s} valid acc {r_ours.history['valid_accuracy'][-1]:.3f}   "
        f"max |Δ loss curves| {curve_diff:.1e}   max |Δ final params| {param_diff:.1e}   "
        f"({time.perf_counter() - start:.1f} s)"
    )

# %% tags=["figure"]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for i, (name, (r_ours, r_theirs)) in enumerate(runs.items()):
    e = np.arange(1, len(r_ours.history["valid_loss"]) + 1)
    axes[0].semilogy(e, r_ours.history["train_loss"], color=f"C{i}", label=f"{name} (nb.optim)")
    axes[0].semilogy(e, r_theirs.history["train_loss"], "x", color=f"C{i}", ms=6)
    axes[1].semilogy(e, r_ours.history["valid_loss"], color=f"C{i}", label=name)
    axes[1].semilogy(e, r_theirs.history["valid_loss"], "x", color=f"C{i}", ms=6)
axes[0].set(xlabel="epoch", ylabel="training loss", title="training loss: lines nb.optim, × optax")
axes[1].set(
    xlabel="epoch", ylabel="validation loss", title="validation loss: lines nb.optim, × optax"
)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# In float32 the two implementations round differently in the last bits (e.g. $\eta(g/\sqrt{\cdot})$ vs
# $(\eta g)/\sqrt{\cdot}$), so the differences above are of the order of float32's resolution, and they
# do not grow into different training runs. The library's tests make the same comparison in float64
# over hundreds of steps, to a relative tolerance of $10^{-10}$.
#
# Finally, the test accuracy of every optimizer's network:

# %%
for name, (r_ours, _) in runs.items():
    loss, acc = nb.train.metrics(net, r_ours.params, *test)
    print(f"{name:9s} test loss {float(loss):.3f}   test accuracy {float(acc):.3f}")
