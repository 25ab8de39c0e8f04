# %% [markdown]
# # 2 · Optimization landscapes: GD, momentum, adaptive rates, Newton, schedules, local minima
#
# Gradient descent follows the direction of steepest descent,
# $\boldsymbol\theta_{t+1} = \boldsymbol\theta_t - \eta\nabla J(\boldsymbol\theta_t)$ — the best local direction,
# but often a poor global one. This notebook runs every optimizer of `nb.optim` (each an optax
# `GradientTransformation`: `init` / `update`, applied with `optax.apply_updates`) and Newton's
# method (`nb.newton`) on the course's ill-conditioned quadratic, then looks at learning-rate
# schedules (`nb.schedules`) and at the local minima of a small network.

# %%
import warnings

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import nnbasics as nb

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})

# %% [markdown]
# ## 1. An ill-conditioned valley
#
# The course's example is
#
# $$f(\mathbf x) = \frac{x_1^2}{a^2} + x_2^2,\qquad f'(\mathbf x) = 2\begin{pmatrix} x_1/a^2\\ x_2\end{pmatrix},\qquad a = 10.$$
#
# At $(1, 1)$ the gradient is $2\,(1/100,\ 1)$: it points almost entirely along $x_2$ although the
# minimum lies along $x_1$. The Hessian is $\mathrm{diag}(2/a^2, 2)$, with condition number
# $a^2 = 100$: a step size small enough not to oscillate along $x_2$ ($\eta < 2/2 = 1$) crawls along $x_1$
# (each step shrinks $x_1$ only by the factor $1 - 2\eta/a^2$).
#
# The objective is the problem we pose, so it is written here; its gradient is `jax.grad`, and all
# updates come from `nb.optim`.

# %%
a = 10.0


def f(x):
    """The course's quadratic valley x1²/a² + x2²."""
    return x[0] ** 2 / a**2 + x[1] ** 2


print("f'(1, 1) =", jax.grad(f)(jnp.array([1.0, 1.0])))
x0 = jnp.array([-9.0, 1.5])


def trajectory(optimizer, steps=80):
    """Iterates x_0 … x_steps of an optax-style optimizer on f."""

    def step(carry, _):
        x, state = carry
        updates, state = optimizer.update(jax.grad(f)(x), state, x)
        x = optax.apply_updates(x, updates)
        return (x, state), x

    _, xs = jax.lax.scan(step, (x0, optimizer.init(x0)), length=steps)
    return np.asarray(jnp.concatenate([x0[None], xs]))


# %% [markdown]
# ## 2. The optimizers
#
# With $g_t = \nabla J(\boldsymbol\theta_t)$ (the notation of the course and of `docs/optimizers.md`):
#
# | method | update |
# |---|---|
# | gradient descent | $\theta_{t+1} = \theta_t - \eta g_t$ |
# | momentum | $m_t = g_t + \beta m_{t-1}$, $\ \theta_{t+1} = \theta_t - \eta m_t$ |
# | Nesterov | $m_t = g_t + \beta m_{t-1}$, $\ \theta_{t+1} = \theta_t - \eta (g_t + \beta m_t)$ |
# | AdaGrad | $s_t = s_{t-1} + g_t^2$, $\ \theta_{t+1} = \theta_t - \eta\, g_t / \sqrt{s_t + \epsilon}$ |
# | RMSProp | $\hat g_t = \beta\hat g_{t-1} + (1-\beta) g_t^2$, $\ \theta_{t+1} = \theta_t - \eta\, g_t/\sqrt{\hat g_t + \epsilon}$ |
# | Adam | $v_t = \gamma v_{t-1} + (1-\gamma) g_t$, $\hat g_t = \beta \hat g_{t-1} + (1-\beta) g_t^2$, $\ \theta_{t+1} = \theta_t - \eta\,\tilde v_t / (\sqrt{\tilde g_t} + \epsilon)$ with the bias corrections $\tilde v_t = v_t/(1-\gamma^t)$, $\tilde g_t = \hat g_t/(1-\beta^t)$ |
# | Newton | $\theta_{t+1} = \theta_t - (\nabla^2 f)^{-1}\nabla f$ |
#
# Momentum accumulates the consistent $x_1$ component of the gradient and lets the oscillating $x_2$
# component cancel; the adaptive methods divide each coordinate by its own gradient scale, which
# undoes the bad conditioning of an axis-aligned valley. Newton rescales by the exact curvature, so
# on a quadratic one step lands on the minimum (`nb.newton.newton`).

# %%
optimizers = {
    "gradient descent, η = 0.9": nb.optim.sgd(0.9),
    "momentum, η = 0.3, β = 0.9": nb.optim.momentum(0.3, beta=0.9),
    "Nesterov, η = 0.3, β = 0.9": nb.optim.momentum(0.3, beta=0.9, nesterov=True),
    "AdaGrad, η = 2": nb.optim.adagrad(2.0),
    "RMSProp, η = 0.3": nb.optim.rmsprop(0.3),
    "Adam, η = 0.5": nb.optim.adam(0.5),
}
paths = {name: trajectory(opt) for name, opt in optimizers.items()}

newton = nb.newton.newton(f, x0, steps=10)
newton_path = np.stack([np.asarray(x0), np.asarray(nb.newton.newton_step(f, x0))])
print(
    f"Newton: {int(newton.steps)} step(s) to ‖∇f‖∞ = {float(newton.grad_norm):.1e}, "
    f"x = {np.asarray(newton.params)}"
)
for name, xs in paths.items():
    print(f"{name:28s} f after 80 steps: {float(f(xs[-1])):.1e}")

# %% tags=["figure"]
g1, g2 = np.meshgrid(np.linspace(-10, 3, 300), np.linspace(-2.2, 2.2, 200))
F = np.asarray(jax.vmap(f)(jnp.stack([g1.ravel(), g2.ravel()], axis=1))).reshape(g1.shape)
fig, axes = plt.subplots(2, 4, figsize=(15, 6.2), sharex=True, sharey=True)
for ax, (name, xs) in zip(axes.flat, list(paths.items()) + [("Newton (one step)", newton_path)]):
    ax.contour(g1, g2, F, levels=np.geomspace(0.01, 5, 12), colors="gray", linewidths=0.6)
    ax.plot(xs[:, 0], xs[:, 1], ".-", ms=3, lw=1, color="C3")
    ax.plot(0, 0, "k*", ms=10)
    ax.set_title(name, fontsize=10)
ax = axes.flat[-1]
ax.remove()
ax = fig.add_subplot(2, 4, 8)
for name, xs in paths.items():
    ax.semilogy(np.asarray(jax.vmap(f)(jnp.asarray(xs))), label=name.split(",")[0])
ax.set(xlabel="step", ylabel="f(x)", title="loss per step", ylim=(1e-8, 10))
ax.legend(fontsize=7)
fig.suptitle(r"$f(x) = x_1^2/a^2 + x_2^2$, $a = 10$, 80 steps from $(-9, 1.5)$")
fig.tight_layout()
plt.show()

# %% [markdown]
# Gradient descent zigzags across the valley (the $x_2$ factor is $1 - 2\eta = -0.8$) and crawls
# along it; momentum and Nesterov build up speed along $x_1$; AdaGrad, RMSProp and Adam, which
# scale every coordinate separately, head almost straight for the minimum; Newton jumps there.
#
# ## 3. Learning-rate schedules and the convergence conditions
#
# With noisy (stochastic) gradients a constant learning rate leaves the iterate bouncing around the
# minimum. SGD converges if the rates satisfy
#
# $$\sum_{t=1}^\infty \alpha_t = \infty \quad\text{(you can travel any distance)},\qquad
# \sum_{t=1}^\infty \alpha_t^2 < \infty \quad\text{(the accumulated noise stays finite)}.$$
#
# The decreasing strategies of the course are $\alpha_t = \frac{\alpha}{1+\delta t}$
# (`nb.schedules.inverse_time`) and $\alpha_t = \frac{\alpha}{t^\delta}$ with $0.5 < \delta \le 1$
# (`nb.schedules.power`, with $t$ counted from 1), optionally after a constant phase (`hold`).
# `power` warns when the exponent breaks one of the conditions:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    schedules = {
        "constant 1": nb.schedules.constant(1.0),
        "inverse_time(1, δ = 0.05)": nb.schedules.inverse_time(1.0, 0.05),
        "power, δ = 0.4": nb.schedules.power(1.0, 0.4),
        "power, δ = 0.75": nb.schedules.power(1.0, 0.75),
        "power, δ = 1.0": nb.schedules.power(1.0, 1.0),
        "power, δ = 1.5": nb.schedules.power(1.0, 1.5),
        "power, δ = 0.75, hold = 100": nb.schedules.power(1.0, 0.75, hold=100),
    }
for w in caught:
    print("UserWarning:", w.message)

t = jnp.arange(100_000)
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for name, schedule in schedules.items():
    rates = np.asarray(schedule(t), np.float64)
    axes[0].loglog(t + 1, rates, label=name)
    axes[1].loglog(t + 1, np.cumsum(rates), label=name)
    axes[2].loglog(t + 1, np.cumsum(rates**2), label=name)
axes[0].set(xlabel="update t + 1", title=r"$\alpha_t$")
axes[1].set(xlabel="update t + 1", title=r"$\sum_{s \leq t}\alpha_s$: must diverge")
axes[2].set(xlabel="update t + 1", title=r"$\sum_{s \leq t}\alpha_s^2$: must stay finite")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The partial sums on a log–log plot: $\sum\alpha_t$ flattens for $\delta = 1.5$ (the optimizer can
# only travel a bounded distance), $\sum\alpha_t^2$ keeps growing for the constant rate and for
# $\delta = 0.4$ (noise keeps being injected; it grows like $t^{1-2\delta}$). $\delta = 0.75$ and
# $\delta = 1$ (and `inverse_time`) satisfy both.
#
# Now SGD with each schedule on the simplest stochastic problem: estimate the mean of
# $\xi \sim \mathcal N(\boldsymbol\mu, I)$ by minimizing $J(\boldsymbol\theta) = \mathbb E\,\tfrac12\|\boldsymbol\theta - \xi\|^2$,
# one sample $\xi_t$ per update (so $g_t = \boldsymbol\theta_t - \xi_t$ is an unbiased, noisy gradient).
# We start far away, run 100 independent chains (`vmap`) and plot the mean squared error
# $\mathbb E\|\boldsymbol\theta_t - \boldsymbol\mu\|^2$.

# %%
mu = jnp.array([3.0, -2.0])


def sample_loss(theta, xi):
    return 0.5 * jnp.sum((theta - xi) ** 2)


def sgd_chain(optimizer, key, steps=10_000):
    theta0 = jnp.array([-20.0, 20.0])
    noise = mu + jax.random.normal(key, (steps, 2))

    def step(carry, xi):
        theta, state = carry
        updates, state = optimizer.update(jax.grad(sample_loss)(theta, xi), state, theta)
        theta = optax.apply_updates(theta, updates)
        return (theta, state), jnp.sum((theta - mu) ** 2)

    return jax.lax.scan(step, (theta0, optimizer.init(theta0)), noise)[1]


keys = jax.random.split(jax.random.key(0), 100)
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, schedule in schedules.items():
    errors = jax.jit(jax.vmap(lambda k, s=schedule: sgd_chain(nb.optim.sgd(s), k)))(keys)
    mse = np.asarray(jnp.mean(errors, axis=0))
    ax.loglog(np.arange(1, len(mse) + 1), mse, label=f"{name}: final {mse[-1]:.1e}")
ax.set(
    xlabel="update",
    ylabel=r"$E\,\|\theta_t - \mu\|^2$",
    ylim=(1e-5, 2e3),
    title="SGD estimating a mean: which schedules converge",
)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The constant rate stalls at a noise floor (with $\alpha = 1$ here, $\theta_t$ is just the last
# sample); $\delta = 1.5$ stops short of the minimum because $\sum\alpha_t < \infty$; $\delta = 1$
# (with $\alpha_t = 1/t$, $\theta_t$ is exactly the running mean of the samples) converges at the
# optimal $1/t$ rate, $\delta = 0.75$ more slowly; $\delta = 0.4$ still creeps down on this easy
# problem, but it is not guaranteed to (the conditions are sufficient, not necessary).
#
# The constant $\alpha$ matters too: with $\alpha_t = \alpha/t$ the distance to the start shrinks only
# like $t^{-\alpha\mu}$ for curvature $\mu$. Try `power(0.1, 1.0)` above: on this problem ($\mu = 1$)
# it decays like $t^{-0.1}$, far slower than $\delta = 0.75$ — the reason for the course's advice
# to keep the rate fixed for the first updates (`hold`).
#
# ## 4. Local minima of a small network
#
# The loss of a neural network is not convex: there is no single global minimum (permuting hidden
# units gives the same function), and training can get stuck in local minima or plateaus. We train
# the XOR network `MLP((2, H, 2), relu, softmax)` by full-batch gradient descent from 64 different
# Glorot initializations. `nb.train.train_epoch` is a pure function of the training state, so
# all 64 runs are one `vmap`-ed, compiled program.

# %%
Xx, yx = (jnp.asarray(v) for v in nb.data.load("xor"))


def train_many(net, seeds=64, epochs=1000, learning_rate=0.5):
    """Training-loss curves (seeds, epochs) of `net` from `seeds` initializations."""
    opt = nb.optim.sgd(learning_rate)
    keys = jax.random.split(jax.random.key(0), seeds)
    states = jax.vmap(lambda k: nb.train.init_state(net.init(k), opt, k))(keys)

    def run(state):
        def epoch(s, _):
            s, metrics = nb.train.train_epoch(s, Xx, yx, net=net, optimizer=opt, batch_size=4)
            return s, metrics["train_loss"]

        return jax.lax.scan(epoch, state, length=epochs)

    final, losses = jax.jit(jax.vmap(run))(states)
    return final, np.asarray(losses)


curves = {H: train_many(nb.MLP((2, H, 2), hidden="relu", output="softmax")) for H in (2, 8)}

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, (H, (_, losses)) in zip(axes, curves.items()):
    solved = losses[:, -1] < 0.05
    for curve, ok in zip(losses, solved):
        ax.semilogy(curve, color="C2" if ok else "C3", alpha=0.35, lw=1)
    ax.set(
        xlabel="epoch",
        ylabel="training loss",
        ylim=(1e-3, 1.5),
        title=f"H = {H} hidden relu units: {solved.mean():.0%} of 64 runs solve XOR",
    )
bins = np.linspace(0, 0.75, 31)
for H, (_, losses) in curves.items():
    axes[2].hist(losses[:, -1], bins=bins, alpha=0.6, label=f"H = {H}")
# Mean NLL of the 4 points when some of them get the same output (the net cannot tell them apart).
plateaus = {
    "all 4 points at p = ½": np.log(2),
    "2 points at p = ½": np.log(2) / 2,
    "3 points lumped, p = ⅔": -(2 * np.log(2 / 3) + np.log(1 / 3)) / 4,
}
for what, level in plateaus.items():
    axes[2].axvline(level, color="gray", ls=":")
    axes[2].text(level, 40, " " + what, fontsize=8, rotation=90, va="bottom")
axes[2].set(xlabel="final training loss", ylabel="runs", title="where the 64 runs end")
axes[2].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# With two hidden units, many runs end in a local minimum or on a plateau: once a relu unit is
# "dead" (negative pre-activation on all four points, so zero gradient) or cannot separate some
# points, the network gives those points the same output, and the best it can do is the class
# frequency among them — the plateaus marked in the histogram ($p = ½$ for two or four lumped points,
# $p = ⅔$ for three). With
# eight hidden units (an over-parametrized network) almost every initialization reaches the global
# minimum — one reason why wide networks are easier to train.
