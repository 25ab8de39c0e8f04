"""Ambiguous headers, Ctrl-C at any moment, non-float parameters, --drop-missing with a target.

Each test backs a row of docs/reliability.md.
"""

import gc
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import nnbasics as nb
from tests._helpers.cli import one_line, run

NUMBER_HEADER = "400,410,420,430,species\n" + "".join(
    f"{i},{i + 1},{i + 2},{i + 3},{'ab'[i % 2]}\n" for i in range(40)
)


# --- a header whose names are numbers


def test_number_header_is_refused_suggesting_the_options(tmp_path, capsys):
    path = tmp_path / "h.csv"
    path.write_text(NUMBER_HEADER)
    with pytest.raises(ValueError, match=r"line 1: .*--header or --no-header.*'species'"):
        nb.data.read(path)
    code, out, err = run(capsys, "train", "--data", path, "--epochs", "1", "--quiet")
    line = one_line(err)
    assert code == 2 and "--header" in line and "--no-header" in line and "'species'" in line


def test_header_option_reads_the_first_row_either_way(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(NUMBER_HEADER)
    named = nb.data.read(path, header=True)
    assert named.feature_names == ("400", "410", "420", "430") and named.target_name == "species"
    assert named.classes == ("a", "b") and len(named.X) == 40
    raw = nb.data.read(path, header=False)
    assert raw.classes == ("a", "b", "species") and len(raw.X) == 41
    numbers = tmp_path / "n.csv"
    numbers.write_text("400,410\n1,2\n")
    assert nb.data.read_features(numbers)[0].shape == (2, 2)  # numbers only: an example
    assert nb.data.read_features(numbers, header=True)[1] == ("400", "410")


def test_header_option_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "h.csv"
    path.write_text(NUMBER_HEADER)
    model = tmp_path / "m.npz"
    argv = ["train", "--data", path, "--epochs", "2", "--batch-size", "8", "--quiet"]
    code, _, err = run(capsys, *argv, "--header", "--save", model)
    assert code == 0, err
    assert nb.load_model(model).labels == ("a", "b")
    code, out, err = run(capsys, "predict", model, path, "--header")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 41 and "examples: accuracy" in err


def test_a_first_row_whose_class_appears_below_stays_an_example(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2,a\n2,3,b\n3,4,a\n4,5,b\n")
    assert len(nb.data.read(path).X) == 4


# --- Ctrl-C at any moment


FOREVER = ["train", "--dataset", "iris", "--epochs", "100000", "--patience", "none", "--quiet"]


def _train_forever(*extra):
    return subprocess.Popen(
        [sys.executable, "-m", "nnbasics", *FOREVER, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("delay", [0.2, 0.5, 1.0, 2.0, 4.0])
def test_ctrl_c_at_any_moment_is_one_line_and_130(delay):
    proc = _train_forever()
    time.sleep(delay)  # start-up (imports), data, compilation or training: any moment
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("nnbasics: interrupted"), err


def test_ctrl_c_during_training_is_one_line_with_how_to_resume(tmp_path):
    ckpt = tmp_path / "ckpt"
    proc = _train_forever("--checkpoint-dir", str(ckpt))
    for _ in range(12_000):  # counted 50 ms polls: a 600 s bound, no clock read
        if (ckpt / "checkpoint.npz").exists():
            break
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert one_line(err).startswith("nnbasics: interrupted (the same command with --resume")


def test_an_interrupt_a_gc_callback_swallowed_still_ends_the_command_in_one_line(capsys):
    # JAX's garbage-collection callback runs inside collections, where Python ignores an
    # exception (it prints "Exception ignored in" and goes on): a Ctrl-C landing there
    # was lost, and training went on to its last epoch.
    raised = []

    def interrupted_in_a_collection(phase, info):
        handler = signal.getsignal(signal.SIGINT)
        if not raised and getattr(handler, "__name__", "") == "interrupt":  # the command's
            raised.append(phase)
            raise KeyboardInterrupt

    gc.callbacks.append(interrupted_in_a_collection)
    try:
        code, _, err = run(capsys, *FOREVER[:3], "--epochs", "3000", *FOREVER[5:])
    finally:
        gc.callbacks.remove(interrupted_in_a_collection)
    assert raised
    assert code == 130, err
    assert one_line(err).startswith("nnbasics: interrupted"), err


def test_an_interrupt_in_a_collection_as_the_command_returns_is_reported(capsys, monkeypatch):
    # A collection can run while the command puts back the previous SIGINT handler, its
    # own still installed: an interrupt raised there must reach the command's hook, which
    # reports it (before, the hook went back first and the interrupt was lost: status 0).
    real_signal, raised = signal.signal, []

    def interrupted_in_a_collection(phase, info):
        if not raised:
            raised.append(phase)
            raise KeyboardInterrupt

    def collect_then_restore(signum, handler):
        if getattr(signal.getsignal(signum), "__name__", "") == "interrupt":  # the command's
            gc.callbacks.append(interrupted_in_a_collection)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(interrupted_in_a_collection)
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "signal", collect_then_restore)
    code, _, err = run(capsys, *FOREVER[:3], "--epochs", "1", *FOREVER[5:])
    assert raised
    assert code == 130, err
    assert one_line(err).startswith("nnbasics: interrupted"), err


# --- parameters of another dtype


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_fit_refuses_integer_or_boolean_params_naming_params(dtype):
    net = nb.MLP((2, 3, 2))
    params = jax.tree.map(lambda p: np.asarray(p).astype(dtype), net.init(jax.random.key(0)))
    X = np.zeros((8, 2), np.float32)
    y = np.arange(8) % 2
    with pytest.raises(ValueError, match=rf"^params: expected floating-point .* {np.dtype(dtype)}"):
        nb.fit(net, params, nb.optim.sgd(0.1), (X, y), epochs=1, key=jax.random.key(1))


# --- predict --drop-missing with the target column


def test_predict_drop_missing_recognises_the_target_column(tmp_path, capsys):
    rows = [f"{i % 7},{(i * 3) % 5},{'xy'[i % 2]}" for i in range(30)]
    train = tmp_path / "train.csv"
    train.write_text("u,v,kind\n" + "\n".join(rows) + "\n")
    model = tmp_path / "m.npz"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        train,
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--quiet",
        "--save",
        model,
    )
    assert code == 0, err
    holes = tmp_path / "holes.csv"
    holes.write_text("u,v,kind\n1,2,x\n,3,y\n4,4,x\n2,2,y\n")
    code, out, err = run(capsys, "predict", model, holes, "--drop-missing")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("line,label") and [r.split(",")[0] for r in lines[1:]] == [
        "2",
        "4",
        "5",
    ]
    assert "dropped 1 row (line 3)" in err and "examples: accuracy" in err
