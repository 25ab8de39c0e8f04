"""nnbasics.search: samplers, vmapped search against nb.fit, chunking, selection, errors.

Every search compiles one program per structural group (seconds on a CPU), so
the module shares a few searches through fixtures.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import search as S
from tests._helpers.compiles import fresh_programs

EPOCHS = 25
NET = nb.MLP((4, 8, 3), hidden="tanh")
# lr 0.3 overfits within a few epochs (early stop), lr 0.01 keeps improving.
CONFIGS = S.grid(learning_rate=[0.01, 0.3], l2=[0.0, 1e-3], seed=[0, 1])
OPTIONS = dict(epochs=EPOCHS, batch_size=16, patience=3, dtype=jnp.float64)


@pytest.fixture(scope="module")
def splits():
    X, y = nb.data.load("iris")
    train, valid, test = nb.data.split(jax.random.key(0), X, y, stratify=True)
    _, train, valid, test = nb.data.standardize(train, valid, test)
    return train, valid, test


@pytest.fixture(scope="module")
def chunked(splits, tmp_path_factory):
    """8 configs in chunks of 3: the third chunk is padded with one copy."""
    with fresh_programs(tmp_path_factory.mktemp("programs")):
        return S.search(NET, *splits, configs=CONFIGS, optimizer="adam", chunk_size=3, **OPTIONS)


def _fit(splits, net, optimizer, config, **kw):
    k_init, k_train = jax.random.split(jax.random.key(config.get("seed", 0)))
    train, valid, _ = splits
    return nb.fit(
        net, net.init(k_init, jnp.float64), optimizer, train, valid=valid, key=k_train, **kw
    )


# ------------------------------------------------------------------ samplers


def test_grid_is_the_product_last_axis_fastest():
    configs = S.grid(learning_rate=[0.1, 0.01], l2=[0.0, 1e-4, 1e-3])
    assert len(configs) == 6
    assert configs[0] == {"learning_rate": 0.1, "l2": 0.0}
    assert configs[1] == {"learning_rate": 0.1, "l2": 1e-4}
    assert configs[3] == {"learning_rate": 0.01, "l2": 0.0}
    assert {(c["learning_rate"], c["l2"]) for c in configs} == {
        (a, b) for a in (0.1, 0.01) for b in (0.0, 1e-4, 1e-3)
    }
    assert S.grid() == [{}]


def test_random_respects_ranges_log_scale_and_key():
    key = jax.random.key(3)
    configs = S.random(
        key,
        2000,
        learning_rate=S.log_uniform(1e-4, 1e-1),
        b1=S.uniform(0.8, 0.99),
        seed=S.int_range(0, 4),
        sizes=[(4, 8, 3), (4, 16, 3)],
        l1=0.0,
    )
    lr = np.array([c["learning_rate"] for c in configs])
    assert lr.min() >= 1e-4 and lr.max() < 1e-1
    # Log scale: each of the three decades holds about a third of the samples.
    decades = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr)
    np.testing.assert_allclose(decades, 1 / 3, atol=0.05)
    b1 = np.array([c["b1"] for c in configs])
    assert b1.min() >= 0.8 and b1.max() < 0.99
    assert {c["seed"] for c in configs} == {0, 1, 2, 3, 4}
    assert {c["sizes"] for c in configs} == {(4, 8, 3), (4, 16, 3)}
    assert all(c["l1"] == 0.0 for c in configs)

    assert S.random(key, 5, learning_rate=S.log_uniform(1e-4, 1e-1)) == S.random(
        jax.random.key_data(key), 5, learning_rate=S.log_uniform(1e-4, 1e-1)
    )
    other = S.random(jax.random.key(4), 5, learning_rate=S.log_uniform(1e-4, 1e-1))
    assert other != S.random(key, 5, learning_rate=S.log_uniform(1e-4, 1e-1))
    # A hyper-parameter's samples depend on the key and its name only.
    alone = S.random(key, 5, b1=S.uniform(0.8, 0.99))
    beside = S.random(key, 5, l2=S.uniform(0.0, 1.0), b1=S.uniform(0.8, 0.99))
    assert [c["b1"] for c in alone] == [c["b1"] for c in beside]


# ------------------------------------------------------- search against fit


def test_search_equals_fit_per_config(splits, chunked):
    # Config 0 is in the first chunk, 7 in the padded last one (and is the best one).
    for row in sorted({0, 7, chunked.best}):
        config = CONFIGS[row]
        ref = _fit(
            splits,
            NET,
            nb.optim.adam(config["learning_rate"]),
            config,
            epochs=EPOCHS,
            batch_size=16,
            patience=3,
            l2=config["l2"],
        )
        n = len(ref.history["valid_loss"])
        assert chunked.table["epochs"][row] == n
        assert chunked.table["best_epoch"][row] == ref.best_epoch
        for k in S.HISTORY_KEYS:
            np.testing.assert_allclose(chunked.history[k][row, :n], ref.history[k], rtol=1e-9)
            assert np.all(np.isnan(chunked.history[k][row, n:]))
        np.testing.assert_allclose(
            chunked.table["valid_loss"][row], ref.history["valid_loss"][ref.best_epoch], rtol=1e-9
        )
        test_loss, test_acc = nb.train.metrics(NET, ref.params, *splits[2])
        np.testing.assert_allclose(chunked.table["test_loss"][row], test_loss, rtol=1e-9)
        np.testing.assert_allclose(chunked.table["test_accuracy"][row], test_acc, rtol=1e-9)
        assert chunked.table["stopped_early"][row] == ref.stopped_early
        if row == chunked.best:
            jax.tree.map(
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12),
                chunked.params,
                ref.params,
            )


def test_chunks_equal_one_chunk_and_compile_once(splits, chunked, fresh_programs, monkeypatch):
    assert chunked.traces == 1  # three chunks, one program
    calls = []
    compile_group = S._compile

    def counted(*args, **kwargs):
        program = compile_group(*args, **kwargs)
        return lambda *a: calls.append(1) or program(*a)

    monkeypatch.setattr(S, "_compile", counted)
    again = S.search(NET, *splits, configs=CONFIGS, optimizer="adam", chunk_size=3, **OPTIONS)
    assert len(calls) == 3  # 8 configs in chunks of 3: 3 + 3 + 2 (padded to 3)
    np.testing.assert_array_equal(again.table["valid_loss"], chunked.table["valid_loss"])
    whole = S.search(NET, *splits, configs=CONFIGS, optimizer="adam", chunk_size=64, **OPTIONS)
    assert whole.traces == 1
    for k in S.METRIC_COLUMNS:
        np.testing.assert_allclose(chunked.table[k], whole.table[k], rtol=1e-12)
    for k in S.HISTORY_KEYS:
        np.testing.assert_allclose(chunked.history[k], whole.history[k], rtol=1e-12)
    assert chunked.best == whole.best


def test_early_stopping_is_per_run(chunked):
    epochs = chunked.table["epochs"]
    stopped = chunked.table["stopped_early"]
    assert stopped.any() and not stopped.all()
    assert np.all(epochs[stopped] < EPOCHS) and np.all(epochs[~stopped] == EPOCHS)
    assert len(set(chunked.table["best_epoch"].tolist())) > 1
    # A stopped run ran patience epochs past its best one.
    np.testing.assert_array_equal(epochs[stopped], chunked.table["best_epoch"][stopped] + 4)


def test_selects_argmin_of_validation_loss_and_formats(chunked):
    assert chunked.best == int(np.argmin(chunked.table["valid_loss"]))
    assert chunked.config == CONFIGS[chunked.best]
    assert chunked.select == "valid_loss"
    text = S.format_table(chunked, top=3)
    lines = text.splitlines()
    for column in (
        "learning_rate",
        "l2",
        "seed",
        "valid_loss",
        "valid_accuracy",
        "test_loss",
        "test_accuracy",
        "best_epoch",
    ):
        assert column in lines[0]
    assert lines[1].split()[:2] == ["*", str(chunked.best)]
    # Only the selected row is marked.
    assert [line.startswith("*") for line in lines[1:4]] == [True, False, False]
    assert len(lines) == 1 + 3 + 1 and lines[-1] == "(5 more rows)"
    # every row shown: no line about more rows
    assert len(S.format_table(chunked, top=8).splitlines()) == 1 + 8
    # ties keep the table's order (a stable sort), however many rows
    tied = {k: np.repeat(v[:1], 40) for k, v in chunked.table.items()}
    tied["valid_loss"] = np.repeat([0.5, 0.25], 20)
    lines = S.format_table(chunked._replace(table=tied, best=20), top=None).splitlines()[1:]
    rows = [int(line.split()[1] if line.startswith("*") else line.split()[0]) for line in lines]
    assert rows == list(range(20, 40)) + list(range(20))
    rows = [
        int(line.split()[1] if line.startswith("*") else line.split()[0])
        for line in S.format_table(chunked, top=None).splitlines()[1:]
    ]
    assert rows == np.argsort(chunked.table["valid_loss"], kind="stable").tolist()
    # Yes/no columns are written as words, one per row, in the table's order.
    full = S.format_table(chunked, top=None).splitlines()
    at = full[0].split().index("stopped_early") + 1  # + 1: the first column has no name
    shown = [line.split()[at - (not line.startswith("*"))] for line in full[1:]]
    stopped = chunked.table["stopped_early"][rows]
    assert shown == ["yes" if s else "no" for s in stopped] and len(set(shown)) == 2


@pytest.mark.parametrize("select", ["valid_loss", "valid_accuracy"])
def test_a_run_that_diverges_at_once_is_never_selected(splits, select):
    # A run with no finite epoch has no validation score (NaN accuracy, infinite loss):
    # the selection passes over it whichever column it follows.
    configs = S.grid(learning_rate=[1e308, 0.05])  # overflows in the first epoch
    result = S.search(
        NET, splits[0], splits[1], configs=configs, optimizer="sgd", epochs=2,
        batch_size=32, select=select, dtype=jnp.float64,
    )  # fmt: skip
    assert result.table["diverged"].tolist() == [True, False]
    assert np.isnan(result.table["valid_accuracy"][0])
    assert result.best == 1


def test_widths_of_maxout_units_named_by_the_grid_are_one_program_each(splits, fresh_programs):
    # Maxout units are not masked into a wider network (their pieces would mix): a grid
    # that makes the hidden units maxout trains each width in its own program.
    configs = S.grid(sizes=[(4, 4, 3), (4, 6, 3)], hidden=["maxout"], learning_rate=[0.05])
    result = S.search(
        nb.MLP((4, 1, 3), hidden="tanh"), splits[0], splits[1], configs=configs,
        optimizer="sgd", epochs=2, batch_size=32, dtype=jnp.float64,
    )  # fmt: skip
    assert result.traces == 2
    assert result.net.hidden == "maxout" and result.net.sizes == configs[result.best]["sizes"]


def test_structural_groups_schedule_and_accuracy_selection(splits, fresh_programs):
    configs = S.grid(
        sizes=[(4, 8, 3), (4, 5, 3)],
        learning_rate=[0.05],
        lr_decay=[0.0, 0.1],
        beta=[0.9],
        nesterov=[True],
    )
    result = S.search(
        nb.MLP((4, 1, 3), hidden="tanh"),
        splits[0],
        splits[1],
        configs=configs,
        optimizer="momentum",
        epochs=6,
        batch_size=32,
        select="valid_accuracy",
        dtype=jnp.float64,
    )
    assert result.traces == 1  # two widths, one program of the wider network
    assert np.all(np.isnan(result.table["test_loss"]))
    acc = result.table["valid_accuracy"]
    assert result.best == int(np.argmax(acc))
    assert result.net.sizes == configs[result.best]["sizes"]
    assert "test_loss" not in S.format_table(result)

    config = configs[3]
    net = nb.MLP(config["sizes"], hidden="tanh")
    opt = nb.optim.momentum(nb.schedules.inverse_time(0.05, 0.1), beta=0.9, nesterov=True)
    ref = _fit(splits, net, opt, config, epochs=6, batch_size=32)
    for k in S.HISTORY_KEYS:
        np.testing.assert_allclose(result.history[k][3], ref.history[k], rtol=1e-9)


@pytest.mark.parametrize(
    ("decay", "schedule"), [("lr_decay", "inverse_time"), ("lr_exponent", "power")]
)
def test_a_held_schedule_trains_as_its_schedule_in_fit(splits, decay, schedule):
    # lr_hold is structural: the rate stays at learning_rate for the first lr_hold steps.
    config = {"learning_rate": 0.2, decay: 0.7, "lr_hold": 3}
    result = S.search(
        NET,
        splits[0],
        splits[1],
        configs=[config],
        optimizer="sgd",
        epochs=3,
        batch_size=32,
        dtype=jnp.float64,
    )
    rate = getattr(nb.schedules, schedule)(0.2, 0.7, 3)
    ref = _fit(splits, NET, nb.optim.sgd(rate), config, epochs=3, batch_size=32)
    for k in S.HISTORY_KEYS:
        np.testing.assert_allclose(result.history[k][0], ref.history[k], rtol=1e-9)
    unheld = _fit(
        splits,
        NET,
        nb.optim.sgd(getattr(nb.schedules, schedule)(0.2, 0.7)),
        config,
        epochs=3,
        batch_size=32,
    )
    assert not np.allclose(unheld.history["train_loss"], ref.history["train_loss"], rtol=1e-6)


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(optimizer="adamx"), r"optimizer: expected one of 'sgd'.*received 'adamx'"),
        (dict(configs=[]), r"configs: expected a non-empty list"),
        (
            dict(configs=S.grid(learning_rate=[0.1], beta=[0.9])),
            r"configs: expected hyper-parameters of optimizer 'adam' among .*received 'beta'",
        ),
        (
            dict(configs=S.grid(learning_rate=[0.1], l2=[-1.0])),
            r"configs\[0\]\['l2'\]: expected a real number in \[0.0, inf\), received -1.0",
        ),
        (
            dict(configs=S.grid(learning_rate=[0.1, -0.1])),
            r"configs\[1\]\['learning_rate'\]: expected a real number in \(0, inf\)",
        ),
        (dict(configs=S.grid(learning_rate=[0.1], b1=[1.5])), r"configs\[0\]\['b1'\].*1.5"),
        (dict(configs=S.grid(l2=[0.1])), r"configs: expected a 'learning_rate'"),
        (dict(configs=S.grid(learning_rate=[0.1], seed=[-1])), r"configs\[0\]\['seed'\]"),
        (
            dict(configs=S.grid(learning_rate=[0.1], batch_size=[0])),
            r"configs\[0\]\['batch_size'\]: expected an integer from 1",
        ),
        (
            dict(configs=S.grid(learning_rate=[0.1], sizes=[(5, 3)])),
            r"configs\[0\] \(MLP\(sizes=\(5, 3\).*train\[0\] \(X\): expected 5 features",
        ),
        (
            dict(configs=[{"learning_rate": 0.1}, {"learning_rate": 0.1, "l2": 0.0}]),
            r"configs\[1\]: expected the keys of configs\[0\]",
        ),
        (
            dict(configs=S.grid(learning_rate=[0.1], lr_decay=[0.1], lr_exponent=[0.7])),
            r"configs: expected at most one of 'lr_decay'",
        ),
        (dict(chunk_size=0), r"chunk_size: expected a positive integer, received 0"),
        (dict(epochs=0), r"epochs: expected a positive integer"),
        (dict(patience=-1), r"patience: expected a non-negative integer"),
        (dict(select="test_loss"), r"select: expected one of 'valid_loss', 'valid_accuracy'"),
        (dict(valid=None), r"valid: expected a pair \(X, y\), received NoneType"),
    ],
)
def test_bad_search_arguments(splits, change, match):
    kwargs = dict(configs=S.grid(learning_rate=[0.1]), epochs=2, valid=splits[1])
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        S.search(NET, splits[0], kwargs.pop("valid"), **kwargs)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S.grid(learning_rate=[]), r"learning_rate: expected a non-empty sequence"),
        (lambda: S.log_uniform(0.0, 1.0), r"lo: expected a positive number"),
        (lambda: S.uniform(2.0, 1.0), r"hi: expected a number above lo=2.0, received 1.0"),
        (lambda: S.int_range(3, 1), r"hi: expected an integer >= lo=3"),
        (lambda: S.choice([]), r"values: expected a non-empty sequence"),
        (lambda: S.random(jax.random.key(0), 0, l2=S.uniform(0, 1)), r"n: expected a positive"),
        (lambda: S.uniform(0.0, math.inf), r"hi: expected a finite real number"),
    ],
)
def test_bad_sampler_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
