# %% [markdown]
# # 1 · Logistic regression and gradient descent
#
# Binary logistic regression is a linear model followed by the logistic sigmoid,
#
# $$p(Y=1\mid\mathbf{x};\boldsymbol\theta) = \sigma(\boldsymbol\theta^T\mathbf{x}) = \frac{1}{1+e^{-\boldsymbol\theta^T\mathbf{x}}},$$
#
# trained by minimizing the conditional negative log-likelihood (NLL) of the labels. There is no
# closed form for the minimum, so we need iterative methods: gradient descent, stochastic
# gradient descent (SGD) and Newton's method. Every formula below is computed by `nnbasics`
# (`nb.logistic`, `nb.gradcheck`, `nb.optim`, `nb.fit`); the notebook only glues and plots.
#
# In `nnbasics` the parameters are `{"w": (d,), "b": ()}`, i.e. $\boldsymbol\theta^T\mathbf{x} = \mathbf{w}^T\mathbf{x} + b$.

# %%
import jax

# Finite differences (section 2) need float64; everything here is small enough to run in it.
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import nnbasics as nb

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})

# %% [markdown]
# ## 1. Data
#
# The Wisconsin breast-cancer set ships with scikit-learn: 569 tumours, 30 features,
# label 1 = benign, 0 = malignant. We split it into train / valid / test (stratified) and
# standardize the features with the training statistics.

# %%
X, y = nb.data.load("breast_cancer")
train, valid, test = nb.data.split(jax.random.key(0), X, y, stratify=True)
stats, train, valid, test = nb.data.standardize(train, valid, test)
Xtr, ytr = jnp.asarray(train[0], jnp.float64), jnp.asarray(train[1])
Xte, yte = jnp.asarray(test[0], jnp.float64), jnp.asarray(test[1])
m, d = Xtr.shape
print(f"train {Xtr.shape}, test {Xte.shape}, fraction benign {float(ytr.mean()):.2f}")

# %% [markdown]
# ## 2. The NLL and its gradient, checked three ways
#
# With the "label exponentiation trick" $p(y\mid\mathbf{x}) = \sigma(z)^{y}(1-\sigma(z))^{1-y}$,
# $z = \boldsymbol\theta^T\mathbf{x}$, the mean NLL over $m$ examples (plus an L2 penalty on the
# weights, which keeps the optimum finite on separable data) is
#
# $$J(\boldsymbol\theta) = -\frac1m\sum_{i=1}^m \Big[y^{(i)}\log\sigma(z^{(i)}) + (1-y^{(i)})\log\big(1-\sigma(z^{(i)})\big)\Big] + \frac{\lambda}{2}\|\mathbf{w}\|^2,$$
#
# and its gradient is the famous "error times input":
#
# $$\nabla_{\mathbf{w}} J = -\frac1m\sum_{i=1}^m \big(y^{(i)} - \sigma(z^{(i)})\big)\,\mathbf{x}^{(i)} + \lambda\mathbf{w},
# \qquad \frac{\partial J}{\partial b} = -\frac1m\sum_{i=1}^m \big(y^{(i)} - \sigma(z^{(i)})\big).$$
#
# `nb.logistic.grad` is this formula written by hand. We compare it with `jax.grad` of
# `nb.logistic.nll` and with central finite differences
# $\frac{J(\theta+\epsilon e_i) - J(\theta-\epsilon e_i)}{2\epsilon}$ (`nb.gradcheck.numerical_grad`).
# The relative error is $\max |a-b| / (|a|+|b|)$.

# %%
l2 = 1e-2
params = {"w": 0.5 * jax.random.normal(jax.random.key(1), (d,)), "b": jnp.array(0.3)}

g_hand = nb.logistic.grad(params, Xtr, ytr, l2)
g_auto = jax.grad(nb.logistic.nll)(params, Xtr, ytr, l2)
g_num = nb.gradcheck.numerical_grad(lambda p: nb.logistic.nll(p, Xtr, ytr, l2), params)
print(f"J(θ) = {float(nb.logistic.nll(params, Xtr, ytr, l2)):.6f}")
print(f"hand-written vs jax.grad:       {nb.gradcheck.rel_error(g_hand, g_auto):.1e}")
print(f"hand-written vs finite diff.:   {nb.gradcheck.rel_error(g_hand, g_num):.1e}\n")

# The same check as a table, one row per parameter leaf.
rows = nb.gradcheck.report(
    nb.logistic.nll,
    lambda p, *a: (nb.logistic.nll(p, *a), nb.logistic.grad(p, *a)),
    params,
    Xtr,
    ytr,
    l2,
)
print(nb.gradcheck.format_report(rows))

# %% [markdown]
# The hand-written Hessian $H = \frac1m\tilde X^T S\tilde X + \lambda\,\mathrm{diag}(1,\dots,1,0)$,
# $S = \mathrm{diag}\big(\sigma(z)(1-\sigma(z))\big)$, $\tilde X = [X, \mathbf 1]$, checked the same way
# against `jax.hessian` on the stacked vector $\boldsymbol\theta = [\mathbf w; b]$:

# %%
theta = jnp.concatenate([params["w"], params["b"][None]])
H_auto = jax.hessian(lambda t: nb.logistic.nll({"w": t[:-1], "b": t[-1]}, Xtr, ytr, l2))(theta)
H_hand = nb.logistic.hessian(params, Xtr, ytr, l2)
print(
    f"Hessian {H_hand.shape}: hand-written vs jax.hessian {nb.gradcheck.rel_error(H_hand, H_auto):.1e}"
)
print(
    f"eigenvalues from {float(jnp.linalg.eigvalsh(H_hand)[0]):.2e} to "
    f"{float(jnp.linalg.eigvalsh(H_hand)[-1]):.2e}: the problem is ill-conditioned"
)

# %% [markdown]
# ## 3. Batch gradient descent vs SGD
#
# Gradient descent repeats $\boldsymbol\theta \leftarrow \boldsymbol\theta - \eta\nabla_{\boldsymbol\theta} J(\boldsymbol\theta)$
# with the gradient over all $m$ examples. Stochastic gradient descent uses the gradient of a
# minibatch $B$ instead, $\frac1{|B|}\sum_{i\in B}\nabla \ell^{(i)}$, an unbiased but noisy estimate
# that costs $|B|/m$ of a full gradient — so SGD makes many more updates per pass ("epoch")
# over the data, but each one is noisier.
#
# First the reference optimum $\boldsymbol\theta^*$ by Newton's method (section 5), then the loop:
# every epoch reshuffles the training set, cuts it into minibatches and applies
# `nb.logistic.grad` through the optax-style `nb.optim.sgd` (`init` / `update` / `apply_updates`).
# The learning rate is set from the curvature: $\eta = 1/L$, $L$ the largest Hessian eigenvalue
# at $\boldsymbol\theta = 0$ (where $\sigma' = 1/4$ is largest).

# %%
zeros = {"w": jnp.zeros(d), "b": jnp.array(0.0)}
theta_star = nb.logistic.newton(zeros, Xtr, ytr, l2)
J_star = nb.logistic.nll(theta_star, Xtr, ytr, l2)
L = float(jnp.linalg.eigvalsh(nb.logistic.hessian(zeros, Xtr, ytr, l2))[-1])
print(f"J* = {float(J_star):.6f}, L = {L:.2f}, 1/L = {1 / L:.3f}")


def sgd_epochs(batch_size, learning_rate, epochs, key):
    """J(θ) − J* after each epoch of minibatch SGD from θ = 0.

    Each epoch permutes the data and visits m // batch_size minibatches (the few
    left-over examples are drawn in other epochs).
    """
    opt = nb.optim.sgd(learning_rate)
    steps = m // batch_size

    def step(carry, idx):
        p, s = carry
        g = nb.logistic.grad(p, Xtr[idx], ytr[idx], l2)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    def epoch(carry, k):
        idx = jax.random.permutation(k, m)[: steps * batch_size].reshape(steps, batch_size)
        carry, _ = jax.lax.scan(step, carry, idx)
        return carry, nb.logistic.nll(carry[0], Xtr, ytr, l2) - J_star

    _, gaps = jax.lax.scan(epoch, (zeros, opt.init(zeros)), jax.random.split(key, epochs))
    return np.asarray(gaps), steps


epochs = 40
runs = {
    f"batch size {b}" + (" (= m, batch GD)" if b == m else ""): (b, lr)
    for b, lr in [(m, 1 / L), (32, 1 / L), (1, 0.1 / L)]
}
gaps = {name: sgd_epochs(b, lr, epochs, jax.random.key(3)) for name, (b, lr) in runs.items()}

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, (gap, steps) in gaps.items():
    e = np.arange(1, epochs + 1)
    axes[0].semilogy(e, gap, label=name)
    axes[1].loglog(e * steps, gap, label=name)
axes[0].set(
    xlabel="epoch (passes over the data)",
    ylabel=r"$J(\theta) - J^*$",
    title="per epoch: SGD wins the first passes",
)
axes[1].set(
    xlabel="updates", ylabel=r"$J(\theta) - J^*$", title="per update: full-batch steps are better"
)
axes[0].legend()
fig.suptitle("Logistic regression on breast_cancer: batch GD vs minibatch SGD vs SGD")
fig.tight_layout()
plt.show()

# %% [markdown]
# With a constant learning rate, single-example SGD stalls at a "noise floor": its gradient
# estimate never becomes zero at $\boldsymbol\theta^*$. Learning-rate decay (notebook 2) removes the floor.
#
# Logistic regression is also a one-layer network `nb.MLP((d, 1), output="sigmoid")`:
# same NLL (`output="sigmoid"` is the Bernoulli unit), trained by `nb.fit`
# with the hand-written backprop. With the same L2 strength it finds the same optimum:

# %%
net = nb.MLP((d, 1), output="sigmoid")
p0 = net.init(jax.random.key(4), dtype=jnp.float64)
result = nb.fit(
    net,
    p0,
    nb.optim.momentum(0.5, beta=0.9),
    (Xtr, ytr[:, None]),
    epochs=150,
    batch_size=m,
    key=jax.random.key(5),
    l2=l2,
)
w_net, b_net = result.params[0]["W"][:, 0], result.params[0]["b"][0]
print(
    f"nb.fit final training loss {result.history['train_loss'][-1]:.6f}  vs  J* {float(J_star):.6f}"
)
print(
    f"max |w_net − w*| = {float(jnp.max(jnp.abs(w_net - theta_star['w']))):.1e}, "
    f"|b_net − b*| = {float(jnp.abs(b_net - theta_star['b'])):.1e}"
)

# %% [markdown]
# ## 4. The decision rule $p > 0.5$ and the decision boundary
#
# We predict $\hat y = 1$ if $p(Y=1\mid\mathbf{x};\boldsymbol\theta) > 0.5$, i.e. if $\boldsymbol\theta^T\mathbf{x} > 0$.
# For logistic regression the boundary $\boldsymbol\theta^T\mathbf{x} = 0$ is a hyperplane — a line
# in 2-D. On the two "moons" no line separates the classes; a small network with one hidden layer
# (still a sigmoid output, still $p > 0.5$) bends the boundary.

# %%
Xm, ym = nb.data.load("moons")
Xm = jnp.asarray(Xm, jnp.float64)
logreg = nb.logistic.newton({"w": jnp.zeros(2), "b": jnp.array(0.0)}, Xm, ym, l2=1e-3)

proba = nb.logistic.predict_proba(logreg, Xm)
labels = nb.logistic.predict(logreg, Xm)
z = Xm @ logreg["w"] + logreg["b"]
print(
    "predict == (p > 0.5) == (θᵀx > 0):",
    bool(jnp.all(labels == (proba > 0.5))) and bool(jnp.all(labels == (z > 0))),
)
print(f"logistic regression training accuracy {float(jnp.mean(labels == ym)):.3f}")

mlp = nb.MLP((2, 16, 1), hidden="tanh", output="sigmoid")
fit_m = nb.fit(
    mlp,
    mlp.init(jax.random.key(6), dtype=jnp.float64),
    nb.optim.adam(0.05),
    (Xm, ym[:, None]),
    epochs=300,
    batch_size=len(Xm),
    key=jax.random.key(7),
)
print(
    f"one-hidden-layer net training accuracy "
    f"{float(jnp.mean(mlp.predict(fit_m.params, Xm)[:, 0] == ym)):.3f}"
)

# %% tags=["figure"]
g1, g2 = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-1.5, 2, 160))
grid = jnp.asarray(np.c_[g1.ravel(), g2.ravel()])
surfaces = {
    "logistic regression (Newton)": nb.logistic.predict_proba(logreg, grid),
    "MLP (2, 16, 1), tanh, sigmoid output": jax.nn.sigmoid(mlp.apply(fit_m.params, grid)[:, 0]),
}
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (title, p) in zip(axes, surfaces.items()):
    cs = ax.contourf(
        g1,
        g2,
        np.asarray(p).reshape(g1.shape),
        levels=np.linspace(0, 1, 11),
        cmap="RdBu",
        alpha=0.7,
    )
    ax.contour(g1, g2, np.asarray(p).reshape(g1.shape), levels=[0.5], colors="k")
    ax.scatter(*np.asarray(Xm).T, c=ym, cmap="RdBu", edgecolors="k", s=12)
    ax.set(title=title + "\nblack line: p = 0.5", xlabel="$x_1$")
axes[0].set_ylabel("$x_2$")
fig.colorbar(cs, ax=axes, label="p(y = 1 | x)")
plt.show()

# %% [markdown]
# ## 5. Newton's method vs gradient descent
#
# Newton's method minimizes the second-order Taylor expansion at every step:
#
# $$\boldsymbol\theta_{t+1} = \boldsymbol\theta_t - H^{-1}\nabla J(\boldsymbol\theta_t),\qquad H = \nabla^2 J = \frac1m \tilde X^T S \tilde X + \lambda I'.$$
#
# It is practical here because there are only $d+1 = 31$ parameters (a $31\times31$ solve) and $J$ is
# convex. Near the optimum it converges *quadratically* (the number of correct digits doubles at each
# step), while gradient descent with $\eta = 1/L$ converges *linearly* at a rate set by the
# condition number $L/\mu$ of $H$. `nb.logistic.newton_path` returns every iterate.

# %%
path = nb.logistic.newton_path(zeros, Xtr, ytr, l2, steps=10)
grad_norm = jax.vmap(
    lambda w, b: jnp.linalg.norm(
        jnp.concatenate(
            [v.ravel() for v in jax.tree.leaves(nb.logistic.grad({"w": w, "b": b}, Xtr, ytr, l2))]
        )
    )
)
newton_norms = np.asarray(grad_norm(path["w"], path["b"]))

opt = nb.optim.sgd(1 / L)


def gd_step(carry, _):
    p, s = carry
    g = nb.logistic.grad(p, Xtr, ytr, l2)
    u, s = opt.update(g, s, p)
    return (optax.apply_updates(p, u), s), p


_, gd_path = jax.lax.scan(gd_step, (zeros, opt.init(zeros)), length=12_000)
gd_norms = np.asarray(grad_norm(gd_path["w"], gd_path["b"]))

tol = 1e-8
first = lambda norms: int(np.argmax(norms < tol)) if np.any(norms < tol) else None
print(
    f"iterations to ‖∇J‖ < {tol:g}:  Newton {first(newton_norms)},  "
    f"gradient descent {first(gd_norms)}"
)
print("Newton ‖∇J‖ per step:", " ".join(f"{v:.1e}" for v in newton_norms))

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.loglog(np.arange(1, len(gd_norms) + 1), gd_norms, label="gradient descent, η = 1/L")
ax.loglog(np.arange(1, len(newton_norms) + 1), newton_norms, "o-", label="Newton")
ax.axhline(tol, color="gray", ls=":", label=f"tolerance {tol:g}")
ax.set(
    xlabel="iteration (1 = start)",
    ylabel=r"$\|\nabla J(\theta_t)\|$",
    title="Newton: a handful of steps; GD: thousands",
    ylim=(1e-17, 10),
)
ax.legend()
plt.show()

# %% [markdown]
# Finally the test accuracy of $\boldsymbol\theta^*$ with the rule $p > 0.5$:

# %%
print(
    f"test accuracy {float(jnp.mean(nb.logistic.predict(theta_star, Xte) == yte)):.3f} "
    f"on {len(yte)} held-out tumours"
)
