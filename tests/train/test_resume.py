"""Resuming nb.fit from a checkpoint: optimizers nnbasics cannot inspect, recorded settings, a checkpoint folder in use."""

import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import optax
import pytest

import nnbasics as nb
from nnbasics import checkpoint
from tests._helpers.processes import run_python
from tests._helpers.train import X4, XOR_NET, Y4, fit_refusal

NET = nb.MLP((4, 8, 3), hidden="tanh", output="softmax")


@pytest.fixture(scope="module")
def iris():
    X, y = nb.data.load("iris")
    X = np.asarray(X, np.float32)
    X = (X - X.mean(0)) / X.std(0)
    return X[:60], np.asarray(y)[:60]


def _fit(train, ckpt, optimizer, epochs=1, **kw):
    return nb.fit(
        NET,
        NET.init(jax.random.key(0)),
        optimizer,
        train,
        epochs=epochs,
        batch_size=30,
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        **kw,
    )


# --- resume with optimizers nnbasics cannot inspect -------------------------


def test_plain_optax_resume_warns_what_cannot_be_verified(iris, tmp_path):
    _fit(iris, tmp_path, optax.adam(1e-3))
    with pytest.warns(UserWarning, match="cannot be verified") as record:
        result = _fit(iris, tmp_path, optax.adam(1e-2), epochs=2, resume=True)
    assert result.resumed_from == 1
    assert sum("cannot be verified" in str(w.message) for w in record) == 1


def test_plain_optax_resume_refuses_another_state_structure(iris, tmp_path):
    _fit(iris, tmp_path, optax.adam(1e-3))
    with pytest.raises(ValueError, match=r"optimizer\.state"):
        _fit(iris, tmp_path, optax.sgd(1e-3, momentum=0.9), epochs=2, resume=True)


def test_inject_hyperparams_resume_refuses_another_learning_rate(iris, tmp_path):
    _fit(iris, tmp_path, optax.inject_hyperparams(optax.adam)(learning_rate=1e-3))
    with pytest.raises(ValueError, match=r"optimizer\.hyperparams\.learning_rate"):
        _fit(
            iris,
            tmp_path,
            optax.inject_hyperparams(optax.adam)(learning_rate=1e-2),
            epochs=2,
            resume=True,
        )


def test_nb_optim_resume_gives_no_unverifiable_warning(iris, tmp_path):
    _fit(iris, tmp_path, nb.optim.adam(1e-3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _fit(iris, tmp_path, nb.optim.adam(1e-3), epochs=2, resume=True).resumed_from == 1


_HOLD = """
import sys
from nnbasics import _files
with _files.hold(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.mark.multiprocess
def test_checkpoint_dir_in_use_by_another_run_is_refused(iris, tmp_path):
    pytest.importorskip("fcntl")
    holder = run_python(_HOLD, tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(ValueError, match="checkpoint_dir: .*in use by another run"):
            _fit(iris, tmp_path, nb.optim.adam(1e-3), resume=True)
        assert not checkpoint.exists(tmp_path)
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "nnbasics",
                "train",
                "--dataset",
                "iris",
                "--epochs",
                "1",
                "--checkpoint-dir",
                str(tmp_path),
                "--resume",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode != 0
        assert "in use by another run" in cli.stderr
        # One error line (the progress bar's first line may precede it), no traceback.
        assert "Traceback" not in cli.stderr
        assert sum("error" in line for line in cli.stderr.splitlines()) == 1, cli.stderr
    finally:
        holder.communicate(b"", timeout=60)
    _fit(iris, tmp_path, nb.optim.adam(1e-3), resume=True)  # free again once it ends
    assert checkpoint.exists(tmp_path)


def test_a_checkpoint_dir_another_run_holds_is_refused_in_process(tmp_path):
    # docs/reliability.md: a second run on a checkpoint_dir another run holds is refused
    # before any work. Another run's hold is a flock on the directory (a second open file
    # description conflicts even within one process).
    fcntl = pytest.importorskip("fcntl")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        message = fit_refusal(checkpoint_dir=tmp_path)
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
        XOR_NET,
        XOR_NET.init(jax.random.key(0)),
        optimizer or nb.optim.sgd(0.1),
        (X4, Y4),
        epochs=epochs,
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        resume=True,
        **kw,
    )


def test_a_checkpoint_of_another_network_of_the_same_shapes_is_refused(iris, tmp_path):
    # The module docstring: a checkpoint records the network; its parameters alone would
    # fit any network of the same sizes.
    _fit(iris, tmp_path, nb.optim.sgd(0.1))
    relu = nb.MLP(NET.sizes, hidden="relu", output="softmax")
    with pytest.raises(ValueError, match=r"^checkpoint: .* has net = ") as e:
        nb.fit(
            relu,
            relu.init(jax.random.key(0)),
            nb.optim.sgd(0.1),
            iris,
            epochs=2,
            batch_size=30,
            key=jax.random.key(1),
            checkpoint_dir=tmp_path,
            resume=True,
        )
    assert "hidden='relu'" in str(e.value)


def test_a_checkpoint_records_the_monitor_it_was_made_with(tmp_path):
    # fit's docstring: a resume must be the same run (settings compared field by field);
    # the monitor is one of them, recorded by its value.
    _fit4(tmp_path, valid=(X4, Y4), monitor="valid_accuracy")
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        _fit4(tmp_path, epochs=2, valid=(X4, Y4))
    assert "has monitor = 'valid_accuracy', this run asks for <missing> (resume" in str(e.value)


@pytest.mark.parametrize(
    ("setting", "made", "asked"), [("patience", 3, 5), ("min_delta", 0.0, 0.25)]
)
def test_a_checkpoint_records_its_early_stopping_settings(tmp_path, setting, made, asked):
    # Another patience or min_delta stops the run at another epoch: not the same run.
    _fit4(tmp_path, valid=(X4, Y4), **{setting: made})
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        _fit4(tmp_path, epochs=2, valid=(X4, Y4), **{setting: asked})
    assert f"has {setting} = {made!r}, this run asks for {asked!r}" in str(e.value)


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
    # shown at the caller's line: nb.fit's call inside _fit4
    (warning,) = [w for w in seen if w.category is UserWarning]
    first = _fit4.__code__.co_firstlineno
    assert warning.filename == __file__
    assert first < warning.lineno <= first + 11


def test_resuming_a_run_that_stopped_early_says_so(tmp_path):
    # patience 1 on XOR with a learning rate that overshoots: the run stops early
    first = _fit4(tmp_path, nb.optim.sgd(50.0), epochs=30, valid=(X4, Y4), patience=1)
    assert first.stopped_early
    done = len(first.history["train_loss"])
    with pytest.warns(UserWarning, match="nothing left to train") as seen:
        _fit4(tmp_path, nb.optim.sgd(50.0), epochs=30, valid=(X4, Y4), patience=1)
    assert str(seen[0].message) == (
        f"the checkpoint in {str(tmp_path)!r} had already stopped early after {done} "
        "epochs: nothing left to train"
    )


def test_resuming_a_finished_run_says_how_to_continue(tmp_path):
    _fit4(tmp_path, epochs=2)
    with pytest.warns(UserWarning, match="nothing left to train") as seen:
        result = _fit4(tmp_path, epochs=2)
    assert result.resumed_from == 2
    assert str(seen[0].message) == (
        f"the checkpoint in {str(tmp_path)!r} already holds 2 epochs, and epochs=2: nothing "
        "left to train (raise epochs to continue)"
    )
