"""Checkpoints: exact resume, atomic writes, clear errors on corrupt or mismatched files."""

import errno
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _files, checkpoint
from nnbasics.train import init_state
from tests._helpers.checkpoint import NET, _params
from tests._helpers.train import XOR_NET, fit_refusal

CASES = {
    # patience=2 with this rate: best at epoch 1, wait=1 at the checkpoint after 3 epochs,
    # stops after 4, so the early-stopping state must survive the restart.
    "momentum-valid-patience": dict(
        optimizer=lambda: nb.optim.momentum(0.5, 0.9), split=3, epochs=8, valid=True, patience=2
    ),
    "adam": dict(
        optimizer=lambda: nb.optim.adam(0.01), split=3, epochs=6, valid=False, patience=None
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_resume_equals_uninterrupted_run(case, iris, tmp_path):
    c = CASES[case]
    train, valid = iris
    kw = dict(batch_size=16, valid=valid if c["valid"] else None, patience=c["patience"])
    # A fresh key per call: fit donates its state, and train.init_state keeps a view of
    # the caller's key (see _raw_key), so a reused key would already be deleted.
    full = nb.fit(
        NET, _params(), c["optimizer"](), train, epochs=c["epochs"], key=jax.random.key(1), **kw
    )

    # resume=True on a directory that does not exist yet starts from scratch.
    ckpt = tmp_path / "run"
    first = nb.fit(
        NET,
        _params(),
        c["optimizer"](),
        train,
        epochs=c["split"],
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        resume=True,
        **kw,
    )
    assert checkpoint.exists(ckpt)
    np.testing.assert_array_equal(
        first.history["train_loss"], full.history["train_loss"][: c["split"]]
    )
    if case == "momentum-valid-patience":
        assert int(first.state.wait) > 0 and not bool(first.state.stopped)
        assert full.stopped_early
    resumed = nb.fit(
        NET,
        _params(),
        c["optimizer"](),
        train,
        epochs=c["epochs"],
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        resume=True,
        **kw,
    )

    chex.assert_trees_all_equal(resumed.params, full.params, strict=True)
    chex.assert_trees_all_equal(resumed.state, full.state, strict=True)  # opt_state, key, ...
    chex.assert_trees_all_equal(resumed.state.opt_state, full.state.opt_state, strict=True)
    assert resumed.best_epoch == full.best_epoch
    assert resumed.stopped_early == full.stopped_early
    assert set(resumed.history) == set(full.history)
    for k in full.history:
        np.testing.assert_array_equal(resumed.history[k], full.history[k])

    # The same checkpoint refuses another run's settings before any training.
    with pytest.raises(
        ValueError,
        match=r"^checkpoint: .* has batch_size = 16, this run asks "
        r"for 32 \(resume with the same settings",
    ):
        nb.fit(
            NET,
            _params(),
            c["optimizer"](),
            train,
            epochs=c["epochs"],
            key=jax.random.key(1),
            checkpoint_dir=ckpt,
            resume=True,
            **{**kw, "batch_size": 32},
        )
    other = nb.MLP((4, 5, 3), hidden="tanh", output="softmax")
    with pytest.raises(ValueError, match="has net = "):
        nb.fit(
            other,
            _params(other),
            c["optimizer"](),
            train,
            epochs=c["epochs"],
            key=jax.random.key(1),
            checkpoint_dir=ckpt,
            resume=True,
            **kw,
        )


# ---------------------------------------------------------------- save / restore directly

META = dict(net=repr(NET), batch_size=16, patience=None)


def _state(optimizer=None, seed=0):
    return init_state(_params(), optimizer or nb.optim.adam(0.01), jax.random.key(seed))


def _history(n=3):
    return {"train_loss": np.linspace(1.0, 0.5, n), "valid_loss": np.full(n, np.nan)}


def test_roundtrip_keeps_values_dtypes_and_none_leaves(tmp_path):
    import optax

    assert checkpoint.restore(tmp_path / "missing", _state(), META) is None
    assert not checkpoint.exists(tmp_path)

    for opt in (nb.optim.adam(0.01), nb.optim.momentum(0.1), optax.sgd(0.1), optax.adamw(0.01)):
        state = _state(opt)
        state = state._replace(epoch=state.epoch + 3, best_loss=state.best_loss * 0 + 0.25)
        checkpoint.save(tmp_path, state, _history(), META)
        got, history = checkpoint.restore(tmp_path, _state(opt, seed=5), META)
        chex.assert_trees_all_equal(got, state, strict=True)
        assert set(history) == {"train_loss", "valid_loss"}
        np.testing.assert_array_equal(history["train_loss"], _history()["train_loss"])
    assert sorted(os.listdir(tmp_path)) == [checkpoint.FILENAME]


def test_a_bfloat16_state_round_trips(tmp_path):
    # NumPy has no bfloat16: such leaves are stored as uint16 and viewed back on restore.
    def bf16(state):
        return jax.tree.map(
            lambda a: a.astype(jnp.bfloat16) if jnp.issubdtype(a.dtype, jnp.floating) else a,
            state,
        )

    state = bf16(_state())
    checkpoint.save(tmp_path, state, _history(), META)
    got, _ = checkpoint.restore(tmp_path, bf16(_state(seed=5)), META)
    chex.assert_trees_all_equal(got, state, strict=True)
    assert got.params[0]["W"].dtype == jnp.bfloat16


def _crash_replace(*args, **kwargs):
    raise OSError("simulated crash before the rename")


def _crash_mid_write(file, arrays):
    file.write(b"PK\x03\x04 half of an archive")
    raise OSError("simulated crash while writing")


@pytest.mark.parametrize(
    "crash",
    [("os", "replace", _crash_replace), ("_files", "_write_npz", _crash_mid_write)],
    ids=["rename", "write"],
)
def test_crash_mid_save_keeps_last_good_checkpoint(crash, tmp_path, monkeypatch):
    good = _state()
    checkpoint.save(tmp_path, good, _history(2), META)
    before = (tmp_path / checkpoint.FILENAME).read_bytes()

    module, name, fn = crash
    monkeypatch.setattr(os if module == "os" else _files, name, fn)
    newer = good._replace(epoch=good.epoch + 1, params=jax.tree.map(lambda a: a + 1, good.params))
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(tmp_path, newer, _history(3), META)
    monkeypatch.undo()

    assert (tmp_path / checkpoint.FILENAME).read_bytes() == before
    assert os.listdir(tmp_path) == [checkpoint.FILENAME]  # the temporary file is removed
    got, history = checkpoint.restore(tmp_path, _state(), META)
    chex.assert_trees_all_equal(got, good, strict=True)
    assert len(history["train_loss"]) == 2


def test_stale_temporary_file_is_ignored_then_removed(tmp_path):
    # A process killed mid-write leaves only its temporary file, never the final name.
    good = _state()
    checkpoint.save(tmp_path, good, _history(), META)
    stale = tmp_path / f".{checkpoint.FILENAME}-dead.tmp"
    stale.write_bytes(b"PK\x03\x04 truncated")
    got, _ = checkpoint.restore(tmp_path, _state(), META)
    chex.assert_trees_all_equal(got, good, strict=True)
    checkpoint.save(tmp_path, good, _history(), META)  # the next save cleans up
    assert os.listdir(tmp_path) == [checkpoint.FILENAME]


def test_checkpoint_file_follows_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = checkpoint.save(tmp_path, _state(), _history(), META)
    finally:
        os.umask(previous)
    assert os.stat(path).st_mode & 0o777 == 0o644


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file_is_a_clear_error(damage, tmp_path):
    path = checkpoint.save(tmp_path, _state(), _history(), META)
    with open(path, "rb") as f:
        data = f.read()
    new = {"truncate": data[: len(data) // 2], "garbage": b"\x00garbage" * 100, "empty": b""}[
        damage
    ]
    with open(path, "wb") as f:
        f.write(new)
    with pytest.raises(
        ValueError, match="expected a readable nnbasics checkpoint in .*received a corrupt file"
    ) as e:
        checkpoint.restore(tmp_path, _state(), META)
    assert str(tmp_path) in str(e.value)


def test_foreign_npz_and_other_version_are_rejected(tmp_path):
    with open(tmp_path / checkpoint.FILENAME, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="corrupt file .*not an .npz archive"):
        checkpoint.restore(tmp_path, _state(), META)
    np.savez(tmp_path / checkpoint.FILENAME, a=np.zeros(3))
    with pytest.raises(ValueError, match="corrupt file .*no manifest"):
        checkpoint.restore(tmp_path, _state(), META)

    path = checkpoint.save(tmp_path, _state(), _history(), META)
    with np.load(path) as npz:
        arrays = dict(npz)
    manifest = json.loads(str(arrays["manifest"]))
    manifest["version"] = 99
    arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="format version .*expected 1, received 99"):
        checkpoint.restore(tmp_path, _state(), META)


@pytest.mark.parametrize(
    ("field", "value"), [("batch_size", 8), ("net", repr(nb.MLP((4, 5, 3)))), ("patience", 3)]
)
def test_mismatched_meta_names_the_field(field, value, tmp_path):
    checkpoint.save(tmp_path, _state(), _history(), META)
    with pytest.raises(ValueError, match=f"has {field} = ") as e:
        checkpoint.restore(tmp_path, _state(), {**META, field: value})
    assert repr(value) in str(e.value) and str(tmp_path) in str(e.value)


def test_wrong_structure_shape_or_dtype_is_rejected(tmp_path):
    checkpoint.save(tmp_path, _state(nb.optim.adam(0.01)), _history(), META)
    with pytest.raises(ValueError, match="holds the state of another optimizer or network") as e:
        checkpoint.restore(tmp_path, _state(nb.optim.momentum(0.1)), META)
    assert "PyTreeDef" not in str(e.value)

    wide = init_state(_params(nb.MLP((4, 9, 3))), nb.optim.adam(0.01), jax.random.key(0))
    with pytest.raises(
        ValueError, match="leaf_00000 shape .*expected \\[4, 9\\], received \\[4, 8\\]"
    ):
        checkpoint.restore(tmp_path, wide, META)

    single = init_state(
        jax.tree.map(lambda a: a.astype(np.float32), _params()),
        nb.optim.adam(0.01),
        jax.random.key(0),
    )
    with pytest.raises(ValueError, match="dtype .*expected 'float32', received 'float64'"):
        checkpoint.restore(tmp_path, single, META)


def test_save_rejects_a_file_as_directory(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="checkpoint_dir: expected a directory"):
        checkpoint.save(target, _state(), _history(), META)


def test_resume_with_other_optimizer_hyperparameters_is_refused(iris, tmp_path):
    train_set, _ = iris
    kw = dict(epochs=2, batch_size=16, checkpoint_dir=tmp_path, resume=True)
    nb.fit(NET, _params(), nb.optim.adam(0.01), train_set, key=jax.random.key(0), **kw)
    with pytest.raises(ValueError, match="optimizer"):
        nb.fit(
            NET,
            _params(),
            nb.optim.adam(0.02),
            train_set,
            key=jax.random.key(0),
            **dict(kw, epochs=3),
        )


# ---------------------------------------------------------------- misuse, refused by fit


def _fit(train, ckpt, optimizer=None, key=1, **kw):
    kw = {"epochs": 2, "batch_size": 16, **kw}
    return nb.fit(
        NET,
        _params(),
        optimizer or nb.optim.adam(0.01),
        train,
        key=jax.random.key(key),
        checkpoint_dir=ckpt,
        **kw,
    )


def test_existing_checkpoint_is_not_overwritten_without_overwrite(iris, tmp_path):
    train, _ = iris
    _fit(train, tmp_path, epochs=3)
    before = (tmp_path / checkpoint.FILENAME).read_bytes()
    with pytest.raises(
        ValueError,
        match=r"^checkpoint_dir: expected a directory without a "
        r"checkpoint, or resume=True .* or overwrite=True",
    ):
        _fit(train, tmp_path)
    assert (tmp_path / checkpoint.FILENAME).read_bytes() == before
    assert _fit(train, tmp_path, overwrite=True).state.epoch == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (dict(key=2), "key"),
        (dict(optimizer=nb.optim.adam(0.02)), "optimizer.learning_rate"),
        (dict(optimizer=nb.optim.sgd(0.01)), "optimizer.factory"),
        (dict(min_delta=0.1, valid="valid", patience=3), "min_delta"),
        (dict(train="shuffled"), "data.train"),
        (dict(valid="shuffled", patience=3), "data.valid"),
    ],
)
def test_resume_refuses_any_other_setting_in_one_line(iris, tmp_path, change, field):
    train, valid = iris
    base = dict(valid=valid, patience=3) if change.get("valid") else {}
    _fit(train, tmp_path, resume=True, **base)
    change = dict(change)
    if change.pop("valid", None) == "shuffled":  # the same shape, other rows
        base["valid"] = (valid[0][::-1].copy(), valid[1][::-1].copy())
    if "valid" in base:
        change.pop("patience")
    if change.pop("train", None):  # the same shape, other rows: another split
        train = (train[0][::-1].copy(), train[1][::-1].copy())
    with pytest.raises(
        ValueError,
        match=rf"^checkpoint: .* has {field} = .*, this run asks "
        rf"for ",
    ) as e:
        _fit(train, tmp_path, resume=True, epochs=4, **base, **change)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("compute_dtype", [None, "bfloat16"])
def test_a_checkpoint_records_its_compute_dtype(iris, tmp_path, compute_dtype):
    # None for a run in the parameters' dtype (JSON null), else the dtype's name.
    train, _ = iris
    _fit(train, tmp_path, compute_dtype=compute_dtype)
    with np.load(tmp_path / checkpoint.FILENAME) as npz:
        meta = json.loads(str(npz["manifest"]))["meta"]
    assert meta["compute_dtype"] == compute_dtype


def test_resume_refuses_other_sample_weights_naming_them(iris, tmp_path):
    train, _ = iris
    weights = np.ones(len(train[0]))
    _fit(train, tmp_path, resume=True, sample_weight=weights)
    weights[0] = 2.0
    with pytest.raises(ValueError, match=r"^checkpoint: .* has sample_weight = '[0-9a-f]{64}', "):
        _fit(train, tmp_path, resume=True, epochs=4, sample_weight=weights)


def test_resume_reports_where_it_went_on(iris, tmp_path):
    train, _ = iris
    assert _fit(train, tmp_path, resume=True).resumed_from is None
    assert _fit(train, tmp_path, resume=True, epochs=5).resumed_from == 2
    with pytest.warns(UserWarning, match="already holds 5 epochs, and epochs=5: nothing left"):
        assert _fit(train, tmp_path, resume=True, epochs=5).resumed_from == 5


def _tamper(path, leaf, value):
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays[leaf] = value(arrays[leaf])
    np.savez(path, **arrays)


def test_restored_values_are_checked(iris, tmp_path):
    train, _ = iris
    path = os.path.join(_fit(train, tmp_path, resume=True) and tmp_path, checkpoint.FILENAME)
    _tamper(path, "leaf_00000", lambda a: np.full_like(a, np.nan))
    with pytest.raises(
        ValueError,
        match=r"^checkpoint: expected finite values as params\[0\]\['W'\] in .*checkpoint.npz', "
        r"received 32 NaN/inf values",
    ):
        _fit(train, tmp_path, resume=True, epochs=3)
    _tamper(path, "leaf_00000", lambda a: np.zeros(a.shape, np.int64))
    with pytest.raises(ValueError, match="leaf_00000 is stored as int64, expected float64"):
        _fit(train, tmp_path, resume=True, epochs=3)


def test_file_system_problems_are_refused_before_training(iris, tmp_path):
    train, _ = iris
    (tmp_path / checkpoint.FILENAME).mkdir()
    with pytest.raises(
        ValueError,
        match=r"^checkpoint_dir: expected a directory where "
        r"checkpoint.npz can be written",
    ):
        _fit(train, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"^checkpoint_dir: expected a writable directory"):
        _fit(train, blocker / "sub")


KILL_EPOCHS = 300


_KILLABLE = f"""
EPOCHS = {KILL_EPOCHS}
import sys, jax, numpy as np, nnbasics as nb
X, y = nb.data.load("digits", n=400)
X = X / 16.0
net = nb.MLP((64, 32, 10))
r = nb.fit(net, net.init(jax.random.key(0)), nb.optim.adam(1e-2), (X, y), epochs=EPOCHS,
           batch_size=8, key=jax.random.key(1), valid=(X[:80], y[:80]), patience=None,
           checkpoint_dir=sys.argv[1], resume=True)
np.save(sys.argv[2], np.concatenate([np.ravel(a) for a in jax.tree.leaves(r.params)]))
"""


def _checkpoint_epoch(ckpt) -> int:
    """The epoch of the checkpoint in ``ckpt`` (0 if none yet, or caught mid-replace)."""
    try:
        with np.load(ckpt / checkpoint.FILENAME) as npz:
            return json.loads(str(npz["manifest"]))["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def test_resume_after_sigkill_at_random_moments_is_bit_identical(tmp_path):
    """Kill the training process at random epochs, resume, compare with an uninterrupted run.

    Each kill waits for the checkpoint to reach a random epoch (so it lands
    inside training whatever the machine's load) plus a random fraction of an
    epoch's time, so it may fall in a step or in a save.
    """
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, JAX_PLATFORMS="cpu")

    def start(ckpt, out):
        return subprocess.Popen(
            [sys.executable, "-c", _KILLABLE, str(ckpt), str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    reference = tmp_path / "reference.npy"
    assert start(tmp_path / "uninterrupted", reference).wait(timeout=300) == 0
    rng = np.random.default_rng(0)
    ckpt, out = tmp_path / "killed", tmp_path / "killed.npy"
    targets = np.sort(rng.choice(np.arange(5, KILL_EPOCHS - 5), size=4, replace=False))
    epochs_seen = []
    for target in targets:
        proc = start(ckpt, out)
        for _ in range(30_000):  # a bounded wait (about 300 s), no clock read
            if _checkpoint_epoch(ckpt) >= target or proc.poll() is not None:
                break
            time.sleep(0.01)
        else:
            pytest.fail("training made no progress")
        time.sleep(rng.uniform(0.0, 0.02))
        assert proc.poll() is None, "the run ended before its kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        leftovers = [p for p in os.listdir(ckpt) if p.endswith(".tmp")]
        assert len(leftovers) <= 1  # at most the killed writer's temporary file
        epochs_seen.append(_checkpoint_epoch(ckpt))
    assert all(0 < e < KILL_EPOCHS for e in epochs_seen), epochs_seen
    proc = start(ckpt, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
    np.testing.assert_array_equal(np.load(out), np.load(reference))
    assert not [p for p in os.listdir(ckpt) if p.endswith(".tmp")]


def _fresh_state(**change):
    """A consistent TrainState after 3 epochs: best at epoch 1, waiting 1 epoch since."""
    state = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    good = dict(epoch=3, best_epoch=1, wait=1, best_loss=0.5)
    return state._replace(**{k: jnp.asarray(v) for k, v in {**good, **change}.items()})


def _train_history(n=3, **change):
    return {"train_loss": np.full(n, 0.5), "valid_loss": np.full(n, 0.6), **change}


# ------------------------------------------------------------------ checkpoint.check_train_state

# check_train_state's docstring: "checkpoint: expected <what> as <field> in '<file>',
# received <value>", for the invariants it lists (e = epochs completed): 0 <= e;
# wait = e - 1 - best_epoch; best_loss inf before the first improvement, finite after;
# diverged implies stopped; every history has e entries and train_loss is finite.
REFUSED = {
    "epoch negative": (
        dict(epoch=-1, best_epoch=-1, wait=-1, best_loss=np.inf),
        {},
        "expected a count >= 0 as epoch in {file!r}, received -1",
    ),
    "wait inconsistent": (
        dict(wait=0),
        {},
        "expected epoch - 1 - best_epoch = 1 as wait in {file!r}, received 0",
    ),
    "best_loss finite before any improvement": (
        dict(best_epoch=-1, wait=3, best_loss=0.5),
        {},
        "expected inf before the first improvement (best_epoch -1), finite after "
        "as best_loss in {file!r}, received 0.5 with best_epoch -1",
    ),
    "diverged but not stopped": (
        dict(diverged=True),
        {},
        "expected True when diverged is True as stopped in {file!r}, received False",
    ),
    "train_loss not finite": (
        {},
        dict(train_loss=np.array([0.5, np.nan, np.inf])),
        "expected finite values as history 'train_loss' in {file!r}, received 2 NaN/inf values",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_check_train_state_refusals_say_field_expected_and_received(case, tmp_path):
    change, history, message = REFUSED[case]
    file = os.path.join(str(tmp_path), checkpoint.FILENAME)
    checkpoint.check_train_state(
        tmp_path, _fresh_state(), _train_history()
    )  # the consistent state passes
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.check_train_state(tmp_path, _fresh_state(**change), _train_history(**history))
    assert str(e.value) == "checkpoint: " + message.format(file=file)


def test_check_train_state_accepts_a_fresh_state_without_history(tmp_path):
    # Before the first epoch (e = 0) the docstring's invariants hold with no history at all.
    fresh = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    assert checkpoint.check_train_state(tmp_path, fresh, {}) is None


# ------------------------------------------------------------------ checkpoint.save / restore


def test_save_reports_a_directory_it_cannot_create_as_one_write_failure(tmp_path):
    # save's docstring: WriteFailed, an OSError subclass, one line naming the file and the cause.
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "sub"
    state = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    with pytest.raises(OSError, match=r"^checkpoint_dir: could not write") as e:
        checkpoint.save(target, state, {}, {})
    assert type(e.value).__name__ == "WriteFailed" and e.value.errno == errno.ENOTDIR
    assert str(e.value) == f"checkpoint_dir: could not write {str(target)!r} (Not a directory)"


def test_a_field_one_side_lacks_shows_as_missing(tmp_path):
    # differences' docstring: a field one side lacks shows as "<missing>" (unquoted in the
    # message, where values are shown by repr).
    state = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    checkpoint.save(tmp_path, state, {}, {"lr": 0.1})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {"lr": 0.1, "l2": 0.5})
    assert "has l2 = <missing>, this run asks for 0.5 (resume" in str(e.value)
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {})
    assert "has lr = 0.1, this run asks for <missing> (resume" in str(e.value)


def test_an_optimizer_without_a_factory_shows_it_as_missing(tmp_path):
    # differences: optimizers of different factories differ in their factory alone, and a
    # field one side lacks shows as "<missing>".
    state = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    checkpoint.save(tmp_path, state, {}, {"optimizer": {"factory": "sgd", "lr": 0.1}})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {"optimizer": {"lr": 0.2}})
    assert "has optimizer.factory = 'sgd', this run asks for <missing> (resume" in str(e.value)


def test_optimizers_of_different_factories_differ_in_the_factory_alone(tmp_path):
    # differences: two factories are shown as the saved one and the one this run asks for.
    state = init_state(XOR_NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    checkpoint.save(tmp_path, state, {}, {"optimizer": {"factory": "sgd", "lr": 0.1}})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {"optimizer": {"factory": "adam", "lr": 0.2}})
    assert "has optimizer.factory = 'sgd', this run asks for 'adam' (resume" in str(e.value)
    assert "optimizer.lr" not in str(e.value)


def test_the_manifest_records_the_epoch(tmp_path):
    # The module docstring: the manifest holds the format version, meta, the epoch, ...
    state = _fresh_state()
    path = checkpoint.save(tmp_path, state, _train_history(), {})
    with np.load(path) as npz:
        manifest = json.loads(str(npz["manifest"]))
    assert manifest["epoch"] == 3 and manifest["version"] == 1 and manifest["meta"] == {}


@pytest.mark.parametrize("previous", [False, True])
def test_a_failed_write_says_whether_a_previous_checkpoint_is_intact(
    previous, tmp_path, monkeypatch
):
    # save's docstring: WriteFailed names the file and the cause, and whether the previous
    # checkpoint is intact.
    state = _fresh_state()
    if previous:
        checkpoint.save(tmp_path, state, _train_history(), {})

    def full(path, arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint._files, "atomic_savez", full)
    with pytest.raises(OSError, match=r"^checkpoint_dir: could not write") as e:
        checkpoint.save(tmp_path, state, _train_history(), {})
    kept = (
        "; the previous checkpoint there is intact (resume from it once the file system "
        "takes writes again)"
        if previous
        else "; no checkpoint was written there"
    )
    file = os.path.join(str(tmp_path), checkpoint.FILENAME)
    assert (
        str(e.value) == f"checkpoint_dir: could not write {file!r} (No space left on device){kept}"
    )
    assert e.value.errno == errno.ENOSPC


def test_a_pytree_with_python_number_leaves_round_trips(tmp_path):
    # The module docstring: save stores a training state, any pytree; restore rebuilds it
    # with like_state's structure, leaves as jax arrays.
    state = {"w": jnp.arange(3.0), "scale": 0.5, "count": 3}
    checkpoint.save(tmp_path, state, {}, {})
    restored, history = checkpoint.restore(tmp_path, state, {})
    assert history == {} and float(restored["scale"]) == 0.5 and int(restored["count"]) == 3
    np.testing.assert_array_equal(restored["w"], [0.0, 1.0, 2.0])


def _rewrite(path, edit):
    with np.load(path) as npz:
        data = dict(npz)
    edit(data)
    np.savez(path, **data)


def _manifest(key, value):
    def edit(data):
        found = json.loads(str(data["manifest"]))
        found[key] = value
        data["manifest"] = np.array(json.dumps(found))

    return edit


def test_a_manifest_without_a_history_list_restores_an_empty_history(tmp_path):
    # A hand-made or older manifest may leave the history out: it is read as no history.
    state = _fresh_state()
    path = checkpoint.save(tmp_path, state, {}, {})

    def drop_history(data):
        found = json.loads(str(data["manifest"]))
        del found["history"]
        data["manifest"] = np.array(json.dumps(found))

    _rewrite(path, drop_history)
    restored, history = checkpoint.restore(tmp_path, state, {})
    assert history == {} and int(restored.epoch) == int(state.epoch)


def _spec(field, value):
    def edit(data):
        found = json.loads(str(data["manifest"]))
        found["leaves"][0][field] = value
        data["manifest"] = np.array(json.dumps(found))

    return edit


CORRUPT = (
    "expected a readable nnbasics checkpoint in {dir}, received a corrupt file {file!r} ({why})"
)


MALFORMED = "expected {what} as manifest {field} in {file!r}, received {value}"


# restore's docstring: each failure is a ValueError naming the directory or the field
# ("checkpoint: expected ..., received ..." as everywhere).
UNREADABLE = {
    "no manifest": (lambda data: data.pop("manifest"), CORRUPT, dict(why="no manifest")),
    "a foreign manifest": (
        _manifest("format", "other"),
        CORRUPT,
        dict(why="the manifest is not an nnbasics checkpoint manifest"),
    ),
    "treedef not a string": (
        _manifest("treedef", 7),
        MALFORMED,
        dict(what="a string", field="treedef", value="7"),
    ),
    "leaves not a list": (
        _manifest("leaves", {"0": 1}),
        MALFORMED,
        dict(what="a list", field="leaves", value="{'0': 1}"),
    ),
    "unknown dtype": (
        _spec("dtype", "float6x"),
        MALFORMED,
        dict(what="a NumPy/JAX dtype name", field="leaves[0].dtype", value="'float6x'"),
    ),
    "a leaf of another shape than its manifest's": (
        lambda data: data.update(leaf_00000=np.zeros((3, 2), data["leaf_00000"].dtype)),
        CORRUPT,
        dict(why="leaf_00000 has shape (3, 2), its manifest says [2, 3]"),
    ),
    "a history array missing": (
        lambda data: data.pop("history_valid_loss"),
        CORRUPT,
        dict(why="history 'valid_loss' is missing"),
    ),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_unreadable_manifests_are_refused_with_the_whole_message(case, tmp_path):
    edit, message, parts = UNREADABLE[case]
    state = _fresh_state()
    path = checkpoint.save(tmp_path, state, _train_history(), {})
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {})
    expected = message.format(dir=str(tmp_path), file=path, **parts)
    assert str(e.value) == "checkpoint: " + expected


def test_history_arrays_of_two_dimensions_are_refused_with_the_whole_message(tmp_path):
    state = _fresh_state()
    path = checkpoint.save(tmp_path, state, _train_history(valid_loss=np.zeros((3, 1))), {})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {})
    lengths = {"train_loss": (3,), "valid_loss": (3, 1)}
    expected = f"expected 1-D arrays of one length as history in {path!r}, received {lengths}"
    assert str(e.value) == "checkpoint: " + expected


def test_a_checkpoint_dir_whose_checkpoint_is_a_directory_is_refused_whole(tmp_path):
    (tmp_path / checkpoint.FILENAME).mkdir()
    assert fit_refusal(checkpoint_dir=tmp_path) == (
        "checkpoint_dir: expected a directory where checkpoint.npz can be written, "
        f"received {str(tmp_path)!r}, where checkpoint.npz is a directory"
    )
