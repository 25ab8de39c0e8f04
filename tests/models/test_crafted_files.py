"""Crafted model, checkpoint and data files are refused in one line before any allocation.

Each header field is checked by type and range against what the file's own
arrays hold; JSON headers are bounded in length and depth; an archive may hold
only the members its format names, each of the declared shape, and their
declared sizes are bounded (``NNBASICS_MAX_ARRAY_BYTES``), all before any data
is decompressed. Each test backs a row of docs/reliability.md.
"""

import json
import subprocess
import sys
import zipfile

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import cli

BOMB_BYTES = 1_500_000_000  # what the extra member inflates to


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("crafted")
    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    path = d / "m.npz"
    nb.save_model(path, net, net.init(jax.random.key(0)), labels=["a", "b", "c"])
    np.savetxt(d / "x.csv", np.ones((5, 2)), delimiter=",", header="u,v", comments="")
    return path


def _arrays(path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def _with_header(src, dst, change):
    arrays = _arrays(src)
    header = json.loads(str(arrays["header"]))
    change(header)
    arrays["header"] = np.array(json.dumps(header))
    np.savez(dst, **arrays)
    return dst


def _predict(capsys, model_path, data):
    code = cli.main(["predict", str(model_path), str(data)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("size", [10**12, 10**19])
def test_header_with_huge_net_sizes_is_one_line(capsys, model, tmp_path, size):
    crafted = _with_header(
        model, tmp_path / "big.npz", lambda h: h["net"].update(sizes=[2, size, 3])
    )
    with pytest.raises(ValueError, match=r"net\.sizes"):
        nb.load_model(crafted)
    code, out, err = _predict(capsys, crafted, model.parent / "x.csv")
    assert code == 2 and out == "" and "net.sizes" in one_line(err)


@pytest.mark.parametrize("value", [True, 2.0, "4", -4, 0])
def test_header_net_size_of_another_type_or_range_is_one_line(model, tmp_path, value):
    crafted = _with_header(
        model, tmp_path / "bad.npz", lambda h: h["net"].update(sizes=[2, value, 3])
    )
    with pytest.raises(ValueError, match=r"net\.sizes"):
        nb.load_model(crafted)


def test_a_long_invalid_net_configuration_is_shown_cut_at_200_characters(model, tmp_path):
    # An invalid configuration is echoed, but a crafted one can be megabytes long:
    # the refusal shows the first 200 characters of its repr and of the reason.
    crafted = _with_header(
        model, tmp_path / "long_net.npz", lambda h: h["net"].update(hidden="x" * 10_000)
    )
    with pytest.raises(ValueError, match="^model: ") as e:
        nb.load_model(crafted)
    with np.load(crafted) as f:
        net = json.loads(str(f["header"]))["net"]
    with pytest.raises(ValueError, match="^hidden: ") as reason:
        nb.MLP(**{**net, "sizes": tuple(net["sizes"])})
    assert str(e.value) == (
        f"model: expected a valid network configuration in {str(crafted)!r}, "
        f"received {repr(net)[:200]} ({str(reason.value)[:200]})"
    )


def test_header_of_deeply_nested_json_is_one_line(capsys, model, tmp_path):
    arrays = _arrays(model)
    header = str(arrays["header"])
    nested = "[" * 100_000 + "]" * 100_000
    arrays["header"] = np.array(header[:-1] + f', "meta": {nested}}}')
    crafted = tmp_path / "nested.npz"
    np.savez(crafted, **arrays)
    with pytest.raises(ValueError, match="nested"):
        nb.load_model(crafted)
    code, out, err = _predict(capsys, crafted, model.parent / "x.csv")
    assert code == 2 and out == "" and "nested" in one_line(err)


def test_header_too_long_is_refused_unread(model, tmp_path):
    arrays = _arrays(model)
    arrays["header"] = np.array(" " * (nb._files.MAX_JSON_CHARS + 1) + str(arrays["header"]))
    crafted = tmp_path / "long.npz"
    np.savez_compressed(crafted, **arrays)
    with pytest.raises(ValueError, match="characters"):
        nb.load_model(crafted)


def _add_bomb(archive_path, name="extra.npy", nbytes=BOMB_BYTES):
    """Appends a member of ``nbytes`` zeros (a valid .npy), deflated to a few MB."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (nbytes,)}
    with (
        zipfile.ZipFile(archive_path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open(name, "w", force_zip64=True) as f,
    ):
        np.lib.format.write_array_header_2_0(f, header)
        chunk = bytes(1 << 24)
        for _ in range(nbytes // len(chunk)):
            f.write(chunk)
        f.write(bytes(nbytes % len(chunk)))


# VmHWM: this process's peak resident memory (ru_maxrss would count the forking parent's).
LOAD = """
import re, sys
import nnbasics as nb
try:
    nb.load_model(sys.argv[1])
except ValueError as e:
    print(e)
    code = 2
else:
    code = 0
with open("/proc/self/status") as f:
    print(int(re.search(r"VmHWM:\\s*(\\d+) kB", f.read())[1]) // 1024, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak memory from /proc")
def test_model_zip_bomb_is_refused_with_little_memory(model, tmp_path):
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(model.read_bytes())
    _add_bomb(bomb)
    assert bomb.stat().st_size < 3_000_000
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, str(bomb)], capture_output=True, text=True, timeout=600
    )
    peak_mb = int(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unexpected member" in proc.stdout and "'extra'" in proc.stdout
    assert peak_mb < 600, f"peak RSS {peak_mb} MB while refusing a {BOMB_BYTES}-byte member"


def test_model_member_declaring_more_than_the_limit_is_refused(model, tmp_path, monkeypatch):
    monkeypatch.setenv("NNBASICS_MAX_ARRAY_BYTES", "64")
    with pytest.raises(ValueError, match="NNBASICS_MAX_ARRAY_BYTES"):
        nb.load_model(model)


def test_model_member_of_another_declared_shape_is_refused_before_reading(model, tmp_path):
    arrays = _arrays(model)
    arrays["layers.0.W"] = np.zeros((2, 5), np.float32)
    crafted = tmp_path / "shape.npz"
    np.savez(crafted, **arrays)
    with pytest.raises(
        ValueError, match=r"layers\.0\.W of shape \(2, 4\), received shape \(2, 5\)"
    ):
        nb.load_model(crafted)


# --- checkpoints


@pytest.fixture
def checkpoint_dir(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int32)
    net = nb.MLP((2, 4, 2))
    folder = tmp_path / "ckpt"
    _fit(net, (X, y), folder, epochs=2)
    return folder, (net, X, y)


def _resume(folder, run):
    net, X, y = run
    return _fit(net, (X, y), folder, epochs=3, resume=True)


def _fit(net, train, folder, **kwargs):
    return nb.fit(
        net,
        net.init(jax.random.key(0)),
        nb.optim.sgd(0.1),
        train,
        batch_size=8,
        key=jax.random.key(1),
        checkpoint_dir=folder,
        **kwargs,
    )


def test_checkpoint_with_a_history_array_dropped_is_refused(checkpoint_dir):
    folder, run = checkpoint_dir
    path = folder / "checkpoint.npz"
    arrays = _arrays(path)
    manifest = json.loads(str(arrays["manifest"]))
    manifest["history"].remove("valid_loss")
    del arrays["history_valid_loss"]
    arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"history.*missing \['valid_loss'\]"):
        _resume(folder, run)


def test_checkpoint_zip_bomb_is_refused(checkpoint_dir):
    folder, run = checkpoint_dir
    _add_bomb(folder / "checkpoint.npz", "history_extra.npy", 50_000_000)
    with pytest.raises(ValueError, match="unexpected member.*'history_extra'"):
        _resume(folder, run)


# --- users' data files


def test_data_npz_with_an_extra_member_is_refused(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((4, 2)), y=np.arange(4))
    _add_bomb(path, "Z.npy", 50_000_000)
    with pytest.raises(ValueError, match="unexpected member.*'Z'"):
        nb.data.read(path)
    with pytest.raises(ValueError, match="unexpected member.*'Z'"):
        nb.data.read_features(path)


def test_data_arrays_above_the_settable_limit_are_refused(tmp_path, monkeypatch):
    np.savez_compressed(tmp_path / "d.npz", X=np.zeros((1000, 2)), y=np.zeros(1000))
    np.save(tmp_path / "a.npy", np.zeros((1000, 2)))
    np.save(tmp_path / "a.y.npy", np.zeros(1000))
    assert nb.data.read(tmp_path / "d.npz").X.shape == (1000, 2)
    monkeypatch.setenv("NNBASICS_MAX_ARRAY_BYTES", "10000")
    for name in ("d.npz", "a.npy"):
        with pytest.raises(ValueError, match="more than the limit of 10000"):
            nb.data.read(tmp_path / name)


def test_class_names_in_a_regression_models_file_are_refused(tmp_path):
    # A linear output of one target with one "class name": the count matches, the kind does not.
    net = nb.MLP((2, 4, 1), output="linear")
    src = nb.save_model(tmp_path / "r.npz", net, net.init(jax.random.key(0)))
    path = _with_header(src, tmp_path / "labeled.npz", lambda h: h.update(labels=["a"]))
    with pytest.raises(ValueError, match="^model:") as e:
        nb.load_model(path)
    assert str(e.value) == (
        f"model: expected 1 class names for its linear output as labels in {str(path)!r}, "
        "received 1 names"
    )
