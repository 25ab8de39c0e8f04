"""Files, locks, checkpoints and processes: each fault ends right or refused in one line."""

import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import optax
import pytest

import nnbasics as nb
from nnbasics import _files, checkpoint

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


# --- item 9: resume with optimizers nnbasics cannot inspect -------------------------


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


# --- item 6: one writer at a time ----------------------------------------------------

_SAVE_LOOP = """
import sys
import numpy as np
from nnbasics import _files
a = {"x": np.random.default_rng(int(sys.argv[2])).normal(size=(200_000,))}
for _ in range(int(sys.argv[3])):
    _files.atomic_savez(sys.argv[1], a)
"""

_HOLD = """
import sys
from nnbasics import _files
with _files.hold(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _python(code, *args, **kw):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], **kw)


@pytest.mark.multiprocess
def test_two_processes_saving_one_path_both_succeed(tmp_path):
    path = tmp_path / "m.npz"
    procs = [_python(_SAVE_LOOP, path, seed, 40, stderr=subprocess.PIPE) for seed in (0, 1)]
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert os.listdir(tmp_path) == ["m.npz"]
    assert np.load(path)["x"].shape == (200_000,)


def test_stale_temporary_file_is_removed_live_one_kept(tmp_path):
    path = str(tmp_path / "m.npz")
    stale = tmp_path / ".m.npz-dead.tmp"
    stale.write_bytes(b"left by a killed writer")
    live = tmp_path / ".m.npz-live.tmp"
    live.write_bytes(b"being written")
    with open(live, "rb") as f:
        fcntl = pytest.importorskip("fcntl")
        # flock conflicts between open file descriptions even within one process.
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        _files.atomic_savez(path, {"x": np.zeros(3)})
        assert sorted(os.listdir(tmp_path)) == [".m.npz-live.tmp", "m.npz"]


@pytest.mark.multiprocess
def test_checkpoint_dir_in_use_by_another_run_is_refused(iris, tmp_path):
    pytest.importorskip("fcntl")
    holder = _python(_HOLD, tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
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
