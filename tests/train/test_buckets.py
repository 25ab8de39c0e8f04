"""Shape buckets: a padded run equals the unpadded one in float64, and shares its programs.

Every comparison runs the same driver twice, with bucketing on (the default) and
off (``_buckets.enabled(False)``: no padding, each shape its own program).
"""

import contextlib
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse

import nnbasics as nb
from nnbasics import folds as nb_folds
from nnbasics import search as nb_search
from nnbasics.activations import HIDDEN
from nnbasics.losses import OUTPUT
from nnbasics.train import _buckets
from tests._helpers.train import BUCKETS_RTOL as RTOL
from tests._helpers.train import BUCKETS_RTOL_LONG as RTOL_LONG
from tests._helpers.train import train_valid

# 40 training rows (bucket 64) in minibatches of 16: 16, 16, 8 real rows, then a
# minibatch of padding only, which must be skipped; 21 validation rows (bucket 32).
N_TRAIN, N_VALID, BATCH = 40, 21, 16


# ------------------------------------------------------------------ helpers


def _data(net, seed=0):
    return train_valid(net, N_TRAIN, N_VALID, seed)


def _both(run):
    """(bucketed, unbucketed) results of ``run()``."""
    bucketed = run()
    with _buckets.enabled(False):
        plain = run()
    return bucketed, plain


def _close(a, b, rtol=RTOL):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=0)


def _fit(net, optimizer, train, valid, **kw):
    params = net.init(jax.random.key(0), jnp.float64)
    kw = {"epochs": 1, "batch_size": BATCH, "valid": valid} | kw
    return nb.fit(net, params, optimizer, train, key=jax.random.key(1), **kw)  # pyright: ignore[reportArgumentType]


def _check_fit(net, optimizer, **kw):
    train, valid = _data(net)
    bucketed, plain = _both(lambda: _fit(net, optimizer, train, valid, **kw))
    _close(bucketed.params, plain.params)
    _close(bucketed.state.opt_state, plain.state.opt_state)
    _close(bucketed.history, plain.history)
    X = valid[0]
    _close(net.apply(bucketed.params, X), net.apply(plain.params, X))
    np.testing.assert_array_equal(net.predict(bucketed.params, X), net.predict(plain.params, X))
    return bucketed, plain


_LOWERED = "/jax/core/compile/jaxpr_to_mlir_module_duration"


@contextlib.contextmanager
def _count_programs():
    """``with _count_programs() as c: ...``; then ``c.count``: the programs JAX lowered
    (each new program of the process, whether XLA then compiles it or reads its cache)."""
    counter = types.SimpleNamespace(count=0)

    def listen(event: str, duration_secs: float, **kwargs: str | int) -> None:
        counter.count += event == _LOWERED

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


# ------------------------------------------------------------ the helpers


@pytest.mark.parametrize(
    ("rows", "total"), [(0, 32), (1, 32), (5, 32), (100, 128), (1625, 2048), (1626, 2048)]
)
def test_permutation_is_jax_permutation_of_the_real_rows(rows, total):
    # 1626 is the first count jax.random.permutation sorts twice
    permute = jax.jit(_buckets.permutation, static_argnums=2)
    for seed in range(3):
        key = jax.random.key_data(jax.random.key(seed))
        got = np.asarray(permute(key, rows, total))
        np.testing.assert_array_equal(got[:rows], jax.random.permutation(key, rows))
        np.testing.assert_array_equal(got[rows:], np.arange(rows, total))


def test_permutation_under_vmap_over_row_counts_is_each_ones_permutation():
    # batched row counts: each round's condition is batched (both branches run, a select)
    key = jax.random.key_data(jax.random.key(0))
    rows = np.array([5, 1625, 1626, 2048])
    got = np.asarray(jax.vmap(lambda r: _buckets.permutation(key, r, 2048))(rows))
    for r, perm in zip(rows, got, strict=True):
        np.testing.assert_array_equal(perm[:r], jax.random.permutation(key, int(r)))
        np.testing.assert_array_equal(perm[r:], np.arange(r, 2048))


def test_a_round_the_real_rows_would_not_get_is_skipped_not_sorted_and_discarded():
    # 2048 rows get two rounds; with a traced count each round is a cond, no sort runs
    # outside one (a sort of 2048 keys is most of a digits epoch's shuffling)
    key = jax.random.key_data(jax.random.key(0))
    jaxpr = jax.make_jaxpr(lambda rows: _buckets.permutation(key, rows, 2048))(5)
    names = [eqn.primitive.name for eqn in jaxpr.eqns]
    assert names.count("cond") == 2 and "sort" not in names, names


def test_sizes_are_powers_of_two_above_the_floor():
    assert [_buckets.size(n) for n in (1, 32, 33, 64, 65, 1000)] == [32, 32, 64, 64, 128, 1024]
    with _buckets.enabled(False):
        assert _buckets.size(33) == 33


def test_bucketing_is_off_without_partitionable_random_bits():
    # permutation reproduces jax.random.permutation only with partitionable threefry
    assert _buckets.is_enabled()
    with jax.threefry_partitionable(False):
        assert not _buckets.is_enabled()
        assert _buckets.size(33) == 33


# ------------------------------------------------ one epoch: every optimizer


# Every optimizer with both penalties; without them, two (the penalties enter the
# gradient before the optimizer sees it, the same path for every optimizer).
@pytest.mark.parametrize(
    ("name", "penalty"),
    [(name, {"l2": 1e-2, "l1": 1e-3}) for name in nb.optim.REGISTRY] + [("sgd", {}), ("adam", {})],
    ids=[f"{name}-l2+l1" for name in nb.optim.REGISTRY] + ["sgd-plain", "adam-plain"],
)
def test_one_epoch_equals_unbucketed_for_every_optimizer(name, penalty):
    net = nb.MLP((3, 5, 3), hidden="tanh")
    _check_fit(net, nb.optim.get(name, learning_rate=0.05), **penalty)


@pytest.mark.parametrize("hidden", list(HIDDEN))
def test_one_epoch_equals_unbucketed_for_every_hidden_unit(hidden):
    net = nb.MLP((3, 5, 3), hidden=hidden)
    _check_fit(net, nb.optim.adam(0.05), l2=1e-3)


@pytest.mark.parametrize("output", list(OUTPUT))
def test_one_epoch_equals_unbucketed_for_every_output_unit(output):
    net = nb.MLP((3, 5, 2), hidden="relu", output=output)
    _check_fit(net, nb.optim.adam(0.05), l1=1e-3)


def test_a_minibatch_of_padding_only_is_no_step():
    # Adam's step count sees 3 minibatches (40 rows by 16), not the bucket's 4.
    net = nb.MLP((3, 5, 3), hidden="tanh")
    bucketed, _ = _check_fit(net, nb.optim.adam(0.05))
    assert int(jax.tree.leaves(bucketed.state.opt_state)[0]) == 3


def test_full_batch_equals_unbucketed():
    # batch_size n: one minibatch of all 40 rows, the bucket's 64 slots when padded
    net = nb.MLP((3, 5, 3), hidden="tanh")
    _check_fit(net, nb.optim.sgd(0.1), batch_size=N_TRAIN, epochs=3)


def test_evaluate_and_metrics_equal_unbucketed():
    net = nb.MLP((3, 5, 3))
    train, valid = _data(net)
    params = net.init(jax.random.key(0), jnp.float64)
    bucketed, plain = _both(lambda: nb.train.evaluate(net, params, train, valid))
    _close(bucketed, plain)
    _close(*_both(lambda: nb.train.metrics(net, params, *valid)))


# --------------------------------------------- a whole fit, early stopping


def test_whole_fit_with_early_stopping_equals_unbucketed():
    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    order = np.random.default_rng(0).permutation(len(X))
    train, valid = (X[order[:100]], y[order[:100]]), (X[order[100:]], y[order[100:]])
    net = nb.MLP((4, 16, 3))
    bucketed, plain = _both(
        lambda: _fit(net, nb.optim.adam(0.01), train, valid, epochs=300, patience=10, l2=1e-4)
    )
    assert bucketed.stopped_early and plain.stopped_early
    assert bucketed.best_epoch == plain.best_epoch
    np.testing.assert_array_equal(net.predict(bucketed.params, X), net.predict(plain.params, X))
    _close(bucketed.params, plain.params, RTOL_LONG)
    _close(bucketed.history, plain.history, RTOL_LONG)


# ------------------------------------------------------ search and folds


def test_search_equals_unbucketed():
    net = nb.MLP((3, 5, 3), hidden="tanh")
    train, valid = _data(net)
    _, test = _data(net, seed=1)
    configs = nb_search.grid(learning_rate=[0.01, 0.1], l2=[0.0, 1e-2], batch_size=[BATCH, 40])
    bucketed, plain = _both(
        lambda: nb_search.search(
            net, train, valid, test, configs=configs, epochs=2, dtype=jnp.float64
        )
    )
    assert bucketed.best == plain.best
    _close(bucketed.params, plain.params)
    _close(bucketed.history, plain.history)
    for k in ("valid_loss", "valid_accuracy", "test_loss", "test_accuracy", "train_loss"):
        _close(bucketed.table[k], plain.table[k])


def test_folds_of_different_sizes_train_in_one_program_and_equal_unbucketed():
    net = nb.MLP((3, 5, 3), hidden="tanh")
    (X, y), _ = _data(net)
    folds = [(X[:38], y[:38]), (X[1:], y[1:]), (X, y)]
    configs = nb_search.grid(learning_rate=[0.01, 0.1], l1=[0.0, 1e-2])
    bucketed, plain = _both(
        lambda: nb_folds.train_folds(
            net, folds, configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64
        )
    )
    assert (bucketed.traces, plain.traces) in {(1, 3), (0, 3), (0, 0)}  # 0: compiled before
    _close(bucketed.params, plain.params)
    _close(bucketed.train_loss, plain.train_loss)


# ---------------------------------------------------------- the estimators


def test_estimators_equal_unbucketed():
    from nnbasics.sklearn import GridSearchCV, MLPClassifier, MLPRegressor

    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    for make, target in (
        (lambda: MLPClassifier((6,), max_iter=3, random_state=0, dtype="float64"), y),
        (lambda: MLPRegressor((6,), max_iter=3, random_state=0, dtype="float64"), X[:, 0]),
    ):
        bucketed, plain = _both(lambda make=make, target=target: make().fit(X[:, 1:], target))
        _close(bucketed.coefs_ + bucketed.intercepts_, plain.coefs_ + plain.intercepts_)
        _close(bucketed.loss_curve_, plain.loss_curve_)
        _close(bucketed.predict(X[:7, 1:]), plain.predict(X[:7, 1:]))
    search = lambda: GridSearchCV(
        MLPClassifier((6,), max_iter=3, random_state=0, dtype="float64"),
        {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]},
        cv=3,
    ).fit(X, y)
    bucketed, plain = _both(search)
    assert bucketed.batched_ and plain.batched_
    for k in ("mean_test_score", "split0_test_score", "split2_test_score"):
        _close(bucketed.cv_results_[k], plain.cv_results_[k])
    _close(bucketed.best_estimator_.coefs_, plain.best_estimator_.coefs_)


def test_partial_fit_after_a_padded_fit_and_alone_equals_unbucketed():
    # A fit trains in its column bucket and keeps that state; partial_fit goes on in it,
    # and a first partial_fit starts in it, each equal to the unpadded computation.
    from nnbasics.sklearn import MLPClassifier

    X, y = nb.data.load("iris")
    make = lambda: MLPClassifier((6,), max_iter=3, random_state=0, dtype="float64")

    def after_fit():
        model = make().fit(X, y)
        for _ in range(2):
            model.partial_fit(X[:90], y[:90])
        return model

    def alone():
        model = make()
        for _ in range(3):
            model.partial_fit(X, y, classes=[0, 1, 2])
        return model

    def sparse_after_dense():  # the sparse table padded to the dense fit's bucket
        model = make().fit(X, y)
        model.partial_fit(scipy.sparse.csr_matrix(X), y)
        return model

    for run in (after_fit, alone, sparse_after_dense):
        bucketed, plain = _both(run)
        assert [W.shape for W in bucketed.coefs_] == [(4, 6), (6, 3)]
        _close(bucketed.coefs_ + bucketed.intercepts_, plain.coefs_ + plain.intercepts_)
        _close(bucketed.loss_curve_, plain.loss_curve_)


def test_early_stopping_estimator_equals_unbucketed():
    from nnbasics.sklearn import MLPClassifier

    X, y = nb.data.load("wine")
    X = (X - X.mean(0)) / X.std(0)
    fit = lambda: MLPClassifier(
        (8,), max_iter=200, early_stopping=True, random_state=0, dtype="float64"
    ).fit(X, y)
    bucketed, plain = _both(fit)
    assert bucketed.n_iter_ == plain.n_iter_
    np.testing.assert_array_equal(bucketed.predict(X), plain.predict(X))
    _close(bucketed.coefs_, plain.coefs_, RTOL_LONG)


# ------------------------------------------------------------ fewer programs


def test_row_counts_of_one_bucket_share_every_program(fresh_programs):
    net = nb.MLP((3, 5, 3), hidden="tanh")
    (X, y), (Xv, yv) = _data(net)
    fit = lambda n: _fit(net, nb.optim.adam(0.05), (X[:n], y[:n]), (Xv[: n // 2], yv[: n // 2]))
    fit(40)
    with _count_programs() as c:
        for n in (33, 37, 39):
            fit(n)
            nb.train.evaluate(net, fit(n).params, (X[:n], y[:n]))
    assert c.count == 1  # evaluate's one program; the fits reuse every program of the first
    with _buckets.enabled(False), _count_programs() as c:
        for n in (33, 37):
            fit(n)
    assert c.count >= 2  # unbucketed: at least a new epoch per row count


def test_predict_on_new_row_counts_compiles_once(fresh_programs):
    from nnbasics.sklearn import MLPClassifier

    X, y = nb.data.load("iris")
    clf = MLPClassifier((6,), max_iter=2, random_state=0).fit(X, y)
    clf.predict(X[:40])
    with _count_programs() as c:
        for n in (33, 50, 64):
            clf.predict(X[:n])
            clf.score(X[:n], y[:n])
    assert c.count == 0


def test_predict_on_tables_of_nearby_widths_and_any_output_is_one_program(fresh_programs):
    # 4 and 13 features share the column bucket 16; a 3-class classifier and a regressor
    # of 3 targets share the forward pass (the pre-activation): one program for all three,
    # each equal to the unpadded pass.
    from nnbasics.sklearn import MLPClassifier, MLPRegressor

    (X, y), _ = _table(13)
    Y = np.stack([X[:, 0], X[:, 1] - X[:, 2], X[:, 3] ** 2], axis=1)
    kw = dict(max_iter=2, random_state=0, dtype="float64")
    models = [
        (MLPClassifier((6,), **kw).fit(X[:, :4], y), X[:, :4], "predict_proba"),
        (MLPClassifier((6,), **kw).fit(X, y), X, "predict_proba"),
        (MLPRegressor((6,), **kw).fit(X, Y), X, "predict"),
    ]
    outputs = []
    with _count_programs() as c:
        for model, data, method in models:
            outputs.append(getattr(model, method)(data))
    assert c.count == 1
    with _buckets.enabled(False):
        for (model, data, method), got in zip(models, outputs):
            _close(got, getattr(model, method)(data))


def test_fits_on_tables_of_nearby_widths_share_every_program(fresh_programs):
    # 13 and 4 features: one column bucket (16), so the second table's fit, predict and
    # score compile nothing (its start, epoch and forward pass are the first's).
    from nnbasics.sklearn import MLPClassifier

    (X, y), _ = _table(13)
    fit = lambda d: MLPClassifier((6,), max_iter=2, random_state=0, dtype="float64").fit(
        X[:, :d], y
    )
    fit(13).score(X, y)
    with _count_programs() as c:
        model = fit(4)
        model.score(X[:, :4], y)
    assert c.count == 0
    with _buckets.enabled(False), _count_programs() as c:
        fit(4)
    assert c.count >= 2  # unbucketed: its own start and epoch


def test_grid_search_folds_of_different_sizes_share_one_program(fresh_programs):
    # 149 rows, cv=3: folds of 99, 99 and 100 rows, each trained on whole-fold batches
    # (batch "auto" = min(200, n)) with l2 = alpha / n per fold: one bucket, one program.
    from nnbasics.sklearn import GridSearchCV, MLPClassifier

    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    search = (
        lambda: GridSearchCV(
            MLPClassifier((7,), max_iter=3, random_state=0, dtype="float64"),
            {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]},
            cv=3,
            scoring="neg_log_loss",  # continuous: each fold's parameters show in it
        ).fit(X[:149], y[:149])
    )
    before = nb_search._TRACES[0]
    bucketed = search()
    assert nb_search._TRACES[0] - before == 1  # one program for the three folds
    with _buckets.enabled(False):
        before = nb_search._TRACES[0]
        plain = search()
        assert nb_search._TRACES[0] - before == 2  # unbucketed: 99 rows and 100 rows
    for k in ("mean_test_score", "split0_test_score", "split2_test_score"):
        _close(bucketed.cv_results_[k], plain.cv_results_[k])
    _close(bucketed.best_estimator_.coefs_, plain.best_estimator_.coefs_)


# ------------------------------------------------------ feature columns


def _table(d, seed=0):
    """A 3-class table of ``d`` features, split as ``_data``'s."""
    return _data(nb.MLP((d, 1, 3)), seed)


def _traced_both(run):
    """(bucketed, programs it traced, unbucketed) results of a search or folds ``run()``."""
    before = nb_search._TRACES[0]
    bucketed = run()
    count = nb_search._TRACES[0] - before
    with _buckets.enabled(False):
        return bucketed, count, run()


def _search_on(d):
    """(bucketed, programs it traced, unbucketed) searches on a table of ``d`` features."""
    net = nb.MLP((d, 5, 3), hidden="relu")
    train, valid = _table(d)
    _, test = _table(d, seed=1)
    configs = nb_search.grid(learning_rate=[0.01, 0.1], l2=[0.0, 1e-2])
    kw = dict(configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64)
    return _traced_both(lambda: nb_search.search(net, train, valid, test, **kw))


def test_searches_on_tables_of_nearby_widths_share_one_program(fresh_programs):
    # 4 and 13 features: one column bucket (16), the first layer's extra rows masked,
    # and each search equal to the unpadded one.
    traces = []
    for d in (4, 13):
        bucketed, count, plain = _search_on(d)
        traces.append(count)
        assert bucketed.net == plain.net == nb.MLP((d, 5, 3), hidden="relu")
        assert [p["W"].shape for p in bucketed.params] == [(d, 5), (5, 3)]
        _close(bucketed.params, plain.params)
        _close(bucketed.history, plain.history)
        for k in ("valid_loss", "valid_accuracy", "test_loss", "test_accuracy", "train_loss"):
            _close(bucketed.table[k], plain.table[k])
    assert traces == [1, 0]


def _folds_on(d):
    """(bucketed, programs it traced, unbucketed) folds on a table of ``d`` features."""
    net = nb.MLP((d, 5, 3), hidden="sigmoid")
    (X, y), _ = _table(d)
    folds = [(X[:38], y[:38]), (X[2:], y[2:])]
    configs = nb_search.grid(learning_rate=[0.01, 0.1])
    kw = dict(configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64)
    return _traced_both(lambda: nb_folds.train_folds(net, folds, **kw))


def test_folds_on_tables_of_nearby_widths_share_one_program(fresh_programs):
    traces = []
    for d in (4, 13):
        bucketed, count, plain = _folds_on(d)
        traces.append(count)
        assert bucketed.nets == plain.nets
        assert [p["W"].shape for p in bucketed.params[-1][1]] == [(d, 5), (5, 3)]
        _close(bucketed.params, plain.params)
        _close(bucketed.train_loss, plain.train_loss)
    assert traces == [1, 0]


def test_a_search_of_maxout_units_keeps_its_columns_and_equals_unbucketed():
    # Maxout's weights carry a pieces axis that the masked initialization does not
    # draw: its tables are not padded in columns (rows still are).
    net = nb.MLP((3, 4, 3), hidden="maxout", pieces=2)
    train, valid = _data(net)
    configs = nb_search.grid(learning_rate=[0.01, 0.1])
    bucketed, plain = _both(
        lambda: nb_search.search(
            net, train, valid, configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64
        )
    )
    _close(bucketed.params, plain.params)
    _close(bucketed.history, plain.history)


# ------------------------------------------------------ hidden widths


def test_masked_init_is_net_init_in_the_widest_arrays():
    widest = nb.MLP((3, 9, 7, 2))
    for sizes in ((3, 4, 7, 2), (3, 9, 1, 2), (3, 9, 7, 2)):
        inputs = _buckets.width_inputs(sizes, jnp.float64)
        shapes = [W for W, _ in widest.layer_shapes()]
        got = _buckets.masked_init(
            jax.random.key(5), shapes, *(jnp.asarray(inputs[k]) for k in inputs), jnp.float64
        )
        own = nb.MLP(sizes).init(jax.random.key(5), jnp.float64)
        for g, o, a, b in zip(got, own, sizes, sizes[1:]):
            np.testing.assert_array_equal(g["W"][:a, :b], o["W"])  # bitwise
            assert not np.any(g["W"][a:]) and not np.any(g["W"][:, b:]) and not np.any(g["b"])


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "softplus"])
def test_a_grid_of_hidden_widths_is_one_program_equal_to_one_per_width(hidden):
    # sigmoid(0) = 1/2 and softplus(0) = log 2: a masked unit is not silent by itself,
    # only its zero weights out of it (and their zero gradients) keep it out.
    net = nb.MLP((3, 5, 3), hidden=hidden)
    train, valid = _data(net)
    configs = nb_search.grid(sizes=[(3, 2, 3), (3, 5, 3)], learning_rate=[0.05], l2=[1e-2])
    run = lambda: nb_search.search(
        net, train, valid, configs=configs, epochs=3, batch_size=BATCH, dtype=jnp.float64
    )
    before = nb_search._TRACES[0]
    bucketed = run()
    assert nb_search._TRACES[0] - before <= 1  # one program for both widths (0: compiled before)
    with _buckets.enabled(False):
        plain = run()
    assert bucketed.net == plain.net
    _close(bucketed.params, plain.params)
    for k in ("valid_loss", "valid_accuracy", "train_loss"):
        _close(bucketed.table[k], plain.table[k])
    _close(bucketed.history, plain.history)


@pytest.mark.parametrize(
    ("output", "driver"), [("gaussian", "search"), ("mixture", "search"), ("mixture", "folds")]
)
def test_a_grid_of_hidden_widths_equals_one_per_width_for_wide_outputs(output, driver):
    # A gaussian output is 2d wide and a mixture's wider still: the masked network's
    # last layer is cut at the output's width, not at the number of targets (the
    # other output units are as wide as their targets: the tests above).
    net = nb.MLP((3, 5, 2), hidden="tanh", output=output)
    train, valid = _data(net)
    configs = nb_search.grid(sizes=[(3, 2, 2), (3, 5, 2)], learning_rate=[0.05])
    kw = dict(configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64)
    if driver == "search":
        bucketed, plain = _both(lambda: nb_search.search(net, train, valid, **kw))
        assert bucketed.net == plain.net
        _close(bucketed.history, plain.history)
    else:
        (X, y), _ = _data(net)
        folds = [(X[:38], y[:38]), (X[2:], y[2:])]
        bucketed, plain = _both(lambda: nb_folds.train_folds(net, folds, **kw))
        assert bucketed.nets == plain.nets
        _close(bucketed.train_loss, plain.train_loss)
    _close(bucketed.params, plain.params)


def test_folds_of_several_hidden_widths_train_in_one_program():
    net = nb.MLP((3, 5, 3), hidden="sigmoid")
    (X, y), _ = _data(net)
    folds = [(X[:38], y[:38]), (X[2:], y[2:])]
    configs = nb_search.grid(sizes=[(3, 2, 3), (3, 5, 3)], learning_rate=[0.1, 0.2])
    run = lambda: nb_folds.train_folds(
        net, folds, configs=configs, epochs=2, batch_size=BATCH, dtype=jnp.float64
    )
    bucketed = run()
    with _buckets.enabled(False):
        plain = run()
    assert bucketed.traces <= 1 and plain.traces in (0, 2)
    assert bucketed.nets == plain.nets
    _close(bucketed.params, plain.params)
    _close(bucketed.train_loss, plain.train_loss)
