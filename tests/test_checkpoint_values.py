"""Checkpoints checked by value: every field of the record, refused one at a time on resume.

A checkpoint made by a real ``nb.fit`` run, with live early-stopping state,
is damaged in one field at a time (a value, a manifest type, a recorded
setting, the archive itself); resuming must refuse it with one ``ValueError``
naming the file and the field, before any training, leaving the file as it was.
"""

import errno
import io
import json
import os
import re
import shutil
import subprocess
import zipfile

import chex
import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _files, checkpoint
from tests._helpers.checkpoint import NET, _params

FILE = checkpoint.FILENAME
# momentum(0.2, 0.9) on this split: best validation loss at epoch 7, patience 4 runs
# out after epoch 11 (12 epochs). After 10 epochs the state waits 2 epochs already.
RUN = dict(epochs=30, batch_size=16, patience=4)
SPLIT, STOP, BEST = 10, 12, 7


def _optimizer():
    return nb.optim.momentum(0.2, 0.9)


def _fit(iris, ckpt, epochs=RUN["epochs"], params=None, key=1, net=NET, **change):
    train, valid = iris
    kw = {**RUN, "epochs": epochs, "valid": valid, "optimizer": _optimizer(), **change}
    return nb.fit(
        net,
        params if params is not None else _params(),
        kw.pop("optimizer"),
        kw.pop("train", train),
        key=jax.random.key(key),
        checkpoint_dir=ckpt,
        resume=True,
        **kw,
    )


@pytest.fixture(scope="module")
def made(iris, tmp_path_factory):
    """A checkpoint after SPLIT epochs, mid-way through early stopping."""
    ckpt = tmp_path_factory.mktemp("made")
    first = _fit(iris, ckpt, epochs=SPLIT)
    assert int(first.state.wait) == SPLIT - 1 - BEST and not bool(first.state.stopped)
    return ckpt


@pytest.fixture
def ckpt(made, tmp_path):
    target = tmp_path / "ckpt"
    shutil.copytree(made, target)
    return target


# ------------------------------------------------------------------ a real resume


def test_resume_continues_mid_training_with_live_early_stopping_state(iris, ckpt, tmp_path):
    full = _fit(iris, tmp_path / "full")
    assert full.stopped_early and len(full.history["train_loss"]) == STOP
    assert full.best_epoch == BEST

    # Other initial parameters: a fit that ignored the checkpoint would start from these.
    others = jax.tree.map(lambda a: a + 0.5, _params())
    seen = []
    resumed = _fit(iris, ckpt, params=others, callback=lambda epoch, m: seen.append(epoch))

    assert resumed.resumed_from == SPLIT
    assert seen == list(range(SPLIT, STOP))  # only the epochs the checkpoint lacked
    # The restored wait (2) ran out after 2 more epochs; a fresh one needs patience = 4.
    assert RUN["patience"] > STOP - SPLIT
    assert resumed.stopped_early and resumed.best_epoch == BEST
    chex.assert_trees_all_equal(resumed.params, full.params, strict=True)
    chex.assert_trees_all_equal(resumed.state, full.state, strict=True)
    for k in full.history:
        np.testing.assert_array_equal(resumed.history[k], full.history[k])


# ------------------------------------------------------------------ damaged values


def _leaf(field):
    """Index of the first leaf of the TrainState field ``field`` (e.g. "params[0]['W']")."""
    like = nb.train.init_state(_params(), _optimizer(), jax.random.key(1))
    for i, (keys, _) in enumerate(jax.tree_util.tree_flatten_with_path(like)[0]):
        if jax.tree_util.keystr(keys)[1:].startswith(field):
            return f"leaf_{i:05d}"
    raise AssertionError(field)


def _edit(ckpt, arrays=None, manifest=None):
    """Rewrites ``ckpt``'s file with ``arrays(dict)`` and ``manifest(dict)`` applied."""
    path = ckpt / FILE
    with np.load(path) as npz:
        data = dict(npz)
    found = json.loads(str(data["manifest"]))
    if arrays:
        arrays(data)
    if manifest:
        manifest(found)
    data["manifest"] = np.array(json.dumps(found))
    np.savez(path, **data)


def _set(field, value):
    def edit(data):
        name = _leaf(field)
        data[name] = np.full_like(data[name], value)

    return edit


def _history(edit):
    def apply(data):
        for k in [k for k in data if k.startswith("history_")]:
            data[k] = edit(k[len("history_") :], data[k])

    return apply


def _both(*edits):
    def apply(data):
        for e in edits:
            e(data)

    return apply


def _negative_epoch(found):
    found["epoch"] = -1


VALUES = {
    # field: (edit of the arrays, edit of the manifest, what the message names)
    "params NaN": (_set("params[0]['W']", np.nan), None, r"params\[0\]\['W'\]"),
    "params inf": (_set("params[1]['b']", np.inf), None, r"params\[1\]\['b'\]"),
    "optimizer state inf": (_set("opt_state.trace", -np.inf), None, r"opt_state\.trace"),
    "best_params NaN": (_set("best_params", np.nan), None, r"best_params"),
    "best_loss NaN": (_set("best_loss", np.nan), None, r"best_loss"),
    "best_loss inf after an improvement": (_set("best_loss", np.inf), None, r"best_loss"),
    "best_loss finite before any": (
        _both(_set("best_epoch", -1), _set("wait", SPLIT)),
        None,
        r"best_loss",
    ),
    "epoch negative": (_set("epoch", -1), _negative_epoch, r"as epoch in .*, received -1$"),
    "epoch other than the manifest's": (_set("epoch", SPLIT + 1), None, r"as epoch in"),
    "best_epoch at or after epoch": (_set("best_epoch", SPLIT), None, r"best_epoch"),
    "best_epoch below -1": (_set("best_epoch", -2), None, r"best_epoch"),
    "wait inconsistent": (_set("wait", 0), None, r"wait"),
    "diverged but not stopped": (_set("diverged", True), None, r"stopped"),
    "history longer than the epochs": (
        _history(lambda k, v: np.concatenate([v, v[:1]])),
        None,
        r"history 'train_loss'",
    ),
    "history of unequal lengths": (
        _history(lambda k, v: v[:-1] if k == "valid_loss" else v),
        None,
        r"history",
    ),
    "history not 1-D": (_history(lambda k, v: v[:, None]), None, r"history"),
    "history train_loss NaN": (
        _history(lambda k, v: np.where(np.arange(len(v)) == 3, np.nan, v)),
        None,
        r"history 'train_loss'",
    ),
}


def _manifest(key, value):
    def edit(found):
        target, *path = key.split(".")
        node = found
        for p in [target, *path][:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        last = [target, *path][-1]
        node[int(last) if isinstance(node, list) else last] = value

    return edit


MANIFEST = {
    "unknown dtype name": ("leaves.3.dtype", "float6x", r"manifest leaves\[3\]\.dtype"),
    "dtype not a string": ("leaves.0.dtype", 64, r"manifest leaves\[0\]\.dtype"),
    "shape not a list": ("leaves.1.shape", "8", r"manifest leaves\[1\]\.shape"),
    "negative size": ("leaves.1.shape", [-8], r"manifest leaves\[1\]\.shape"),
    "leaves not a list": ("leaves", {"0": 1}, r"manifest leaves in"),
    "leaf spec not an object": ("leaves.2", [3], r"manifest leaves\[2\]\.shape"),
    "epoch not an integer": ("epoch", "10", r"manifest epoch"),
    "version not an integer": ("version", "1", r"manifest version"),
    "meta not an object": ("meta", [1], r"manifest meta"),
    "history not a list": ("history", "train_loss", r"manifest history"),
    "treedef not a string": ("treedef", 7, r"manifest treedef"),
}


def _refused(iris, ckpt, pattern):
    before = (ckpt / FILE).read_bytes()
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        _fit(iris, ckpt)
    message = str(e.value)
    assert message.startswith("checkpoint: ") and "\n" not in message
    assert str(ckpt / FILE) in message
    assert re.search(pattern, message), message
    assert (ckpt / FILE).read_bytes() == before  # refused before any training
    return message


@pytest.mark.parametrize("case", VALUES)
def test_each_damaged_value_is_refused_naming_file_and_field(case, iris, ckpt):
    arrays, manifest, pattern = VALUES[case]
    _edit(ckpt, arrays, manifest)
    _refused(iris, ckpt, pattern)


@pytest.mark.parametrize("case", MANIFEST)
def test_each_malformed_manifest_field_is_refused(case, iris, ckpt):
    key, value, pattern = MANIFEST[case]
    _edit(ckpt, manifest=_manifest(key, value))
    message = _refused(iris, ckpt, pattern)
    assert "expected" in message


# ------------------------------------------------------------------ unreadable archives


def _bytes(ckpt, edit):
    path = ckpt / FILE
    path.write_bytes(edit(path.read_bytes()))


def _compression(data):
    # The first central-directory entry's compression method (offset 10), which zipfile
    # reads: 99 is not one it supports.
    end = data.rindex(b"PK\x05\x06")
    entry = int.from_bytes(data[end + 16 : end + 20], "little")
    return data[: entry + 10] + (99).to_bytes(2, "little") + data[entry + 12 :]


def _crc(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


ARCHIVES = {
    "unsupported compression": (_compression, r"NotImplementedError"),
    "a flipped byte (CRC)": (_crc, r"BadZipFile"),
    "truncated": (lambda d: d[: len(d) * 2 // 3], r"corrupt file"),
    "cut to 100 bytes": (lambda d: d[:100], r"corrupt file"),
}


@pytest.mark.parametrize("case", ARCHIVES)
def test_unreadable_archive_is_refused_naming_the_file(case, iris, ckpt):
    edit, pattern = ARCHIVES[case]
    _bytes(ckpt, edit)
    message = _refused(iris, ckpt, pattern)
    assert "expected a readable nnbasics checkpoint" in message


def test_random_bit_flips_are_refused_or_harmless(made, tmp_path):
    """200 random bit flips: each is refused in one line, or restores the very same state."""
    like = nb.train.init_state(_params(), _optimizer(), jax.random.key(1))
    good = (made / FILE).read_bytes()
    meta = json.loads(str(np.load(made / FILE)["manifest"]))["meta"]
    reference, _ = checkpoint.restore(made, like, meta)
    rng = np.random.default_rng(0)
    refused = 0
    for position, bit in zip(rng.integers(0, len(good), 200), rng.integers(0, 8, 200)):
        damaged = bytearray(good)
        damaged[position] ^= 1 << bit
        (tmp_path / FILE).write_bytes(bytes(damaged))
        try:
            state, history = checkpoint.restore(tmp_path, like, meta)
            checkpoint.check_train_state(tmp_path, state, history)
        except ValueError as e:
            message = str(e)
        else:  # a flip in bytes nothing reads (zip extra fields, timestamps, ...)
            chex.assert_trees_all_equal(state, reference, strict=True)
            continue
        assert message.startswith("checkpoint: ") and "\n" not in message
        refused += 1
    assert refused > 150


# ------------------------------------------------------------------ every recorded setting


def _reversed(pair):
    return pair[0][::-1].copy(), pair[1][::-1].copy()


SETTINGS = {
    # field recorded in the checkpoint: a run that differs in it (and perhaps others)
    "net": dict(net=nb.MLP((4, 8, 3), hidden="relu", output="softmax")),
    "optimizer.learning_rate": dict(optimizer=nb.optim.momentum(0.3, 0.9)),
    "optimizer.beta": dict(optimizer=nb.optim.momentum(0.2, 0.8)),
    "optimizer.nesterov": dict(optimizer=nb.optim.momentum(0.2, 0.9, nesterov=True)),
    "optimizer.accumulator_dtype": dict(
        optimizer=nb.optim.momentum(0.2, 0.9, accumulator_dtype="float32")
    ),
    "optimizer.dampening": dict(optimizer=nb.optim.momentum(0.2, 0.9, dampening=0.1)),
    "optimizer.weight_decay": dict(optimizer=nb.optim.momentum(0.2, 0.9, weight_decay=1e-4)),
    "optimizer.lr_in_velocity": dict(optimizer=nb.optim.momentum(0.2, 0.9, lr_in_velocity=True)),
    "optimizer.factory": dict(optimizer=nb.optim.sgd(0.2)),
    "n_train": dict(train=lambda t: (t[0][:-1], t[1][:-1])),
    "batch_size": dict(batch_size=8),
    "grad": dict(grad="auto"),
    "l2": dict(l2=1e-3),
    "l1": dict(l1=1e-3),
    "patience": dict(patience=5),
    "min_delta": dict(min_delta=0.01),
    "key": dict(key=2),
    "dtype": dict(params=lambda: jax.tree.map(lambda a: a.astype(np.float32), _params())),
    "compute_dtype": dict(compute_dtype="bfloat16"),
    "data.train": dict(train=_reversed),
    "data.valid": dict(valid=_reversed),
}


def test_every_recorded_setting_has_a_case(made):
    recorded = json.loads(str(np.load(made / FILE)["manifest"]))["meta"]
    covered = {field.split(".")[0] for field in SETTINGS}
    assert covered == set(recorded)
    assert {f.split(".")[1] for f in SETTINGS if f.startswith("optimizer.")} == set(
        recorded["optimizer"]
    )


@pytest.mark.parametrize("field", SETTINGS)
def test_resume_with_each_other_setting_is_refused(field, iris, ckpt):
    change = dict(SETTINGS[field])
    train, valid = iris
    if "train" in change:
        change["train"] = change["train"](train)
    if "valid" in change:
        change["valid"] = change["valid"](valid)
    if "params" in change:
        change["params"] = change["params"]()
    before = (ckpt / FILE).read_bytes()
    with pytest.raises(ValueError, match=r"^checkpoint: ") as e:
        _fit(iris, ckpt, **change)
    message = str(e.value)
    assert message.startswith(f"checkpoint: {ckpt / FILE} has ") and "\n" not in message
    assert re.search(rf"(has |; ){re.escape(field)} = [^;]*, this run asks for ", message), message
    assert (ckpt / FILE).read_bytes() == before


# ------------------------------------------------------------------ write-time faults


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(size)``: a tmpfs of that size (root only; None elsewhere), unmounted afterwards."""
    mounted = []

    def mount(size):
        if os.geteuid() != 0:
            return None
        target = tmp_path / f"fs{len(mounted)}"
        target.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)]
        if subprocess.run(command).returncode:
            pytest.skip("mount -t tmpfs is not permitted here")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_checkpoint_write_failing_mid_run_is_one_line_and_keeps_the_last(iris, tmpfs, tmp_path):
    small_fs = tmpfs("1m")
    # Writable when fit checks it; after the first epoch's checkpoint the folder
    # turns read-only: a remount (root, EROFS) or chmod (others, EACCES).
    base = small_fs if small_fs is not None else tmp_path
    ckpt = base / "ckpt"

    def break_after_first(epoch, m):
        if epoch == 1:
            if small_fs is not None:
                subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
            else:
                ckpt.chmod(0o555)

    small = nb.MLP((4, 3), output="softmax")
    kw = dict(epochs=4, batch_size=16, key=jax.random.key(1), checkpoint_dir=ckpt)
    with pytest.raises(OSError, match=r"^checkpoint_dir: could not write ") as e:
        nb.fit(
            small,
            small.init(jax.random.key(0)),
            _optimizer(),
            iris[0],
            callback=break_after_first,
            **kw,
        )
    message = str(e.value)
    assert isinstance(e.value, _files.WriteFailed) and "\n" not in message
    assert str(ckpt / FILE) in message
    assert e.value.errno in (errno.EROFS, errno.EACCES)
    assert os.strerror(e.value.errno) in message
    assert "the previous checkpoint there is intact" in message

    if small_fs is not None:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    else:
        ckpt.chmod(0o755)
    resumed = nb.fit(small, small.init(jax.random.key(0)), _optimizer(), iris[0], resume=True, **kw)
    assert resumed.resumed_from == 1


def test_cli_checkpoint_on_a_full_file_system_is_one_line_exit_1(tmpfs, capsys):
    small_fs = tmpfs("8k")
    if small_fs is None:
        pytest.skip("not root: a full file system needs a tmpfs mount")
    from nnbasics import cli

    ckpt = small_fs / "ckpt"
    code = cli.main(
        [
            "train",
            "--dataset",
            "iris",
            "--hidden-sizes",
            "256",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--quiet",
            "--checkpoint-dir",
            str(ckpt),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert lines[-1] == (
        f"nnbasics: error: checkpoint_dir: could not write '{ckpt / FILE}' "
        "(No space left on device); no checkpoint was written there"
    )
    assert "Traceback" not in err
    assert not checkpoint.exists(ckpt) and not list(ckpt.glob("*.tmp"))
