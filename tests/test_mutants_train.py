"""Tests written for the survivors of the second mutation round (docs/mutation-report.md).

Training, checkpoints, models and data: each test pins a documented claim (a
docstring, DESIGN.md or docs/) that a surviving mutant changed, with the
expected value written out here, not read back from the code under test.
"""

import errno
import json
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import checkpoint
from nnbasics.train import cast_data, init_state, to_device

NET = nb.MLP((2, 3, 2), hidden="tanh", output="softmax")


def _state(**change):
    """A consistent TrainState after 3 epochs: best at epoch 1, waiting 1 epoch since."""
    state = init_state(NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    good = dict(epoch=3, best_epoch=1, wait=1, best_loss=0.5)
    return state._replace(**{k: jnp.asarray(v) for k, v in {**good, **change}.items()})


def _history(n=3, **change):
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
    checkpoint.check_train_state(tmp_path, _state(), _history())  # the consistent state passes
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.check_train_state(tmp_path, _state(**change), _history(**history))
    assert str(e.value) == "checkpoint: " + message.format(file=file)


def test_check_train_state_accepts_a_fresh_state_without_history(tmp_path):
    # Before the first epoch (e = 0) the docstring's invariants hold with no history at all.
    fresh = init_state(NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    assert checkpoint.check_train_state(tmp_path, fresh, {}) is None


# ------------------------------------------------------------------ checkpoint.save / restore


def test_save_reports_a_directory_it_cannot_create_as_one_write_failure(tmp_path):
    # save's docstring: WriteFailed, an OSError subclass, one line naming the file and the cause.
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "sub"
    state = init_state(NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    with pytest.raises(OSError, match=r"^checkpoint_dir: could not write") as e:
        checkpoint.save(target, state, {}, {})
    assert type(e.value).__name__ == "WriteFailed" and e.value.errno == errno.ENOTDIR
    assert str(e.value) == f"checkpoint_dir: could not write {str(target)!r} (Not a directory)"


def test_a_field_one_side_lacks_shows_as_missing(tmp_path):
    # differences' docstring: a field one side lacks shows as "<missing>" (unquoted in the
    # message, where values are shown by repr).
    state = init_state(NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
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
    state = init_state(NET.init(jax.random.key(0)), nb.optim.sgd(0.1), jax.random.key(1))
    checkpoint.save(tmp_path, state, {}, {"optimizer": {"factory": "sgd", "lr": 0.1}})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {"optimizer": {"lr": 0.2}})
    assert "has optimizer.factory = 'sgd', this run asks for <missing> (resume" in str(e.value)


def test_the_manifest_records_the_epoch(tmp_path):
    # The module docstring: the manifest holds the format version, meta, the epoch, ...
    state = _state()
    path = checkpoint.save(tmp_path, state, _history(), {})
    with np.load(path) as npz:
        manifest = json.loads(str(npz["manifest"]))
    assert manifest["epoch"] == 3 and manifest["version"] == 1 and manifest["meta"] == {}


@pytest.mark.parametrize("previous", [False, True])
def test_a_failed_write_says_whether_a_previous_checkpoint_is_intact(
    previous, tmp_path, monkeypatch
):
    # save's docstring: WriteFailed names the file and the cause, and whether the previous
    # checkpoint is intact.
    state = _state()
    if previous:
        checkpoint.save(tmp_path, state, _history(), {})

    def full(path, arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint._files, "atomic_savez", full)
    with pytest.raises(OSError, match=r"^checkpoint_dir: could not write") as e:
        checkpoint.save(tmp_path, state, _history(), {})
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
    state = _state()
    path = checkpoint.save(tmp_path, state, _history(), {})
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {})
    expected = message.format(dir=str(tmp_path), file=path, **parts)
    assert str(e.value) == "checkpoint: " + expected


def test_history_arrays_of_two_dimensions_are_refused_with_the_whole_message(tmp_path):
    state = _state()
    path = checkpoint.save(tmp_path, state, _history(valid_loss=np.zeros((3, 1))), {})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        checkpoint.restore(tmp_path, state, {})
    lengths = {"train_loss": (3,), "valid_loss": (3, 1)}
    expected = f"expected 1-D arrays of one length as history in {path!r}, received {lengths}"
    assert str(e.value) == "checkpoint: " + expected


# ------------------------------------------------------------------ fit's argument checks

X4 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y4 = np.array([0, 1, 1, 0])


def _refusal(**change):
    """The message of the ValueError ``nb.fit`` raises, before any work, for ``change``."""
    kw = dict(
        net=NET,
        params=NET.init(jax.random.key(0)),
        optimizer=nb.optim.sgd(0.1),
        train=(X4, Y4),
        epochs=1,
        key=jax.random.key(1),
    )
    kw.update(change)
    with pytest.raises(ValueError) as e:  # noqa: PT011 (the whole message is compared)
        nb.fit(kw.pop("net"), kw.pop("params"), kw.pop("optimizer"), kw.pop("train"), **kw)
    return str(e.value)


def test_a_checkpoint_dir_whose_checkpoint_is_a_directory_is_refused_whole(tmp_path):
    (tmp_path / checkpoint.FILENAME).mkdir()
    assert _refusal(checkpoint_dir=tmp_path) == (
        "checkpoint_dir: expected a directory where checkpoint.npz can be written, "
        f"received {str(tmp_path)!r}, where checkpoint.npz is a directory"
    )


def test_a_compute_dtype_that_is_no_dtype_name_is_refused(tmp_path):
    # fit's docstring: compute_dtype is None, bfloat16 or float16; an unknown name is bad input.
    assert _refusal(compute_dtype="half-precision") == (
        "compute_dtype: expected one of None, 'bfloat16', 'float16', received 'half-precision'"
    )


@pytest.mark.parametrize("as_jax", [False, True])
def test_cast_data_puts_targets_in_the_dtype_and_keeps_labels_integers(as_jax):
    # cast_data's docstring: X in dtype, y as int labels (softmax) or in dtype.
    put = jnp.asarray if as_jax else np.asarray
    X, y = cast_data(NET, (put(X4), put(Y4)), jnp.float32)
    assert (X.dtype, y.dtype.kind) == (jnp.float32, "i")
    linear = nb.MLP((2, 1), output="linear")
    X, y = cast_data(linear, (put(X4), put(X4[:, :1])), jnp.float32)
    assert (X.dtype, y.dtype) == (jnp.float32, jnp.float32)
    # to_device(x) without a dtype is jnp.asarray(x): the dtype is kept.
    assert to_device(put(Y4)).dtype == put(Y4).dtype


def test_a_net_or_optimizer_of_another_type_is_refused_naming_the_type():
    # Bad input names the argument, the expected and the received value (DESIGN.md).
    assert _refusal(net="mlp") == "net: expected an nnbasics.MLP, received str"
    assert _refusal(optimizer="adam") == (
        "optimizer: expected an optax.GradientTransformation (nb.optim or optax), received str"
    )


def test_a_train_set_that_is_no_pair_is_refused_naming_its_type():
    assert _refusal(train=X4) == "train: expected a pair (X, y), received ndarray"
    assert _refusal(train=(X4,)) == "train: expected a pair (X, y), received tuple"


def test_monitor_valid_accuracy_needs_a_valid_set_and_a_classification_output():
    # fit's docstring: monitor "valid_accuracy" for softmax/sigmoid outputs, with valid.
    expected = (
        "monitor: expected 'valid_loss' unless valid is given and the output is softmax or sigmoid"
    )
    assert (
        _refusal(monitor="valid_accuracy")
        == f"{expected}, received 'valid_accuracy' with no valid set"
    )
    linear = nb.MLP((2, 1), output="linear")
    pair = (X4, X4[:, :1])
    assert _refusal(
        net=linear,
        params=linear.init(jax.random.key(0)),
        train=pair,
        valid=pair,
        monitor="valid_accuracy",
    ) == (f"{expected}, received 'valid_accuracy' with linear output")
    kw = dict(epochs=1, key=jax.random.key(1), valid=(X4, Y4), monitor="valid_accuracy")
    result = nb.fit(NET, NET.init(jax.random.key(0)), nb.optim.sgd(0.1), (X4, Y4), **kw)
    assert len(result.history["valid_accuracy"]) == 1


def test_params_that_are_one_array_are_refused_naming_params():
    # Bad input, here params that are no list of layers, is a ValueError naming the argument
    # and what it received: the array's shape, not the type of the tracer fit checks it as.
    message = _refusal(params=jnp.zeros((2, 3)))
    assert message == (
        "params: expected a list of 2 layers {'W', 'b'}, received an array of shape (2, 3)"
    )


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
    hint = nb.train._fit._precision_hint(jnp.dtype(dtype), compute_dtype and jnp.dtype(compute_dtype))
    assert hint == HINTS[dtype, compute_dtype]


def test_a_checkpoint_dir_another_run_holds_is_refused_in_process(tmp_path):
    # docs/reliability.md: a second run on a checkpoint_dir another run holds is refused
    # before any work. Another run's hold is a flock on the directory (a second open file
    # description conflicts even within one process).
    fcntl = pytest.importorskip("fcntl")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        message = _refusal(checkpoint_dir=tmp_path)
    finally:
        os.close(fd)
    assert message == (
        "checkpoint_dir: expected a directory no other run is writing, received "
        f"{str(tmp_path)!r}, in use by another run (wait for it to end, or choose "
        "another directory)"
    )
    assert not os.listdir(tmp_path)  # refused before any work: nothing written


# ------------------------------------------------------------------ fit's resume


def _fit4(ckpt, optimizer=None, epochs=1, **kw):
    return nb.fit(
        NET,
        NET.init(jax.random.key(0)),
        optimizer or nb.optim.sgd(0.1),
        (X4, Y4),
        epochs=epochs,
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        resume=True,
        **kw,
    )


def test_a_checkpoint_records_the_monitor_it_was_made_with(tmp_path):
    # fit's docstring: a resume must be the same run (settings compared field by field);
    # the monitor is one of them, recorded by its value.
    _fit4(tmp_path, valid=(X4, Y4), monitor="valid_accuracy")
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        _fit4(tmp_path, epochs=2, valid=(X4, Y4))
    assert "has monitor = 'valid_accuracy', this run asks for <missing> (resume" in str(e.value)


def test_resuming_with_an_opaque_optimizer_warns_what_was_not_compared(tmp_path):
    # fit's docstring: with an optax transformation that is not nb.optim's, only its state's
    # structure, shapes and dtypes (and inject_hyperparams' values) can be compared, and the
    # resume is accepted with a warning saying so.
    import optax

    _fit4(tmp_path, optax.sgd(0.1))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = _fit4(tmp_path, optax.sgd(0.1), epochs=2)
    assert result.resumed_from == 1
    assert [str(w.message) for w in seen if w.category is UserWarning] == [
        f"resuming from {str(tmp_path)!r} with an optimizer that is not an nb.optim one: its "
        "state's structure, shapes and dtypes (and inject_hyperparams' values) were compared, "
        "its other hyper-parameters (learning rate, ...) cannot be verified"
    ]


def test_fit_on_a_one_device_mesh_equals_fit_without_one():
    # fit's docstring: mesh, a 1-D Mesh with axis "data", for data-parallel training; on
    # one device that is the same run.
    from jax.sharding import Mesh

    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    kw = dict(epochs=2, batch_size=2, key=jax.random.key(1), valid=(X4, Y4))
    params = NET.init(jax.random.key(0), jnp.float64)
    plain = nb.fit(NET, params, nb.optim.sgd(0.1), (X4, Y4), **kw)
    meshed = nb.fit(NET, params, nb.optim.sgd(0.1), (X4, Y4), mesh=mesh, **kw)
    for a, b in zip(jax.tree.leaves(plain.params), jax.tree.leaves(meshed.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.history["valid_loss"], meshed.history["valid_loss"])


def test_the_callback_gets_each_epochs_metrics_as_python_floats():
    # fit's docstring: callback(epoch, metrics) after each epoch, metrics a dict of Python
    # floats (the history's values of that epoch).
    seen = []
    kw = dict(epochs=2, key=jax.random.key(1), valid=(X4, Y4))
    result = nb.fit(
        NET,
        NET.init(jax.random.key(0)),
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


# ------------------------------------------------------------------ the compiled epoch


def test_evaluate_gives_each_pairs_mean_nll_and_accuracy():
    # evaluate's docstring: [metrics(X, y) for each pair], (mean NLL, accuracy) each.
    params = NET.init(jax.random.key(0), jnp.float64)
    X = np.asarray(jax.random.normal(jax.random.key(2), (8, 2)), np.float64)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    pairs = [(X[:3], y[:3]), (X[3:], y[3:])]
    got = nb.train.evaluate(NET, params, *pairs)
    assert len(got) == 2
    for (loss, accuracy), (Xp, yp) in zip(got, pairs):
        np.testing.assert_allclose(loss, NET.loss(params, Xp, yp), rtol=1e-12)
        np.testing.assert_allclose(accuracy, np.mean(np.asarray(NET.predict(params, Xp)) == yp))
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
    epoch = nb.train.compile_epoch(NET, opt, batch_size=2, l2=1e-2)
    params = NET.init(jax.random.key(0), jnp.float64)
    args = tuple(map(jnp.asarray, (X4, Y4, X4[:2], Y4[:2])))
    fresh = lambda: init_state(params, opt, jax.random.key(1))
    lowered = epoch.lower(fresh(), *args)
    assert isinstance(lowered, jax.stages.Lowered)
    ahead = epoch.compile(fresh(), *args)
    (s1, m1), (s2, m2) = epoch(fresh(), *args), ahead(fresh(), *args)
    for a, b in zip(jax.tree.leaves((s1, m1)), jax.tree.leaves((s2, m2))):
        np.testing.assert_array_equal(a, b)
    assert not np.isnan(float(m2["valid_loss"]))


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


def test_train_epoch_counts_any_decrease_as_an_improvement_by_default():
    # train_epoch's signature: min_delta = 0.0, so any decrease of the validation loss is
    # an improvement (fit's docstring: "by more than min_delta").
    opt = nb.optim.sgd(0.1)
    state = init_state(NET.init(jax.random.key(0), jnp.float64), opt, jax.random.key(1))
    data = tuple(map(jnp.asarray, (X4, Y4, X4, Y4)))
    losses = []
    for _ in range(2):
        state, m = nb.train.train_epoch(state, *data, net=NET, optimizer=opt, batch_size=4)
        losses.append(float(m["valid_loss"]))
    assert 0 < losses[0] - losses[1] < 1  # a small decrease
    assert int(state.best_epoch) == 1 and int(state.wait) == 0


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
