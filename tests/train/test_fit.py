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
from nnbasics.train import _buckets
from tests._helpers.compiles import count_compilations
from tests._helpers.train import BUCKETS_RTOL, NET, X4, XOR_NET, Y4, fit_iris, iris_sample, params64


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


def test_fit_leaves_the_callers_parameters_alone(iris):
    train_set, _ = iris
    p = params64()
    nb.fit(NET, p, nb.optim.sgd(0.1), train_set, epochs=2, batch_size=8, key=jax.random.PRNGKey(0))
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(p))


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
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout


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


# ------------------------------------------------------------------ fit's divergence warning

HINTS = {
    # docs/optimizers.md: float16's eps of Adam (1e-8) is 0; bfloat16 keeps 8 bits of
    # mantissa, so small updates round away (float32 master weights instead); float16
    # overflows above 65504 where bfloat16 has float32's range.
    ("float16", None): "; float16 parameters: Adam's default eps=1e-8 is 0 in float16 (smallest "
    "normal 6e-5, largest 65504) and steps overflow or vanish — train float32 parameters with "
    "compute_dtype=float16 (master weights), or raise eps to 1e-4",
    ("bfloat16", None): "; bfloat16 parameters keep 8 bits of mantissa, so small steps round "
    "away — train float32 parameters with compute_dtype=bfloat16 (master weights)",
    ("float32", "float16"): "; compute_dtype=float16 overflows above 65504: lower the learning "
    "rate, or use bfloat16 (float32's range)",
    ("float32", "bfloat16"): "",
    ("float32", None): "",
}


@pytest.mark.parametrize(("dtype", "compute_dtype"), HINTS)
def test_the_divergence_warning_names_the_low_precision_cause(dtype, compute_dtype):
    hint = nb.train._fit._precision_hint(
        jnp.dtype(dtype), compute_dtype and jnp.dtype(compute_dtype)
    )
    assert hint == HINTS[dtype, compute_dtype]


def test_a_zero_sample_weight_leaves_its_example_out():
    # fit's docstring: each minibatch's loss is the weighted mean Σ sᵢ nllᵢ / Σ sᵢ, so one
    # full batch with weights (1, 1, 1, 0) is the full batch of the first three examples.
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    kw = dict(epochs=3, key=jax.random.key(1))
    weighted = nb.fit(
        XOR_NET, params, nb.optim.sgd(0.5), (X4, Y4), sample_weight=[1, 1, 1, 0], **kw
    )
    three = nb.fit(XOR_NET, params, nb.optim.sgd(0.5), (X4[:3], Y4[:3]), **kw)
    for a, b in zip(jax.tree.leaves(weighted.params), jax.tree.leaves(three.params)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_sample_weights_of_any_dtype_share_the_epoch_program(fresh_programs):
    # The weights are taken in the parameters' dtype before the epoch: int, float32 and
    # float64 weights run one compiled epoch, and a float32 run stays float32.
    params = XOR_NET.init(jax.random.key(0), jnp.float32)
    kw = dict(epochs=2, key=jax.random.key(1))
    runs = []
    with count_compilations() as c:
        for weights in ([1, 1, 1, 0], np.float32([1, 1, 1, 0]), np.float64([1, 1, 1, 0])):
            runs.append(
                nb.fit(XOR_NET, params, nb.optim.sgd(0.5), (X4, Y4), sample_weight=weights, **kw)
            )
    assert [name for _, name in c.programs].count("jit(epoch)") == 1
    for run in runs:
        for a, b in zip(jax.tree.leaves(run.params), jax.tree.leaves(runs[0].params)):
            assert a.dtype == jnp.float32
            np.testing.assert_array_equal(a, b)


def test_without_a_validation_split_the_history_holds_the_training_loss_alone():
    # FitResult's docstring: "valid_loss" and "valid_accuracy" only with valid.
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    result = nb.fit(XOR_NET, params, nb.optim.sgd(0.5), (X4, Y4), epochs=3, key=jax.random.key(1))
    assert list(result.history) == ["train_loss"] and len(result.history["train_loss"]) == 3
    assert result.best_epoch == 2


def test_a_checkpointed_fit_records_l1_and_refuses_to_resume_with_another(tmp_path):
    # fit's docstring: a resume must be the same run, its settings compared field by field.
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    kw = dict(batch_size=2, key=jax.random.key(1), checkpoint_dir=tmp_path)
    nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), epochs=1, l1=0.01, **kw)
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), epochs=2, l1=0.02, resume=True, **kw)
    assert "has l1 = 0.01, this run asks for 0.02 (resume" in str(e.value)


def test_overwrite_replaces_an_existing_checkpoint(tmp_path):
    # fit's docstring: overwrite=True replaces a checkpoint already in checkpoint_dir.
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    kw = dict(epochs=1, batch_size=2, key=jax.random.key(1), checkpoint_dir=tmp_path)
    nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), **kw)
    result = nb.fit(XOR_NET, params, nb.optim.sgd(0.2), (X4, Y4), overwrite=True, **kw)
    assert result.resumed_from is None


def test_fit_on_a_one_device_mesh_equals_fit_without_one():
    # fit's docstring: mesh, a 1-D Mesh with axis "data", for data-parallel training; on
    # one device that is the same run.
    from jax.sharding import Mesh

    # A mesh trains the rows as they are, not padded to a row bucket: the same bits as
    # an unpadded fit, and the padded default to the buckets' tolerance (a padded mean
    # may sum in another order: tests/train/test_buckets.py).
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    kw = dict(epochs=2, batch_size=2, key=jax.random.key(1), valid=(X4, Y4))
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    padded = nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), **kw)
    with _buckets.enabled(False):
        plain = nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), **kw)
    meshed = nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), mesh=mesh, **kw)
    fits = [jax.tree.leaves((f.params, f.history)) for f in (plain, meshed, padded)]
    for a, b, c in zip(*fits, strict=True):
        np.testing.assert_array_equal(a, b, strict=True)
        np.testing.assert_allclose(c, b, rtol=BUCKETS_RTOL, strict=True)


def test_the_callback_gets_each_epochs_metrics_as_python_floats():
    # fit's docstring: callback(epoch, metrics) after each epoch, metrics a dict of Python
    # floats (the history's values of that epoch).
    seen = []
    kw = dict(epochs=2, key=jax.random.key(1), valid=(X4, Y4))
    result = nb.fit(
        XOR_NET,
        XOR_NET.init(jax.random.key(0)),
        nb.optim.sgd(0.1),
        (X4, Y4),
        callback=lambda e, m: seen.append((e, m)),
        **kw,
    )
    assert [e for e, _ in seen] == [0, 1]
    for e, m in seen:
        assert all(type(m[k]) is float for k in ("train_loss", "valid_loss", "valid_accuracy"))
        for k, values in result.history.items():
            assert m[k] == values[e]


@pytest.mark.parametrize("output", ["softmax", "linear"])
def test_mixed_precision_takes_the_step_in_bfloat16_and_updates_float32(output):
    # fit's and train_epoch's docstrings: compute_dtype runs the forward and backward pass
    # on the parameters, data (and real targets) cast to it, the gradients cast back, and
    # the optimizer updates the float32 master weights. One example, one step of SGD, against
    # that step taken by hand in bfloat16: equal to bfloat16's rounding (the compiled step
    # keeps some intermediates in float32), far closer than the 0.01 the l1 term moves.
    net = nb.MLP((2, 3, 2), hidden="tanh", output=output)
    X, y = X4[1:2], (Y4[1:2] if output == "softmax" else X4[1:2] * 3.0 + 0.3)
    params = net.init(jax.random.key(0), jnp.float32)
    l2, l1, low = 1e-2, 0.1, jnp.bfloat16
    result = nb.fit(
        net,
        params,
        nb.optim.sgd(0.1),
        (X, y),
        epochs=1,
        key=jax.random.key(1),
        grad="auto",
        l2=l2,
        l1=l1,
        compute_dtype=low,
    )

    cast = lambda a: jnp.asarray(a).astype(low)
    target = jnp.asarray(y) if output == "softmax" else cast(y)
    J, g = jax.jit(jax.value_and_grad(net.loss))(
        jax.tree.map(cast, params), cast(X), target, l2, l1
    )
    expected = jax.tree.map(lambda p, gi: p - 0.1 * gi.astype(jnp.float32), params, g)
    for a, b in zip(jax.tree.leaves(result.params), jax.tree.leaves(expected)):
        assert a.dtype == jnp.float32
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-3)
    np.testing.assert_allclose(result.history["train_loss"], [float(J)], rtol=1e-2)


def test_manual_gradients_are_the_networks_backprop(monkeypatch):
    # fit's module docstring: grad="manual" steps with net.backprop, grad="auto" with
    # jax.value_and_grad(net.loss). (A network of its own, so the epoch is traced anew.)
    net = nb.MLP((2, 5, 2), hidden="relu", output="softmax")
    calls = []
    backprop = nb.MLP.backprop
    monkeypatch.setattr(
        nb.MLP, "backprop", lambda self, *a, **k: calls.append(1) or backprop(self, *a, **k)
    )
    params = net.init(jax.random.key(0))
    for grad, expected in (("auto", []), ("manual", [1])):
        nb.fit(
            net,
            params,
            nb.optim.sgd(0.1),
            (X4, Y4),
            epochs=1,
            batch_size=3,
            key=jax.random.key(1),
            grad=grad,
        )
        assert calls == expected


# --- divergence seen through the parameters, the loss still finite


def _poison_at_step(k):
    """SGD at 0.1 whose update at step k is +inf: the loss of that step (taken before
    the update) is finite, only the parameters after it are not."""

    def init(params):
        return jnp.zeros((), jnp.int32)

    def update(grads, count, params=None):
        bad = count == k
        updates = jax.tree.map(lambda g: jnp.where(bad, jnp.inf, -0.1 * g), grads)
        return updates, count + 1

    return optax.GradientTransformation(init, update)


def test_non_finite_parameters_with_a_finite_loss_are_divergence():
    X, y = iris_sample(12)
    params = NET.init(jax.random.key(0), jnp.float64)
    kw = dict(batch_size=None, key=jax.random.key(1))  # one update per epoch
    one = nb.fit(NET, params, _poison_at_step(1), (X, y), epochs=1, **kw)
    with pytest.warns(RuntimeWarning, match=r"diverged in epoch 1 .*after epoch 0"):
        r = nb.fit(NET, params, _poison_at_step(1), (X, y), epochs=4, **kw)
    assert r.diverged and not r.stopped_early
    assert len(r.history["train_loss"]) == 1 and r.best_epoch == 0
    assert np.isfinite(r.history["train_loss"]).all()
    chex.assert_tree_all_finite(r.params)
    chex.assert_trees_all_equal(r.params, one.params)  # the last finite ones, epoch 0's


def test_non_finite_parameters_in_the_first_epoch_return_the_initial_ones():
    X, y = iris_sample(12)
    params = NET.init(jax.random.key(0), jnp.float64)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = nb.fit(NET, params, _poison_at_step(0), (X, y), epochs=1, key=jax.random.key(1))
    assert r.diverged and r.best_epoch == -1 and len(r.history["train_loss"]) == 0
    chex.assert_trees_all_equal(r.params, params)
    assert any("no finite epoch" in str(w.message) for w in seen)


# --- what nb.fit compiles


def test_second_fit_with_an_equal_new_optimizer_compiles_nothing(iris32):
    fit_iris(iris32, nb.optim.adam(1e-2))
    with count_compilations() as c:
        fit_iris(iris32, nb.optim.adam(1e-2))
    assert c.count == 0


def test_learning_rate_and_l2_sweep_compiles_once(iris32):
    fit_iris(iris32, nb.optim.adam(1e-2), l2=1e-3)
    with count_compilations() as c:
        results = [
            fit_iris(iris32, nb.optim.adam(lr), l2=l2)
            for lr in (3e-3, 1e-2, 3e-2)
            for l2 in (1e-4, 1e-3)
        ]
    assert c.count == 0
    losses = {float(r.history["train_loss"][-1]) for r in results}
    assert len(losses) == 6  # each run really used its own numbers


# ------------------------------------------------ nb.fit(monitor="valid_accuracy")


def _fit(monitor, patience=None, epochs=25):
    X, y = nb.data.load("iris")
    stats = nb.data.Standardizer.fit(X)
    X = np.asarray(nb.data.transform(stats, X))
    train, valid, _ = nb.data.split(jax.random.key(0), X, y, valid=0.3, test=0.0, stratify=True)
    net = nb.MLP((4, 8, 3))
    return (
        nb.fit(
            net,
            net.init(jax.random.key(1)),
            nb.optim.sgd(0.05),
            train,
            epochs=epochs,
            batch_size=16,
            key=jax.random.key(2),
            valid=valid,
            patience=patience,
            monitor=monitor,
        ),
        net,
        valid,
    )


def test_valid_accuracy_monitor_keeps_the_best_and_stops_after_patience():
    r, net, valid = _fit("valid_accuracy", patience=3, epochs=200)
    accuracy = r.history["valid_accuracy"]
    assert r.best_epoch == int(np.argmax(accuracy))  # the first epoch of the best accuracy
    # The kept parameters are that epoch's: their accuracy is the best one.
    _, kept = nb.train.metrics(net, r.params, *valid)
    assert float(kept) == pytest.approx(accuracy.max())
    # Patience counts epochs without a better accuracy, whatever the loss does.
    assert r.stopped_early and len(accuracy) == r.best_epoch + 1 + 3
    assert int(np.argmin(r.history["valid_loss"])) != r.best_epoch


def test_fit_from_state_is_fit_without_building_the_state_again(monkeypatch):
    from nnbasics.train import _fit

    opt = nb.optim.adam(0.05)
    k_init, k_train = jax.random.split(jax.random.key(3))
    kw = dict(epochs=4, batch_size=3, valid=(X4, Y4), patience=2)
    expected = nb.fit(XOR_NET, XOR_NET.init(k_init, jnp.float64), opt, (X4, Y4), key=k_train, **kw)
    built = []
    monkeypatch.setattr(_fit, "init_state", lambda *a: built.append(a) or train.init_state(*a))
    state = train.start_state(XOR_NET, opt, 3, jnp.float64)
    got = _fit.fit_from_state(XOR_NET, state, opt, (X4, Y4), **kw)
    assert built == []
    chex.assert_trees_all_equal(got.params, expected.params)
    chex.assert_trees_all_equal(got.state, expected.state)
    chex.assert_trees_all_equal(got.history, expected.history)
    # a plain fit after it builds its own state again
    nb.fit(XOR_NET, XOR_NET.init(k_init, jnp.float64), opt, (X4, Y4), key=k_train, **kw)
    assert len(built) == 1


def _xor_fit(**kwargs):
    """``nb.fit`` of XOR_NET on XOR by SGD, from fixed keys."""
    params = XOR_NET.init(jax.random.key(0))
    return nb.fit(XOR_NET, params, nb.optim.sgd(0.1), (X4, Y4), key=jax.random.key(1), **kwargs)


def test_processes_agree_on_the_epochs_and_the_checkpointing_before_training(monkeypatch):
    # Several processes compare these before any collective (a peer with other epochs
    # would wait forever in the epoch it does not run).
    from nnbasics import distributed

    class Stop(Exception):
        pass

    seen = []

    def agree(fields, **kwargs):
        seen.append(fields)
        raise Stop

    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(distributed, "agree", agree)
    with pytest.raises(Stop):
        _xor_fit(epochs=3)
    assert seen[0]["epochs"] == 3
    assert seen[0]["checkpointing"] is False


def test_processes_wait_for_the_last_checkpoint_at_a_barrier_named_for_it(monkeypatch, tmp_path):
    # The name is what a timed-out barrier's error shows ("not every process reached ...").
    from nnbasics import distributed

    barriers = []
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(distributed, "agree", lambda fields, **kwargs: None)
    monkeypatch.setattr(distributed, "barrier", barriers.append)
    _xor_fit(epochs=2, checkpoint_dir=tmp_path)
    assert barriers == ["fit's last checkpoint written"]
    assert nb.checkpoint.exists(tmp_path)
