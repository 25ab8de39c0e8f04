# %% [markdown]
# # 3 · Feedforward networks and their units
#
# A deep feedforward network composes layers
#
# $$\mathbf a^{(k)} = \mathbf b^{(k)} + W^{(k)}\mathbf h^{(k-1)},\qquad \mathbf h^{(k)} = g(\mathbf a^{(k)}),\qquad \mathbf h^{(0)} = \mathbf x,$$
#
# and ends in an *output unit* that turns the last pre-activation $\mathbf z = \mathbf a^{(L+1)}$ into the
# parameters of a distribution $p(\mathbf y\mid\mathbf x)$, trained by its negative log-likelihood.
# This notebook builds the course's XOR network by hand, compares hidden units $g$, and trains every
# output unit of `nb.MLP`. (`nnbasics` is batch-first: $X$ is $(n, d_{in})$ and $\mathbf a = \mathbf h W + \mathbf b$.)

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import nnbasics as nb

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})
# The test suite sets NNBASICS_NOTEBOOK_QUICK=1 to run every cell on fewer hidden units;
# the committed outputs are the full run.
QUICK = os.environ.get("NNBASICS_NOTEBOOK_QUICK") == "1"

# %% [markdown]
# ## 1. XOR: why we need a hidden layer
#
# No linear model separates XOR's four points. The course's network with one relu layer does:
#
# $$f(\mathbf x; W, \mathbf c, \mathbf w) = \mathbf w^T\max(0, W^T\mathbf x + \mathbf c),\qquad
# W = \begin{bmatrix}1 & 1\\ 1 & 1\end{bmatrix},\quad \mathbf c = \begin{bmatrix}0\\ -1\end{bmatrix},\quad
# \mathbf w = \begin{bmatrix}1\\ -2\end{bmatrix}.$$
#
# In `nnbasics` it is `MLP((2, 2, 1), hidden="relu", output="linear")` with exactly these parameters
# (the output bias is 0).

# %%
X, y = nb.data.load("xor")
xor_net = nb.MLP((2, 2, 1), hidden="relu", output="linear")
xor_params = [
    {"W": jnp.array([[1.0, 1.0], [1.0, 1.0]]), "b": jnp.array([0.0, -1.0])},  # W, c
    {"W": jnp.array([[1.0], [-2.0]]), "b": jnp.array([0.0])},  # w
]
f = xor_net.apply(xor_params, X)[:, 0]
_, tapes = xor_net.forward(xor_params, X)
h = tapes[1].h  # the hidden layer's output max(0, Wᵀx + c), the input of the last layer
for x_i, h_i, f_i, y_i in zip(np.asarray(X), np.asarray(h), np.asarray(f), y):
    print(f"x = {x_i}  →  h = {h_i}  →  f(x) = {f_i:.0f}   (XOR = {y_i})")
assert np.array_equal(np.asarray(f), y)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
for ax, points, title, labels in [
    (axes[0], np.asarray(X), "input space x: not linearly separable", ("$x_1$", "$x_2$")),
    (axes[1], np.asarray(h), "hidden space h = relu(Wᵀx + c): separable", ("$h_1$", "$h_2$")),
]:
    ax.scatter(*points.T, c=y, cmap="coolwarm", s=150, edgecolors="k", zorder=3)
    for p, x_i in zip(points, np.asarray(X)):
        ax.annotate(f"({x_i[0]:.0f},{x_i[1]:.0f})", p, xytext=(8, -12), textcoords="offset points")
    ax.set(title=title, xlabel=labels[0], ylabel=labels[1], xlim=(-0.4, 2.6), ylim=(-0.4, 1.6))
hh = np.linspace(-0.4, 2.6, 10)
axes[1].plot(hh, (hh - 0.5) / 2, "k--", label="$w^T h = 0.5$")
axes[1].legend(loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# The hidden layer maps $(0,1)$ and $(1,0)$ to the same point $h = (1, 0)$, and there a line
# separates the classes.
#
# ## 2. Hidden units
#
# | unit | $g(a)$ | $g'(a)$ |
# |---|---|---|
# | relu | $\max(0, a)$ | $1[a > 0]$ |
# | sigmoid | $\sigma(a) = 1/(1+e^{-a})$ | $\sigma(a)(1-\sigma(a))$ |
# | tanh | $\tanh(a)$ | $1 - \tanh^2(a)$ |
# | softplus | $\ln(1 + e^{a})$ | $\sigma(a)$ |
# | linear | $a$ | $1$ |
# | maxout | $\max_p a_{p}$ over $p$ linear pieces | $1$ for the winning piece |
#
# The relu's gradient is a constant 1 wherever the unit is active, while sigmoid and tanh saturate
# (their derivative vanishes for large $|a|$) — the reason relu is the default hidden unit. Each
# function and its derivative come from `nb.activations.HIDDEN`:

# %%
a = jnp.linspace(-4, 4, 401)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for name in ("relu", "sigmoid", "tanh", "softplus", "linear"):
    unit = nb.activations.HIDDEN[name]
    axes[0].plot(a, unit.g(a), label=name)
    axes[1].plot(a, unit.g_prime(a), label=name)
pieces = jnp.stack([a, -0.5 * a - 1], axis=-1)  # maxout of two lines
axes[0].plot(a, nb.activations.maxout(pieces), "k:", label="maxout(a, −a/2 − 1)")
axes[0].set(title="g(a)", ylim=(-2, 4), xlabel="a")
axes[1].set(title="g′(a)", ylim=(-0.1, 1.2), xlabel="a")
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Now the same network, `MLP((64, 32, 10))` with a softmax output, trained on the 8×8 digits with each
# hidden unit: same initialization seed, same optimizer (SGD with momentum), same minibatches.
# `nb.fit` trains with the hand-written backprop and records the validation loss after every epoch.

# %%
Xd, yd = nb.data.load("digits")
train, valid, test = nb.data.split(jax.random.key(0), Xd, yd, stratify=True)
_, train, valid, test = nb.data.standardize(train, valid, test)

histories = {}
units = ("relu", "sigmoid", "tanh", "softplus", "linear", "maxout")
for unit in units[:2] if QUICK else units:
    net = nb.MLP((64, 32, 10), hidden=unit, output="softmax")
    result = nb.fit(
        net,
        net.init(jax.random.key(1)),
        nb.optim.momentum(0.04, beta=0.9),
        train,
        epochs=10,
        batch_size=64,
        key=jax.random.key(2),
        valid=valid,
    )
    histories[unit] = result.history
    print(
        f"{unit:8s}  final valid loss {result.history['valid_loss'][-1]:.3f}  "
        f"accuracy {result.history['valid_accuracy'][-1]:.3f}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for unit, hist in histories.items():
    epochs = np.arange(1, len(hist["train_loss"]) + 1)
    axes[0].semilogy(epochs, hist["train_loss"], label=unit)
    axes[1].plot(epochs, hist["valid_accuracy"], label=unit)
axes[0].set(xlabel="epoch", ylabel="training loss (mean NLL)", title="digits: training loss")
axes[1].set(
    xlabel="epoch",
    ylabel="validation accuracy",
    title="digits: validation accuracy",
    ylim=(0.8, 1.0),
)
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The sigmoid network learns slowest (its units saturate and its derivative is at most ¼); relu,
# softplus, tanh and maxout learn quickly. A linear "hidden" layer makes the whole network a linear
# (rank ≤ 32) model — enough on the digits, which are almost linearly separable, but unable to
# represent XOR (section 1).
#
# ## 3. Output units
#
# Each output unit defines $p(\mathbf y\mid\mathbf x)$ from the last pre-activation $\mathbf z$, and the
# loss is its NLL:
#
# | unit | distribution | NLL | `nb.MLP(..., output=)` |
# |---|---|---|---|
# | sigmoid | Bernoulli, $p(y=1) = \sigma(z)$ | $-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]$ | `"sigmoid"` |
# | softmax | categorical, $p(y=i) = \mathrm{softmax}(\mathbf z)_i = e^{z_i}/\sum_j e^{z_j}$ | $-\log\mathrm{softmax}(\mathbf z)_y$ | `"softmax"` |
# | linear | Gaussian $\mathcal N(\mathbf z, I)$ | $\tfrac12\|\mathbf y - \mathbf z\|^2$ | `"linear"` |
# | gaussian | $\mathcal N(\mu, 1/\tau)$, $\tau = \mathrm{softplus}(r)$ | $\tfrac12\tau(y-\mu)^2 - \tfrac12\log\tau + \tfrac12\log 2\pi$ | `"gaussian"` |
# | mixture | $\sum_k \pi_k\,\mathcal N(\mu_k, 1/\tau_k)$, $\boldsymbol\pi = \mathrm{softmax}$, $\tau_k = \mathrm{softplus}$ | $-\log\sum_k\pi_k\mathcal N(y;\mu_k,1/\tau_k)$ | `"mixture"` |
#
# For sigmoid and softmax the gradient backprop starts from is the course's $-(\mathbf e(y) - f(\mathbf x))$.
#
# ### Bernoulli and categorical outputs
#
# A sigmoid output on the two moons (binary labels), a softmax output on three Gaussian blobs:

# %%
Xm, ym = nb.data.load("moons")
bern = nb.MLP((2, 16, 1), hidden="relu", output="sigmoid")
bern_fit = nb.fit(
    bern,
    bern.init(jax.random.key(3)),
    nb.optim.adam(0.03),
    (Xm, ym[:, None]),
    epochs=200,
    batch_size=len(Xm),
    key=jax.random.key(4),
)

Xb, yb = nb.data.load("blobs")
cat = nb.MLP((2, 16, 3), hidden="relu", output="softmax")
cat_fit = nb.fit(
    cat,
    cat.init(jax.random.key(5)),
    nb.optim.adam(0.03),
    (Xb, yb),
    epochs=200,
    batch_size=len(Xb),
    key=jax.random.key(6),
)
print(
    f"Bernoulli (moons) accuracy {float(jnp.mean(bern.predict(bern_fit.params, Xm)[:, 0] == ym)):.3f}, "
    f"categorical (blobs) accuracy {float(jnp.mean(cat.predict(cat_fit.params, Xb) == yb)):.3f}"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
g1, g2 = np.meshgrid(np.linspace(-2, 3, 150), np.linspace(-1.5, 2, 120))
grid = jnp.asarray(np.c_[g1.ravel(), g2.ravel()], jnp.float32)
p1 = jax.nn.sigmoid(bern.apply(bern_fit.params, grid))[:, 0].reshape(g1.shape)
cs = axes[0].contourf(g1, g2, p1, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.7)
axes[0].scatter(*Xm.T, c=ym, cmap="RdBu", edgecolors="k", s=10)
fig.colorbar(cs, ax=axes[0], label="σ(z) = p(y = 1 | x)")
axes[0].set(title="sigmoid output: Bernoulli")

lo, hi = Xb.min(axis=0) - 1, Xb.max(axis=0) + 1
g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 120))
grid = jnp.asarray(np.c_[g1.ravel(), g2.ravel()], jnp.float32)
probs = np.asarray(jax.nn.softmax(cat.apply(cat_fit.params, grid), axis=-1))
colors = np.array([[0.85, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.3, 0.85]])
axes[1].imshow(
    (probs @ colors).reshape(g1.shape + (3,)),
    origin="lower",
    alpha=0.6,
    aspect="auto",
    extent=(lo[0], hi[0], lo[1], hi[1]),
)
axes[1].scatter(*Xb.T, c=colors[yb], edgecolors="k", s=10)
axes[1].set(title="softmax output: categorical\n(colour = mixture of class colours by probability)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Gaussian output with a learned precision
#
# On the `"sine"` set, $y = \sin(2\pi x) + \epsilon$ with noise whose standard deviation $0.2\,(0.25 + x)$
# grows with $x$. A `"linear"` output assumes unit variance (squared error); the `"gaussian"`
# output predicts a mean $\mu(\mathbf x)$ *and* a precision $\tau(\mathbf x) = \mathrm{softplus}(r(\mathbf x)) > 0$,
# so the network learns where it is uncertain. We plot $\mu \pm 1/\sqrt\tau$ (one standard deviation).

# %%
Xs, ys = nb.data.load("sine")
gauss = nb.MLP((1, 32, 1), hidden="tanh", output="gaussian")
gauss_fit = nb.fit(
    gauss,
    gauss.init(jax.random.key(7)),
    nb.optim.adam(0.01),
    (Xs, ys),
    epochs=400,
    batch_size=100,
    key=jax.random.key(8),
)
print(f"final training NLL {gauss_fit.history['train_loss'][-1]:.3f} nats")

xs = jnp.linspace(0, 1, 200)[:, None]
z = gauss.apply(gauss_fit.params, xs)
mean = np.asarray(gauss.predict(gauss_fit.params, xs)[:, 0])  # μ = z[:, :1]
std = np.asarray(1 / jnp.sqrt(nb.activations.softplus(z[:, 1])))  # 1/√τ, τ = softplus(r)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].scatter(Xs[:, 0], ys[:, 0], s=6, color="gray", alpha=0.6, label="data")
axes[0].plot(xs[:, 0], mean, "C0", label="μ(x)")
axes[0].fill_between(xs[:, 0], mean - std, mean + std, color="C0", alpha=0.25, label="μ ± 1/√τ")
axes[0].set(xlabel="x", ylabel="y", title="gaussian output on 'sine'")
axes[0].legend(loc="lower left")
axes[1].plot(xs[:, 0], std, label="learned 1/√τ(x)")
axes[1].plot(xs[:, 0], 0.2 * (0.25 + xs[:, 0]), "k--", label="true noise std 0.2 (0.25 + x)")
axes[1].set(
    xlabel="x", ylabel="standard deviation", title="the learned noise level", ylim=(0, None)
)
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Mixture density network
#
# On the `"multimodal"` set ($x = y + 0.3\sin(2\pi y) + $ noise, the inverse of a wavy function) a
# given $x$ can come from up to three values of $y$: $p(y\mid x)$ has several modes. A unimodal output
# averages them (its mean falls *between* the branches); a mixture output — softmax weights
# $\pi_k(\mathbf x)$, means $\mu_k(\mathbf x)$, softplus precisions $\tau_k(\mathbf x)$ — models them all.
# For `components=K` and one target dimension, $\mathbf z = [\text{logits}_{1..K}, \mu_{1..K}, r_{1..K}]$.
# The inputs are standardized (`nb.data.Standardizer`), which helps the mixture find its modes.

# %%
Xmm, ymm = nb.data.load("multimodal")
x_stats = nb.data.Standardizer.fit(Xmm)
Xz = nb.data.transform(x_stats, Xmm)
K = 5
mdn = nb.MLP((1, 32, 1), hidden="tanh", output="mixture", components=K)
mdn_fit = nb.fit(
    mdn,
    mdn.init(jax.random.key(0)),
    nb.optim.adam(0.01),
    (Xz, ymm),
    epochs=800,
    batch_size=len(Xz),
    key=jax.random.key(1),
)
uni = nb.MLP((1, 32, 1), hidden="tanh", output="gaussian")
uni_fit = nb.fit(
    uni,
    uni.init(jax.random.key(0)),
    nb.optim.adam(0.01),
    (Xz, ymm),
    epochs=800,
    batch_size=len(Xz),
    key=jax.random.key(1),
)
print(
    f"training NLL: mixture of {K} {mdn_fit.history['train_loss'][-1]:.3f},  "
    f"single Gaussian {uni_fit.history['train_loss'][-1]:.3f} nats"
)

# %% tags=["figure"]
xg = jnp.linspace(Xmm.min(), Xmm.max(), 300)[:, None]
z = mdn.apply(mdn_fit.params, nb.data.transform(x_stats, xg))
weights = np.asarray(jax.nn.softmax(z[:, :K], axis=-1))  # π_k(x)
means = np.asarray(z[:, K : 2 * K])  # μ_k(x)
stds = np.asarray(1 / jnp.sqrt(nb.activations.softplus(z[:, 2 * K :])))  # 1/√τ_k(x)

# Samples y ~ p(y | x): pick a component by its weight, then draw from its Gaussian.
k_s, k_n = jax.random.split(jax.random.key(2))
comp = jax.random.categorical(k_s, z[:, :K], shape=(20, len(xg)))
pick = lambda v: np.take_along_axis(
    np.broadcast_to(v, (20,) + v.shape), np.asarray(comp)[..., None], -1
)[..., 0]
samples = pick(means) + pick(stds) * np.asarray(jax.random.normal(k_n, comp.shape))

fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), sharey=True)
ax = axes[0]
ax.scatter(Xmm[:, 0], ymm[:, 0], s=6, color="gray", alpha=0.5, label="data")
for k in range(K):
    rgba = np.zeros((len(xg), 4))
    rgba[:, :3] = plt.cm.tab10(k)[:3]
    rgba[:, 3] = weights[:, k]
    ax.scatter(xg[:, 0], means[:, k], s=4, color=rgba)
ax.plot(
    xg[:, 0],
    mdn.predict(mdn_fit.params, nb.data.transform(x_stats, xg))[:, 0],
    "k--",
    label="mixture mean Σ π_k μ_k",
)
ax.plot(
    xg[:, 0],
    uni.predict(uni_fit.params, nb.data.transform(x_stats, xg))[:, 0],
    "C3",
    label="single-Gaussian mean",
)
ax.set(xlabel="x", ylabel="y", title=f"MDN, {K} components: means μ_k(x), opacity = weight π_k(x)")
ax.legend(loc="upper left", fontsize=8)
ax = axes[1]
ax.scatter(np.broadcast_to(xg[:, 0], samples.shape), samples, s=1, alpha=0.3, color="C0")
ax.set(xlabel="x", title="20 samples y ~ p(y | x) per x from the mixture")
fig.tight_layout()
plt.show()

# %% [markdown]
# The mean of the mixture (black dashed) and the single Gaussian's mean (red) both cut between the
# branches where $p(y\mid x)$ has several modes — the conditional mean is not a likely value of $y$. The
# mixture's components follow the branches, and samples from it reproduce the data.
