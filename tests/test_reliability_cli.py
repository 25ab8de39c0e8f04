"""Issue 16, the CLI and model-file half: every bad input or fault ends right or in one line.

Each test backs a row of docs/reliability.md ("Data, models and predictions").
"""

import errno
import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest
from test_cli import QUICK
from test_cli import run as _run

import nnbasics as nb
from nnbasics.data import Standardizer


def run(capsys, *argv):
    return _run(capsys, *map(str, argv))


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- a tiny model file, written through the API (no training needed)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    params = net.init(jax.random.key(0))
    stats = Standardizer(np.array([1.0, -1.0], np.float32), np.array([2.0, 0.5], np.float32))
    nb.save_model(d / "m.npz", net, params, stats, labels=["a", "b", "c"])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 2))
    np.savetxt(d / "x.csv", X, delimiter=",", header="u,v", comments="", fmt="%.6f")
    return d


def _rewrite(src, dst, change):
    """Copies the model archive ``src`` to ``dst`` with ``change(header, arrays)`` applied."""
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("header")))
    change(header, arrays)
    np.savez(dst, header=np.array(json.dumps(header)), **arrays)


def _set(name, value):
    def change(header, arrays):
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] = value

    return change


def _header(key, value):
    def change(header, arrays):
        header[key] = value

    return change


CORRUPT = {
    "nan weight": (_set("layers.0.W", np.nan), "layers.0.W"),
    "inf bias": (_set("layers.1.b", np.inf), "layers.1.b"),
    "zero scale": (_set("standardizer.scale", 0.0), "standardizer.scale"),
    "negative scale": (_set("standardizer.scale", -1.0), "standardizer.scale"),
    "nan scale": (_set("standardizer.scale", np.nan), "standardizer.scale"),
    "nan mean": (_set("standardizer.mean", np.nan), "standardizer.mean"),
    "too few class names": (_header("labels", ["a", "b"]), "labels"),
    "labels not a list": (_header("labels", "abc"), "labels"),
    "unknown dtype name": (_header("dtypes", {"layers.0.W": "float77"}), "dtypes"),
    "dtypes as a list": (_header("dtypes", ["float32"]), "dtypes"),
    "integer dtype": (
        lambda h, a: (
            a.update({"layers.0.W": a["layers.0.W"].astype(np.int32)})
            or h["dtypes"].update({"layers.0.W": "int32"})
        ),
        "layers.0.W",
    ),
    "net as a list": (_header("net", [2, 4, 3]), "network configuration"),
    "meta as a list": (_header("meta", [1]), "meta"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_load_model_refuses_bad_values_naming_file_and_field(model_dir, tmp_path, case):
    change, field = CORRUPT[case]
    path = tmp_path / "bad.npz"
    _rewrite(model_dir / "m.npz", path, change)
    with pytest.raises(ValueError, match="model: expected") as e:
        nb.load_model(path)
    assert field in str(e.value) and str(path) in str(e.value)


def test_load_model_refuses_unsupported_compression_and_bad_zip(model_dir, tmp_path):
    data = bytearray((model_dir / "m.npz").read_bytes())
    # The local file header's compression method (offset 8) set to an unknown one.
    assert data[:4] == b"PK\x03\x04"
    data[8:10] = (99).to_bytes(2, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    path = tmp_path / "compressed.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="readable .npz") as e:
        nb.load_model(path)
    assert str(path) in str(e.value)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((model_dir / "m.npz").read_bytes()[:300])
    with pytest.raises(ValueError, match="readable .npz"):
        nb.load_model(truncated)


def test_predict_cli_refuses_a_corrupt_model_in_one_line(capsys, model_dir, tmp_path):
    path = tmp_path / "nan.npz"
    _rewrite(model_dir / "m.npz", path, _set("layers.0.W", np.nan))
    code, out, err = run(capsys, "predict", path, model_dir / "x.csv")
    assert code == 2 and out == "" and "layers.0.W" in one_line(err)


def test_predict_never_prints_non_finite_predictions(capsys, tmp_path, model_dir):
    net = nb.MLP((2, 1), output="linear")
    params = [{"W": np.full((2, 1), 3e38, np.float32), "b": np.zeros(1, np.float32)}]
    nb.save_model(tmp_path / "huge.npz", net, params)
    code, out, err = run(capsys, "predict", tmp_path / "huge.npz", model_dir / "x.csv")
    assert code == 1 and out == ""
    assert "non-finite" in one_line(err) and "nothing was written" in err


# --- items 4 and 5: nothing replaced silently, paths checked before any work


@pytest.mark.parametrize(("option", "name"), [("--save", "m.npz"), ("--history", "h.csv")])
def test_existing_outputs_need_overwrite(capsys, tmp_path, option, name):
    path = tmp_path / name
    path.write_text("keep me")
    code, out, err = run(capsys, *QUICK, option, path)
    assert code == 2 and out == "" and "--overwrite" in one_line(err)
    assert path.read_text() == "keep me"
    code, _, err = run(capsys, *QUICK, option, path, "--overwrite")
    assert code == 0, err and path.read_text() != "keep me"


def test_existing_plot_needs_overwrite(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "c.png"
    path.write_text("keep me")
    code, out, err = run(capsys, *QUICK, "--plot", path)
    assert code == 2 and out == "" and "--overwrite" in one_line(err)


def test_diverged_run_writes_no_model(capsys, tmp_path):
    path = tmp_path / "m.npz"
    code, out, err = run(capsys, *QUICK, "--optimizer", "sgd", "--lr", "1e30", "--save", path)
    assert code == 1 and not path.exists() and "no model written" in out


def test_folder_given_as_file_is_refused_before_work(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    code, out, err = run(capsys, *QUICK, "--save", tmp_path / "file.txt" / "m.npz")
    assert code == 2 and out == "" and "existing directory" in one_line(err)
    code, out, err = run(capsys, *QUICK, "--history", tmp_path)
    assert code == 2 and out == "" and "directory" in one_line(err)


@pytest.fixture
def read_only_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("not root: a read-only mount needs root (chmod does not stop root)")
    d = tmp_path / "ro"
    d.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(d)]).returncode:
        pytest.skip("mount -t tmpfs -o ro is not permitted here")
    yield d
    subprocess.run(["umount", str(d)], check=False)


@pytest.mark.parametrize("option", ["--save", "--history"])
def test_read_only_file_system_refused_before_training(capsys, read_only_dir, option):
    code, out, err = run(capsys, *QUICK, option, read_only_dir / "out.csv")
    line = one_line(err)
    assert code == 2 and out == "" and "writable" in line and "Read-only" in line


def test_read_only_file_system_refused_by_predict(capsys, read_only_dir, model_dir):
    code, out, err = run(
        capsys,
        "predict",
        model_dir / "m.npz",
        model_dir / "x.csv",
        "--output",
        read_only_dir / "p.csv",
    )
    assert code == 2 and out == "" and "Read-only" in one_line(err)


def test_model_kept_when_save_fails_at_write_time(capsys, tmp_path, monkeypatch):
    from nnbasics import _files

    target = str(tmp_path / "m.npz")
    real = _files.atomic_savez

    def full_disk(path, arrays):
        if os.path.abspath(path) == target:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, arrays)

    monkeypatch.setattr(_files, "atomic_savez", full_disk)
    code, _, err = run(capsys, *QUICK, "--save", target)
    line = one_line(err)
    assert code == 1 and target in line and "No space left on device" in line
    kept = line.split("written to ")[1].split(" instead")[0]
    try:
        assert nb.load_model(kept).labels == ("0", "1", "2")
    finally:
        os.remove(kept)


def test_history_write_error_is_one_line(capsys, tmp_path, monkeypatch):
    from nnbasics.cli import train

    def denied(path, *_):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(train._outputs, "_write_history", denied)
    path = tmp_path / "h.csv"
    code, _, err = run(capsys, *QUICK, "--history", path)
    assert code == 1 and str(path) in one_line(err) and "Permission denied" in err


def test_predict_output_checked_and_not_replaced(capsys, model_dir, tmp_path):
    model, data = model_dir / "m.npz", model_dir / "x.csv"
    code, out, err = run(capsys, "predict", model, data, "--output", tmp_path / "nodir" / "p.csv")
    assert code == 2 and out == "" and "existing directory" in one_line(err)
    path = tmp_path / "p.csv"
    path.write_text("keep me")
    code, _, err = run(capsys, "predict", model, data, "--output", path)
    assert code == 2 and "--overwrite" in one_line(err) and path.read_text() == "keep me"
    code, _, err = run(capsys, "predict", model, data, "--output", path, "--overwrite")
    assert code == 0, err
    assert path.read_text().splitlines()[0] == "label,p(a),p(b),p(c)"


def test_predict_into_a_closed_pipe_ends_quietly(model_dir):
    if shutil.which("head") is None:
        pytest.skip("no head command")
    proc = subprocess.run(
        f"{sys.executable} -m nnbasics predict {model_dir / 'm.npz'} {model_dir / 'x.csv'} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("label,") and proc.stdout.count("\n") == 1
    assert proc.stderr == "", proc.stderr


def test_interrupted_run_says_how_to_resume(capsys, tmp_path, monkeypatch):
    from nnbasics.cli import train

    def interrupted(args, background):
        raise KeyboardInterrupt

    monkeypatch.setattr(train._run, "_train", interrupted)
    code, _, err = run(capsys, *QUICK, "--checkpoint-dir", tmp_path / "ck")
    assert code == 130 and "--resume" in one_line(err)
    code, _, err = run(capsys, *QUICK)
    assert code == 130 and "--checkpoint-dir" in one_line(err)


def test_resume_without_a_checkpoint_says_it_starts_fresh(capsys, tmp_path):
    code, _, err = run(capsys, *QUICK, "--checkpoint-dir", tmp_path / "ck", "--resume")
    assert code == 0 and "starting a fresh run" in one_line(err)


def test_a_cache_entry_evicted_by_another_process_is_not_warned_about(capsys, monkeypatch):
    from nnbasics.cli import _common

    monkeypatch.setattr(_common, "_shown_cache_error", False)

    _common.show_warning(
        "Error writing persistent compilation cache entry for 'jit_f': FileNotFoundError: "
        "[Errno 2] No such file or directory: '/c/jit_f-abc-atime'",
        UserWarning,
        "f.py",
        1,
    )
    assert capsys.readouterr().err == ""
    _common.show_warning(
        "Error writing persistent compilation cache entry: PermissionError", UserWarning, "f.py", 1
    )
    assert "PermissionError" in capsys.readouterr().err
