"""The compiled epoch: the minibatch loop, evaluation and metrics, and what compiles how often."""

import threading

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnbasics as nb
from nnbasics import train
from nnbasics.train import _epoch as _train_epoch
from nnbasics.train import init_state
from tests._helpers.compiles import count_compilations
from tests._helpers.train import NET, RELU_NET, X4, XOR_NET, Y4, fit_iris, iris_sample, params64


def test_program_inputs_give_the_same_run_as_constants(iris32):
    """A learning rate passed as a program input trains exactly as one compiled in."""
    (X, y), _ = iris32
    opt = nb.optim.sgd(0.1)
    state = train.init_state(RELU_NET.init(jax.random.key(0)), opt, jax.random.key(1))
    constant = jax.jit(
        lambda s: train.train_epoch(
            s, X, y, net=RELU_NET, optimizer=opt, batch_size=16, freeze=False
        )
    )
    expected, _ = constant(state)
    state = train.init_state(RELU_NET.init(jax.random.key(0)), opt, jax.random.key(1))
    got, _ = train.compile_epoch(RELU_NET, opt, batch_size=16, freeze=False)(state, X, y)
    chex.assert_trees_all_equal(expected.params, got.params)


def test_programs_cache_stays_bounded(iris32):
    """Hundreds of fits with new (unequal) optax optimizers keep a bounded cache."""
    for _ in range(_train_epoch._PROGRAMS_SIZE + 10):
        fit_iris(iris32, optax.sgd(0.1), epochs=1)
    # Full, and no fuller: the cache holds _PROGRAMS_SIZE programs.
    assert len(_train_epoch._PROGRAMS) == _train_epoch._PROGRAMS_SIZE


def test_evaluate_is_one_program_and_equals_metrics(iris32, fresh_programs):
    (X, y), (Xv, yv) = iris32
    params = RELU_NET.init(jax.random.key(0))
    with count_compilations() as c:
        both = train.evaluate(RELU_NET, params, (X, y), (Xv, yv))
    assert c.count == 1
    for got, pair in zip(both, ((X, y), (Xv, yv))):
        # float32 means summed in another order: equal to float32 rounding.
        np.testing.assert_allclose(got, train.metrics(RELU_NET, params, *pair), rtol=1e-6)


@pytest.mark.parametrize(
    ("net", "solver", "dtype"),
    [
        (nb.MLP((4, 5, 3), hidden="tanh"), "adam", "float32"),
        (nb.MLP((4, 5, 3), hidden="relu"), "adam", "float64"),
        (nb.MLP((3, 6, 2, 1), hidden="sigmoid", output="sigmoid"), "momentum", "float64"),
        (nb.MLP((2, 3, 2), output="gaussian"), "rmsprop", "float32"),
        (nb.MLP((2, 7, 2), hidden="maxout", output="softmax"), "adagrad", "float64"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1_234_567, 2**31 - 2])
@pytest.mark.parametrize("x64", [True, False])
def test_start_state_is_the_three_steps_bit_for_bit(net, solver, dtype, seed, x64):
    dtype = dtype if x64 else "float32"  # float64 parameters need x64
    optimizer = nb.optim.get(solver, learning_rate=0.01)
    with jax.enable_x64(x64):
        k_init, k_train = jax.random.split(jax.random.key(seed))
        steps = init_state(net.init(k_init, dtype), optimizer, k_train)
        got = train.start_state(net, optimizer, seed, dtype)
    chex.assert_trees_all_equal_structs(got, steps)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(steps)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_start_state_in_a_column_bucket_is_net_init_with_zero_rows_for_the_zero_features():
    net = nb.MLP((5, 4, 3), hidden="tanh")
    k_init, k_train = jax.random.split(jax.random.key(11))
    own = net.init(k_init, "float64")
    state = train.start_state(net, nb.optim.adam(0.1), 11, "float64", columns=16)
    assert [p["W"].shape for p in state.params] == [(16, 4), (4, 3)]
    np.testing.assert_array_equal(state.params[0]["W"][:5], own[0]["W"])
    np.testing.assert_array_equal(state.params[0]["W"][5:], 0.0)
    chex.assert_trees_all_equal(state.params[1:], own[1:])
    np.testing.assert_array_equal(state.key, jax.random.key_data(k_train))


def test_start_state_is_one_program_per_network_and_optimizer(fresh_programs):
    net = nb.MLP((3, 9, 2))  # a width no other test uses
    with count_compilations() as c:
        train.start_state(net, nb.optim.adam(0.1), 5, "float64")
        train.start_state(net, nb.optim.adam(0.02), 6, "float64")  # new numbers and seed
    assert [name for _, name in c.programs] == ["jit(start)"]


def test_program_cache_is_one_thread_at_a_time():
    # nnbasics.sklearn compiles a refit on a thread beside its search: the cache's get,
    # move and eviction must not interleave (a key evicted between get and move_to_end).
    entered, release, done = threading.Event(), threading.Event(), []

    def slow_make():
        entered.set()
        release.wait(10)
        return "first"

    first = threading.Thread(target=_train_epoch._program, args=(("lock test", 1), slow_make))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(
        target=lambda: done.append(_train_epoch._program(("lock test", 2), lambda: "second"))
    )
    second.start()
    second.join(0.5)
    blocked = not done  # the second waits for the first's whole get-make-store
    release.set()
    first.join()
    second.join()
    for k in (("lock test", 1), ("lock test", 2)):
        _train_epoch._PROGRAMS.pop(k, None)
    assert blocked and done == ["second"]


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


def test_patience_stops_on_the_epoch_that_ends_patience_epochs_without_improvement(iris):
    """With a zero learning rate only the first epoch improves; patience=2 stops on the third."""
    (X, y), (Xv, yv) = iris
    opt = optax.sgd(0.0)  # the parameters never move
    state = train.init_state(params64(), opt, jax.random.PRNGKey(0))
    stopped = []
    for _ in range(5):
        state, m = train.train_epoch(
            state, X, y, Xv, yv, net=NET, optimizer=opt, batch_size=30, patience=2
        )
        stopped.append(bool(m["stopped"]))
    assert stopped == [False, False, True, True, True]
    assert int(state.best_epoch) == 0


def test_an_epoch_with_a_one_device_batch_sharding_is_the_same_epoch():
    # train_epoch's batch_sharding constrains each minibatch's placement only: on one
    # device the epoch is the same.
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    sharding = NamedSharding(Mesh(np.array(jax.devices()[:1]), ("data",)), PartitionSpec("data"))
    opt = nb.optim.sgd(0.1)
    state = train.init_state(XOR_NET.init(jax.random.key(0), jnp.float64), opt, jax.random.key(1))
    kw = dict(net=XOR_NET, optimizer=opt, batch_size=2)
    plain, _ = train.train_epoch(state, X4, Y4, **kw)
    sharded, _ = train.train_epoch(state, X4, Y4, batch_sharding=sharding, **kw)
    chex.assert_trees_all_equal(plain.params, sharded.params)


def test_a_mixed_precision_epoch_reports_in_the_parameters_dtype():
    # _in_precision: the loss and gradients come back in the parameters' dtype, so a
    # float32 network trained in bfloat16 keeps float32 metrics and state.
    opt = nb.optim.sgd(0.1)
    state = train.init_state(XOR_NET.init(jax.random.key(0), jnp.float32), opt, jax.random.key(1))
    X = np.asarray(X4, np.float32)
    new, m = train.train_epoch(
        state, X, Y4, net=XOR_NET, optimizer=opt, batch_size=2, compute_dtype=jnp.bfloat16
    )
    assert m["train_loss"].dtype == jnp.float32 and new.best_loss.dtype == jnp.float32


def test_every_metric_of_a_float32_network_is_float32_under_x64():
    # x64 is on in the tests: an accuracy in the default float dtype would be float64.
    opt = nb.optim.sgd(0.1)
    state = train.init_state(XOR_NET.init(jax.random.key(0), jnp.float32), opt, jax.random.key(1))
    X = np.asarray(X4, np.float32)
    _, m = train.train_epoch(state, X, Y4, X, Y4, net=XOR_NET, optimizer=opt, batch_size=2)
    assert {k: m[k].dtype for k in ("train_loss", "valid_loss", "valid_accuracy")} == dict.fromkeys(
        ("train_loss", "valid_loss", "valid_accuracy"), jnp.float32
    )
    loss, accuracy = train.evaluate(XOR_NET, state.params, (X, Y4))[0]
    assert loss.dtype == accuracy.dtype == jnp.float32


def test_an_epoch_with_unit_sample_weights_is_the_unweighted_epoch():
    # train_epoch's sample_weight: the weighted mean Σ sᵢ nllᵢ / Σ sᵢ and the penalty
    # scaled by (examples) / Σ sᵢ: with every sᵢ = 1, the plain mean and penalty.
    opt = nb.optim.sgd(0.1)
    state = train.init_state(XOR_NET.init(jax.random.key(0), jnp.float64), opt, jax.random.key(1))
    kw = dict(net=XOR_NET, optimizer=opt, batch_size=2, l2=0.1)
    plain, _ = train.train_epoch(state, X4, Y4, **kw)
    weighted, _ = train.train_epoch(state, X4, Y4, sample_weight=np.ones(4), **kw)
    chex.assert_trees_all_close(plain.params, weighted.params, rtol=1e-12)


# ------------------------------------------------------------------ the compiled epoch


def test_evaluate_gives_each_pairs_mean_nll_and_accuracy():
    # evaluate's docstring: [metrics(X, y) for each pair], (mean NLL, accuracy) each.
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    X = np.asarray(jax.random.normal(jax.random.key(2), (8, 2)), np.float64)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    pairs = [(X[:3], y[:3]), (X[3:], y[3:])]
    got = nb.train.evaluate(XOR_NET, params, *pairs)
    assert len(got) == 2
    for (loss, accuracy), (Xp, yp) in zip(got, pairs):
        np.testing.assert_allclose(loss, XOR_NET.loss(params, Xp, yp), rtol=1e-12)
        np.testing.assert_allclose(accuracy, np.mean(np.asarray(XOR_NET.predict(params, Xp)) == yp))
    # metrics' docstring: accuracy is NaN for regression outputs.
    linear = nb.MLP((2, 1), output="linear")
    params = linear.init(jax.random.key(0), jnp.float64)
    got = nb.train.evaluate(linear, params, (X[:3], X[:3, :1]), (X[3:], X[3:, :1]))
    for (loss, accuracy), Xp in zip(got, (X[:3], X[3:])):
        np.testing.assert_allclose(loss, linear.loss(params, Xp, Xp[:, :1]), rtol=1e-12)
        assert np.isnan(accuracy)


def test_an_epoch_compiled_ahead_of_time_is_the_same_epoch():
    # EpochProgram.compile: the same epoch compiled ahead of time for these shapes.
    opt = nb.optim.sgd(0.1)
    epoch = nb.train.compile_epoch(XOR_NET, opt, batch_size=2, l2=1e-2)
    params = XOR_NET.init(jax.random.key(0), jnp.float64)
    args = tuple(map(jnp.asarray, (X4, Y4, X4[:2], Y4[:2])))
    fresh = lambda: init_state(params, opt, jax.random.key(1))
    lowered = epoch.lower(fresh(), *args)
    assert isinstance(lowered, jax.stages.Lowered)
    ahead = epoch.compile(fresh(), *args)
    (s1, m1), (s2, m2) = epoch(fresh(), *args), ahead(fresh(), *args)
    for a, b in zip(jax.tree.leaves((s1, m1)), jax.tree.leaves((s2, m2))):
        np.testing.assert_array_equal(a, b)
    assert not np.isnan(float(m2["valid_loss"]))


def test_train_epoch_counts_any_decrease_as_an_improvement_by_default():
    # train_epoch's signature: min_delta = 0.0, so any decrease of the validation loss is
    # an improvement (fit's docstring: "by more than min_delta").
    opt = nb.optim.sgd(0.1)
    state = init_state(XOR_NET.init(jax.random.key(0), jnp.float64), opt, jax.random.key(1))
    data = tuple(map(jnp.asarray, (X4, Y4, X4, Y4)))
    losses = []
    for _ in range(2):
        state, m = nb.train.train_epoch(state, *data, net=XOR_NET, optimizer=opt, batch_size=4)
        losses.append(float(m["valid_loss"]))
    assert 0 < losses[0] - losses[1] < 1  # a small decrease
    assert int(state.best_epoch) == 1 and int(state.wait) == 0


def test_the_valid_accuracy_monitor_keeps_the_negated_best_accuracy():
    # train_epoch's docstring: "valid_accuracy" (higher is better) is kept in the state
    # as its negative; a higher accuracy is an improvement, a lower one is not.
    opt = nb.optim.sgd(0.5)
    state = init_state(XOR_NET.init(jax.random.key(0), jnp.float64), opt, jax.random.key(1))
    data = tuple(map(jnp.asarray, (X4, Y4, X4, Y4)))
    epoch = jax.jit(
        lambda s: nb.train.train_epoch(
            s, *data, net=XOR_NET, optimizer=opt, batch_size=4, monitor="valid_accuracy"
        )
    )
    accuracies = []
    for _ in range(60):
        state, m = epoch(state)
        accuracies.append(float(m["valid_accuracy"]))
    assert len(set(accuracies)) > 1  # the accuracy moved, so the selection is tested
    best = int(np.argmax(accuracies))  # the first epoch of the highest accuracy
    assert int(state.best_epoch) == best
    assert float(state.best_loss) == -max(accuracies)


# --- history["train_loss"]: the example-weighted mean of the minibatch losses


@pytest.mark.parametrize(("n", "batch_size"), [(23, 7), (23, 23), (5, 1)])
def test_train_loss_equals_an_independent_loop_with_a_partial_batch(n, batch_size):
    """train_loss[e] = Σ_batches |batch| · J(batch) / n, each J taken before its update
    (penalties included), the partial last batch counted by its real size."""
    X, y = iris_sample(n)
    opt, l2, l1 = nb.optim.momentum(0.1, beta=0.9), 1e-2, 1e-3
    key = jax.random.key(3)
    params = NET.init(jax.random.key(0), jnp.float64)
    result = nb.fit(
        NET, params, opt, (X, y), epochs=3, batch_size=batch_size, key=key, l2=l2, l1=l1
    )

    state, losses = opt.init(params), []
    for _ in range(3):
        key, sub = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(sub, n))
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            J = float(NET.loss(params, jnp.asarray(X[idx]), jnp.asarray(y[idx]), l2=l2, l1=l1))
            total += len(idx) * J
            _, g = NET.backprop(params, jnp.asarray(X[idx]), jnp.asarray(y[idx]), l2=l2, l1=l1)
            updates, state = opt.update(g, state, params)
            params = optax.apply_updates(params, updates)
        losses.append(total / n)
    np.testing.assert_allclose(result.history["train_loss"], losses, rtol=1e-12, atol=0)
    chex.assert_trees_all_close(result.params, params, rtol=1e-12, atol=0)
