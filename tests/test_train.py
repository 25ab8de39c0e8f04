"""nb.fit: epochs, minibatches, early stopping, divergence, compilation, devices, bad input."""

import os
import subprocess
import sys
import textwrap
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnbasics as nb
from nnbasics import train
from nnbasics.train import _epoch as _train_epoch


@pytest.fixture(scope="module")
def iris():
    X, y = nb.data.load("iris")
    (Xt, yt), (Xv, yv), _ = nb.data.split(
        jax.random.PRNGKey(0), X, y, valid=0.2, test=0.2, stratify=True
    )
    stats = nb.data.Standardizer.fit(Xt)
    return (np.asarray(nb.data.transform(stats, Xt), np.float64), yt), (
        np.asarray(nb.data.transform(stats, Xv), np.float64),
        yv,
    )


NET = nb.MLP((4, 8, 3), hidden="tanh", output="softmax")


def params64(net=NET, seed=0):
    return net.init(jax.random.PRNGKey(seed), jnp.float64)


@pytest.mark.parametrize("batch_size", [1, 7, 10, None])
def test_epoch_is_the_documented_minibatch_loop(iris, batch_size):
    """Two epochs of fit equal a plain Python loop over the same permutation."""
    (X, y), _ = iris
    X, y = X[:23], y[:23]
    n = len(X)
    opt = nb.optim.momentum(0.05, beta=0.9)
    key = jax.random.PRNGKey(3)
    result = nb.fit(NET, params64(), opt, (X, y), epochs=2, batch_size=batch_size, key=key)

    B = n if batch_size is None else batch_size
    params, state, seen = params64(), opt.init(params64()), []
    for _ in range(2):
        key, sub = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(sub, n))
        seen.append(np.sort(perm))
        for start in range(0, n, B):
            idx = perm[start : start + B]
            _, g = NET.backprop(params, jnp.asarray(X[idx]), jnp.asarray(y[idx]))
            updates, state = opt.update(g, state, params)
            params = optax.apply_updates(params, updates)
    chex.assert_trees_all_close(result.params, params, rtol=1e-12, atol=0)
    for s in seen:  # every example exactly once per epoch, the partial batch included
        np.testing.assert_array_equal(s, np.arange(n))
    assert result.history["train_loss"].shape == (2,)


@pytest.mark.parametrize("optimizer", [nb.optim.adam(1e-2), optax.adam(1e-2), optax.sgd(0.1)])
def test_manual_and_auto_gradients_train_identically(iris, optimizer):
    train_set, valid = iris
    kw = dict(epochs=5, batch_size=16, key=jax.random.PRNGKey(1), valid=valid, l2=1e-3, l1=1e-4)
    manual = nb.fit(NET, params64(), optimizer, train_set, grad="manual", **kw)
    auto = nb.fit(NET, params64(), optimizer, train_set, grad="auto", **kw)
    chex.assert_trees_all_close(manual.params, auto.params, rtol=1e-10, atol=0)
    np.testing.assert_allclose(manual.history["train_loss"], auto.history["train_loss"], rtol=1e-10)


def test_training_learns_and_reports_history(iris):
    train_set, valid = iris
    r = nb.fit(
        NET,
        params64(),
        nb.optim.adam(0.05),
        train_set,
        epochs=40,
        batch_size=16,
        key=jax.random.PRNGKey(0),
        valid=valid,
    )
    assert set(r.history) == {"train_loss", "valid_loss", "valid_accuracy"}
    assert all(v.shape == (40,) for v in r.history.values())
    assert r.history["train_loss"][-1] < 0.3 * r.history["train_loss"][0]
    assert r.history["valid_accuracy"][r.best_epoch] >= 0.9
    loss, acc = train.metrics(NET, r.params, *map(jnp.asarray, valid))
    np.testing.assert_allclose(loss, r.history["valid_loss"][r.best_epoch], rtol=1e-12)


def test_early_stopping_returns_the_argmin_of_the_validation_loss(iris):
    (X, y), valid = iris
    net = nb.MLP((4, 64, 3), hidden="relu", output="softmax")
    # A tiny training set and a large step overfit quickly, so patience runs out.
    r = nb.fit(
        net,
        params64(net),
        nb.optim.adam(0.1),
        (X[:12], y[:12]),
        epochs=300,
        batch_size=4,
        key=jax.random.PRNGKey(0),
        valid=valid,
        patience=5,
    )
    v = r.history["valid_loss"]
    assert r.stopped_early and len(v) < 300
    assert r.best_epoch == int(np.argmin(v))
    assert len(v) == r.best_epoch + 1 + 5
    loss, _ = train.metrics(net, r.params, *map(jnp.asarray, valid))
    np.testing.assert_allclose(loss, v.min(), rtol=1e-12)


def test_patience_running_out_on_the_last_epoch_is_not_an_early_stop(iris):
    train_set, valid = iris
    kw = dict(batch_size=32, key=jax.random.PRNGKey(0), valid=valid, patience=0, min_delta=10.0)
    r = nb.fit(NET, params64(), nb.optim.sgd(0.01), train_set, epochs=2, **kw)
    assert len(r.history["valid_loss"]) == 2 and not r.stopped_early
    r = nb.fit(NET, params64(), nb.optim.sgd(0.01), train_set, epochs=3, **kw)
    assert len(r.history["valid_loss"]) == 2 and r.stopped_early


def test_min_delta_counts_only_real_improvements(iris):
    train_set, valid = iris
    r = nb.fit(
        NET,
        params64(),
        nb.optim.sgd(0.01),
        train_set,
        epochs=50,
        batch_size=32,
        key=jax.random.PRNGKey(0),
        valid=valid,
        patience=0,
        min_delta=10.0,
    )
    # No decrease can exceed 10 nats, so the first epoch stays best and the run stops at once.
    assert r.best_epoch == 0 and len(r.history["valid_loss"]) == 2 and r.stopped_early


def test_divergence_stops_with_the_last_finite_parameters():
    X = np.linspace(-1, 1, 40).reshape(-1, 1) * 100
    y = 3 * X
    net = nb.MLP((1, 4, 1), hidden="linear", output="linear")
    p = net.init(jax.random.PRNGKey(0), jnp.float64)
    kw = dict(batch_size=40, key=jax.random.PRNGKey(0))
    with pytest.warns(RuntimeWarning, match="diverged in epoch"):
        r = nb.fit(net, p, nb.optim.sgd(1.0), (X, y), epochs=200, **kw)
    assert r.diverged and not r.stopped_early
    done = len(r.history["train_loss"])
    assert 0 < done < 200 and np.all(np.isfinite(r.history["train_loss"]))
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(r.params))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        last_finite = nb.fit(net, p, nb.optim.sgd(1.0), (X, y), epochs=done, **kw)
    chex.assert_trees_all_equal(r.params, last_finite.params)


def test_one_compilation_for_all_epochs_and_one_call_per_epoch(iris, monkeypatch):
    traces = []
    real = train.train_epoch
    # compile_epoch looks train_epoch up in its own module
    monkeypatch.setattr(
        _train_epoch, "train_epoch", lambda *a, **k: traces.append(1) or real(*a, **k)
    )
    calls = []
    train_set, valid = iris
    nb.fit(
        NET,
        params64(),
        nb.optim.adam(1e-2),
        train_set,
        epochs=6,
        batch_size=10,
        key=jax.random.PRNGKey(0),
        valid=valid,
        callback=lambda e, m: calls.append(e),
    )
    assert len(traces) == 1  # traced once: no recompilation between epochs
    assert calls == list(range(6))  # one compiled call (and one host sync) per epoch
    # The same optimizer object and configuration reuse the compiled epoch.
    opt = nb.optim.sgd(0.1)
    for _ in range(2):
        nb.fit(NET, params64(), opt, train_set, epochs=2, batch_size=10, key=jax.random.PRNGKey(0))
    assert len(traces) == 2


def test_epoch_donates_the_state(iris):
    (X, y), _ = iris
    opt = nb.optim.adam(1e-2)
    state = train.init_state(params64(), opt, jax.random.PRNGKey(0))
    epoch = train.compile_epoch(NET, opt, batch_size=16)
    new, _ = epoch(state, jnp.asarray(X), jnp.asarray(y), None, None)
    assert all(leaf.is_deleted() for leaf in jax.tree.leaves(state.params))
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(new.params))


def test_fit_leaves_the_callers_parameters_alone(iris):
    train_set, _ = iris
    p = params64()
    nb.fit(NET, p, nb.optim.sgd(0.1), train_set, epochs=2, batch_size=8, key=jax.random.PRNGKey(0))
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(p))


def test_stopped_runs_freeze_inside_a_compiled_loop(iris):
    """Early stopping inside lax.scan under vmap: each run stops on its own."""
    (X, y), (Xv, yv) = iris
    X, y, Xv, yv = map(jnp.asarray, (X, y, Xv, yv))

    def run(lr):
        opt = nb.optim.sgd(lr)
        state = train.init_state(params64(), opt, jax.random.PRNGKey(0))
        step = lambda s, _: train.train_epoch(
            s, X, y, Xv, yv, net=NET, optimizer=opt, batch_size=30, patience=2, min_delta=0.05
        )
        state, m = jax.lax.scan(step, state, None, length=30)
        return state.best_epoch, m["stopped"]

    best, stopped = jax.jit(jax.vmap(run))(jnp.array([1e-4, 0.3]))
    stop_epochs = np.argmax(np.asarray(stopped), axis=1)
    assert stop_epochs[0] != stop_epochs[1] and np.asarray(stopped)[:, -1].all()


def test_data_parallel_training_equals_single_device():
    code = textwrap.dedent("""
        import chex, jax, jax.numpy as jnp, numpy as np, nnbasics as nb
        from jax.sharding import Mesh
        assert len(jax.devices()) == 4
        X, y = nb.data.load("digits", n=300)
        X = X / 16.0
        net = nb.MLP((64, 32, 10), hidden="relu", output="softmax")
        p = net.init(jax.random.PRNGKey(0))
        mesh = Mesh(np.array(jax.devices()), ("data",))
        for bs in (64, 50):
            kw = dict(epochs=3, batch_size=bs, key=jax.random.PRNGKey(1), valid=(X[:60], y[:60]))
            one = nb.fit(net, p, nb.optim.adam(1e-2), (X, y), **kw)
            four = nb.fit(net, p, nb.optim.adam(1e-2), (X, y), mesh=mesh, **kw)
            chex.assert_trees_all_close(one.params, four.params, rtol=1e-5, atol=1e-6)
            assert len(four.params[0]["W"].sharding.device_set) == 4
        # The minibatch really is split: the compiled epoch all-reduces the gradients.
        from nnbasics import train
        from jax.sharding import NamedSharding, PartitionSpec as P
        opt = nb.optim.adam(1e-2)
        state = jax.device_put(train.init_state(p, opt, jax.random.PRNGKey(0)), NamedSharding(mesh, P()))
        f = train.compile_epoch(net, opt, batch_size=64, batch_sharding=NamedSharding(mesh, P("data")))
        hlo = f.lower(state, jnp.asarray(X), jnp.asarray(y), None, None).compile().as_text()
        assert "all-reduce" in hlo
        print("OK")
    """)
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout


# --- bad input, rejected before any work


@pytest.fixture
def no_work(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(_train_epoch, "train_epoch", boom)


def _bad_cases(X, y):
    Xnan = X.copy()
    Xnan[3, 1] = np.nan
    Xinf = X.copy()
    Xinf[0, 0] = np.inf
    y_big = y.copy()
    y_big[0] = 3
    y_neg = y.copy()
    y_neg[0] = -1
    return [
        (dict(train=(Xnan, y)), r"train\[0\] \(X\): expected finite"),
        (dict(train=(Xinf, y)), r"train\[0\] \(X\): expected finite"),
        (dict(train=(X, y_big)), r"train\[1\] \(y\): expected labels"),
        (dict(train=(X, y_neg)), r"train\[1\] \(y\): expected labels"),
        (dict(train=(X, y.astype(np.float64))), r"train\[1\] \(y\): expected integer"),
        (dict(train=(X, y[:-1])), r"train\[1\] \(y\): expected \d+ rows"),
        (dict(train=(X[:, :3], y)), r"train\[0\] \(X\): expected 4 features"),
        (dict(valid=(X[:, :2], y)), r"valid\[0\] \(X\): expected 4 features"),
        (dict(train=X), r"train: expected a pair \(X, y\)"),
        (dict(batch_size=0), "batch_size: expected an integer from 1"),
        (dict(batch_size=len(X) + 1), "batch_size: expected an integer from 1"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(epochs=0), "epochs: expected a positive integer"),
        (dict(patience=-1), "patience: expected a non-negative integer"),
        (dict(patience=3, valid=None), "patience: expected None when no valid"),
        (dict(grad="symbolic"), "grad: expected one of 'manual', 'auto'"),
        (dict(optimizer="adam"), "optimizer: expected an optax.GradientTransformation"),
        (dict(l2=-1.0), "l2: expected a real number"),
        (dict(l1=float("nan")), "l1: expected a real number"),
        (dict(min_delta=-0.1), "min_delta"),
        (dict(net="mlp"), "net: expected an nnbasics.MLP"),
        (dict(resume=True), "resume: expected False unless checkpoint_dir"),
        (dict(checkpoint_dir=__file__), "checkpoint_dir: expected a directory"),
    ]


def test_bad_input_is_rejected_before_any_work(iris, no_work):
    (X, y), valid = iris
    for change, match in _bad_cases(X, y):
        kw = dict(
            net=NET,
            params=params64(),
            optimizer=nb.optim.sgd(0.1),
            train=(X, y),
            epochs=3,
            batch_size=8,
            key=jax.random.PRNGKey(0),
            valid=valid,
        )
        kw.update(change)
        with pytest.raises(ValueError, match=match):
            nb.fit(kw.pop("net"), kw.pop("params"), kw.pop("optimizer"), kw.pop("train"), **kw)


def test_bad_params_are_rejected(iris, no_work):
    (X, y), _ = iris
    wrong = nb.MLP((4, 5, 3)).init(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"params\[0\]\['W'\]: expected shape \(4, 8\)"):
        nb.fit(NET, wrong, nb.optim.sgd(0.1), (X, y), epochs=1, key=jax.random.PRNGKey(0))


@pytest.mark.parametrize(
    ("output", "y_kind"),
    [("sigmoid", "binary"), ("linear", "real"), ("gaussian", "real"), ("mixture", "real")],
)
def test_every_output_unit_trains(output, y_kind):
    X, labels = nb.data.load("blobs")
    X = (X - X.mean(0)) / X.std(0)
    y = np.eye(3)[labels] if y_kind == "binary" else X[:, :1] ** 2
    net = nb.MLP((2, 16, y.shape[1]), hidden="tanh", output=output, components=2)
    r = nb.fit(
        net,
        net.init(jax.random.PRNGKey(0)),
        nb.optim.adam(1e-2),
        (X, y),
        epochs=30,
        batch_size=50,
        key=jax.random.PRNGKey(1),
        valid=(X, y),
    )
    assert r.history["valid_loss"][-1] < r.history["valid_loss"][0]
    assert np.isnan(r.history["valid_accuracy"]).all() == (y_kind == "real")


# --- mixed precision


@pytest.mark.parametrize("compute_dtype", [jnp.bfloat16, "float16"])
def test_mixed_precision_keeps_float32_master_weights(iris, compute_dtype):
    train_set, valid = iris
    p32 = jax.tree.map(lambda a: a.astype(jnp.float32), params64())
    kw = dict(epochs=30, batch_size=16, key=jax.random.PRNGKey(0), valid=valid)
    full = nb.fit(NET, p32, nb.optim.adam(1e-2), train_set, **kw)
    mixed = nb.fit(NET, p32, nb.optim.adam(1e-2), train_set, compute_dtype=compute_dtype, **kw)
    chex.assert_trees_all_equal_dtypes(mixed.params, p32)
    chex.assert_trees_all_equal_dtypes(mixed.state.opt_state, full.state.opt_state)
    assert not np.array_equal(mixed.history["train_loss"], full.history["train_loss"])
    # Same run to low precision's rounding: the losses agree to a few percent.
    np.testing.assert_allclose(
        mixed.history["valid_loss"][:10], full.history["valid_loss"][:10], rtol=0.05
    )


def test_bad_compute_dtype_is_rejected(iris):
    with pytest.raises(ValueError, match=r"^compute_dtype: expected one of None, 'bfloat16'"):
        nb.fit(
            NET,
            params64(),
            nb.optim.sgd(0.1),
            iris[0],
            epochs=1,
            key=jax.random.PRNGKey(0),
            compute_dtype="int8",
        )


def test_float16_divergence_names_epsilon(iris):
    train_set, _ = iris
    p16 = jax.tree.map(lambda a: a.astype(jnp.float16), params64())
    with pytest.warns(RuntimeWarning, match="eps=1e-8 is 0 in float16"):
        r = nb.fit(
            NET,
            p16,
            nb.optim.adam(1e-2),
            train_set,
            epochs=3,
            batch_size=16,
            key=jax.random.PRNGKey(0),
        )
    assert r.diverged
