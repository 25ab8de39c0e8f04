"""Checkpoints for ``nb.fit``: one ``.npz`` file per directory, written atomically.

``save`` stores a training state (any pytree; ``fit`` passes its
``TrainState``), the history so far and a small ``meta`` dict in one NumPy
``.npz`` archive, ``<checkpoint_dir>/checkpoint.npz``:

- ``leaf_00000``, ``leaf_00001``, ...: the leaves of ``jax.tree.flatten(state)``
  in order, as NumPy arrays (parameters, optimizer state, the raw uint32 key,
  the epoch counter and the early-stopping state: best parameters, best loss,
  best epoch, wait, stopped, diverged). ``None`` and empty optimizer states
  have no leaves and are carried by the tree structure alone.
- ``history_<name>``: each history array (per-epoch losses and accuracies).
- ``manifest``: JSON text: format version, ``meta``, epoch, the tree
  structure's string and each leaf's shape and dtype.

The archive is written to a temporary file in the same directory, flushed and
fsync-ed, then renamed onto ``checkpoint.npz`` with ``os.replace`` (atomic on
POSIX and Windows), and the directory is fsync-ed where the platform allows,
so a crash at any moment leaves either the previous checkpoint or the new one,
never a half-written file under the final name.

``restore`` checks everything before it returns anything: a readable archive,
the format version, ``meta`` field by field, the tree structure, and each
leaf's shape and dtype against a freshly initialised state; each failure is a
``ValueError`` naming the directory or the field. Values are stored exactly,
so a resumed run on CPU reproduces an uninterrupted one bit for bit.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _files

__all__ = ["FILENAME", "FORMAT_VERSION", "check_train_state", "exists", "restore", "save"]

FILENAME = "checkpoint.npz"
"""The checkpoint's file name inside ``checkpoint_dir``."""
FORMAT_VERSION = 1
"""The checkpoint format written; :func:`restore` refuses any other."""
_FORMAT = "nnbasics-checkpoint"


def _path(checkpoint_dir) -> str:
    return os.path.join(os.fspath(checkpoint_dir), FILENAME)


def exists(checkpoint_dir) -> bool:
    """Whether ``checkpoint_dir`` holds a checkpoint file (readable or not).

    Examples:
      >>> import tempfile
      >>> exists(tempfile.mkdtemp())  # an empty folder: nothing to resume
      False
    """
    return os.path.isfile(_path(checkpoint_dir))


def save(checkpoint_dir, state, history: dict, meta: dict) -> str:
    """Writes ``state``, ``history`` and ``meta`` to ``<checkpoint_dir>/checkpoint.npz`` atomically.

    Args:
      checkpoint_dir: a directory (created if missing).
      state: any pytree of arrays; ``fit`` passes its ``TrainState`` (params,
        optimizer state, raw key, epoch and the early-stopping state).
      history: dict of 1-D arrays (per-epoch metrics).
      meta: JSON-able dict of what must match to resume (net, batch size, ...).

    Returns:
      The path of the checkpoint file.

    Raises:
      ValueError: ``checkpoint_dir`` is not a directory, or ``meta`` is not JSON-able.
      nnbasics._files.WriteFailed: an ``OSError`` subclass, the write failed
        (ENOSPC, EROFS, EACCES, ...): one line naming the file and the cause,
        and whether the previous checkpoint is intact (it always is: the
        write is atomic).

    Examples:
      >>> import jax, tempfile, numpy as np
      >>> from nnbasics import MLP, optim
      >>> from nnbasics.train import init_state
      >>> net = MLP((2, 3))
      >>> state = init_state(net.init(jax.random.key(0)), optim.sgd(0.1), jax.random.key(1))
      >>> folder = tempfile.mkdtemp()
      >>> save(folder, state, {"train_loss": np.array([0.5])}, {"lr": 0.1}).endswith("checkpoint.npz")
      True
      >>> exists(folder)
      True
    """
    directory = os.fspath(checkpoint_dir)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(
            f"checkpoint_dir: expected a directory, received {directory!r}, which is a file"
        )
    previous = exists(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise _files.WriteFailed("checkpoint_dir", directory, e) from None
    leaves, treedef = jax.tree.flatten(state)
    leaves = [np.asarray(jax.device_get(x)) for x in leaves]
    try:
        manifest = json.dumps(
            dict(
                format=_FORMAT,
                version=FORMAT_VERSION,
                meta=meta,
                epoch=int(state.epoch) if hasattr(state, "epoch") else None,
                treedef=str(treedef),
                leaves=[dict(shape=list(x.shape), dtype=str(x.dtype)) for x in leaves],
                history=sorted(history),
            )
        )
    except TypeError as e:
        raise ValueError(f"meta: expected a JSON-able dict, received {meta!r} ({e})") from None
    arrays = {f"leaf_{i:05d}": _files.to_numpy(x) for i, x in enumerate(leaves)}
    arrays.update({f"history_{k}": np.asarray(v) for k, v in history.items()})
    arrays["manifest"] = np.array(manifest)

    try:
        return _files.atomic_savez(_path(directory), arrays)
    except OSError as e:
        kept = (
            "; the previous checkpoint there is intact (resume from it once the "
            "file system takes writes again)"
            if previous
            else "; no checkpoint was written there"
        )
        raise _files.WriteFailed("checkpoint_dir", _path(directory), e, kept) from None


def _corrupt(directory: str, why: str) -> ValueError:
    return ValueError(
        f"checkpoint: expected a readable nnbasics checkpoint in {directory}, "
        f"received a corrupt file {_path(directory)!r} ({why})"
    )


def _read(directory: str) -> tuple[dict, dict]:
    """(manifest, arrays) of the file in ``directory``; ValueError if unreadable.

    The manifest is read first; the file may hold only the arrays it names,
    each leaf of its declared shape, checked before any data is decompressed.
    """
    try:
        with _files.Archive(_path(directory)) as archive:
            if "manifest" not in archive.members:
                raise _corrupt(directory, "no manifest")
            try:
                manifest = archive.json("manifest")
            except _files.Unreadable as e:
                raise _corrupt(directory, f"unreadable manifest: {e}") from None
            if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
                raise _corrupt(directory, "the manifest is not an nnbasics checkpoint manifest")
            _check_manifest(directory, manifest)
            leaves = {f"leaf_{i:05d}": spec["shape"] for i, spec in enumerate(manifest["leaves"])}
            archive.allow(["manifest", *leaves, *(f"history_{k}" for k in manifest["history"])])
            for name, shape in leaves.items():
                declared = archive.members.get(name)
                if declared is not None and list(declared.shape) != list(shape):
                    raise _corrupt(
                        directory, f"{name} has shape {declared.shape}, its manifest says {shape}"
                    )
            arrays = {k: archive.read(k) for k in archive.members if k != "manifest"}
    except (OSError, _files.Unreadable) as e:
        raise _corrupt(directory, str(e) if isinstance(e, _files.Unreadable) else repr(e)) from None
    return manifest, arrays


def _manifest_error(directory: str, field: str, expected: str, value) -> ValueError:
    return _files.field_error(
        "checkpoint", _path(directory), f"manifest {field}", expected, repr(value)[:80]
    )


def _check_manifest(directory: str, manifest: dict) -> None:
    """Refuses manifest fields of the wrong type, and dtype names NumPy/JAX do not know."""

    def integer(x):
        return isinstance(x, int) and not isinstance(x, bool)

    if not integer(manifest.get("version")):
        raise _manifest_error(directory, "version", "an integer", manifest.get("version"))
    if not isinstance(manifest.get("meta"), dict):
        raise _manifest_error(directory, "meta", "an object", manifest.get("meta"))
    if not (manifest.get("epoch") is None or integer(manifest["epoch"])):
        raise _manifest_error(directory, "epoch", "an integer", manifest["epoch"])
    if not isinstance(manifest.get("treedef"), str):
        raise _manifest_error(directory, "treedef", "a string", manifest.get("treedef"))
    history = manifest.setdefault("history", [])
    if not isinstance(history, list) or not all(isinstance(k, str) for k in history):
        raise _manifest_error(directory, "history", "a list of names", history)
    leaves = manifest.get("leaves")
    if not isinstance(leaves, list):
        raise _manifest_error(directory, "leaves", "a list", leaves)
    for i, spec in enumerate(leaves):
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if not (isinstance(shape, list) and all(integer(d) and d >= 0 for d in shape)):
            raise _manifest_error(directory, f"leaves[{i}].shape", "a list of sizes", shape)
        try:
            if not isinstance(spec.get("dtype"), str):
                raise TypeError
            jnp.dtype(spec["dtype"])
        except TypeError:
            raise _manifest_error(
                directory, f"leaves[{i}].dtype", "a NumPy/JAX dtype name", spec.get("dtype")
            ) from None


def differences(saved: dict, asked: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """[(field, saved value, asked value)] where two meta dicts differ; nested dicts by key.

    A field one side lacks shows as "<missing>"; optimizers of different
    factories differ in their factory alone.
    """
    if "factory" in saved and saved.get("factory") != asked.get("factory"):
        return [(prefix + "factory", saved["factory"], asked.get("factory", "<missing>"))]
    out = []
    for key in sorted(set(saved) | set(asked)):
        a, b = saved.get(key, "<missing>"), asked.get(key, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append((prefix + key, a, b))
    return out


def _show(value) -> str:
    return value if value == "<missing>" else repr(value)


def _check(directory: str, field: str, expected, received) -> None:
    if expected != received:
        raise ValueError(
            f"checkpoint: {field} of the checkpoint {_path(directory)!r} differs from "
            f"this run's: expected {expected!r}, received {received!r}"
        )


def restore(checkpoint_dir, like_state, meta: dict) -> tuple[Any, dict] | None:
    """Reads the checkpoint in ``checkpoint_dir``, checked against this run.

    Args:
      checkpoint_dir: the directory given to ``save``.
      like_state: a freshly initialised state of the same tree structure,
        shapes and dtypes as the one saved (its values are not used).
      meta: this run's meta dict; the saved one must equal it field by field.

    Returns:
      ``(state, history)``: ``state`` rebuilt with ``like_state``'s structure
      (leaves as jax arrays of the saved dtype) and ``history`` a dict of NumPy
      arrays; or None when the directory holds no checkpoint yet.

    Raises:
      ValueError: an unreadable or foreign file, another format version, a
        ``meta`` field that differs (named, expected = this run, received =
        the file), or another tree structure, leaf shape or dtype.

    Examples:
      >>> import jax, tempfile, numpy as np
      >>> from nnbasics import MLP, optim
      >>> from nnbasics.train import init_state
      >>> net = MLP((2, 3))
      >>> state = init_state(net.init(jax.random.key(0)), optim.sgd(0.1), jax.random.key(1))
      >>> folder = tempfile.mkdtemp()
      >>> restore(folder, state, {"lr": 0.1}) is None  # no checkpoint yet
      True
      >>> _ = save(folder, state, {"train_loss": np.array([0.5])}, {"lr": 0.1})
      >>> restored, history = restore(folder, state, {"lr": 0.1})
      >>> history["train_loss"].tolist(), int(restored.epoch)
      ([0.5], 0)
      >>> restore(folder, state, {"lr": 0.2})  # another run's checkpoint is refused
      Traceback (most recent call last):
      ...
      ValueError: checkpoint: ... has lr = 0.1, this run asks for 0.2 ...
    """
    directory = os.fspath(checkpoint_dir)
    if not exists(directory):
        return None
    manifest, arrays = _read(directory)
    _check(directory, "format version", FORMAT_VERSION, manifest.get("version"))

    found = differences(manifest["meta"], json.loads(json.dumps(meta)))
    if found:
        listed = "; ".join(f"{f} = {_show(a)}, this run asks for {_show(b)}" for f, a, b in found)
        raise ValueError(
            f"checkpoint: {_path(directory)} has {listed} (resume with the same settings, "
            "or overwrite the checkpoint to start anew)"
        )

    like_leaves, treedef = jax.tree.flatten(like_state)
    if str(treedef) != manifest["treedef"]:
        raise ValueError(
            f"checkpoint: {_path(directory)} holds the state of another optimizer or "
            "network (its training state has another structure than this run's)"
        )
    specs = manifest["leaves"]
    if len(specs) != len(like_leaves):
        raise _corrupt(directory, "the manifest's leaf list does not match its tree structure")

    leaves = []
    for i, (like, spec) in enumerate(zip(like_leaves, specs)):
        like = np.asarray(jax.device_get(like)) if not hasattr(like, "dtype") else like
        name = f"leaf_{i:05d}"
        if name not in arrays:
            raise _corrupt(directory, f"{name} is missing")
        _check(directory, f"{name} shape", list(np.shape(like)), spec.get("shape"))
        _check(directory, f"{name} dtype", str(like.dtype), spec.get("dtype"))
        arr = arrays[name]
        dtype = np.dtype(like.dtype)
        if arr.dtype != dtype:
            # Only dtypes NumPy lacks (bfloat16, ...) are stored as same-width uints.
            if arr.dtype != _files.to_numpy(np.zeros((), dtype)).dtype:
                raise _corrupt(directory, f"{name} is stored as {arr.dtype}, expected {dtype}")
            arr = arr.view(dtype)
        leaves.append(jnp.asarray(arr, dtype=dtype))

    history = {}
    for k in manifest.get("history", []):
        if f"history_{k}" not in arrays:
            raise _corrupt(directory, f"history {k!r} is missing")
        history[k] = arrays[f"history_{k}"]
    lengths = {k: np.shape(v) for k, v in history.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or len(set(lengths.values())) > 1:
        raise _files.field_error(
            "checkpoint", _path(directory), "history", "1-D arrays of one length", str(lengths)
        )
    state = jax.tree.unflatten(treedef, leaves)
    recorded = manifest.get("epoch")
    if recorded is not None and hasattr(state, "epoch") and int(state.epoch) != recorded:
        raise _files.field_error(
            "checkpoint",
            _path(directory),
            "epoch",
            f"{recorded}, the manifest's",
            str(int(state.epoch)),
        )
    return state, history


def check_train_state(checkpoint_dir, state, history: dict, names=None) -> None:
    """Refuses restored values ``fit`` cannot continue from, naming the file and the field.

    ``state`` is ``fit``'s ``TrainState`` as ``restore`` returned it. What an
    epoch writes makes these hold (``e`` = epochs completed):

    - every floating leaf is finite, but ``best_loss``, which is +inf until
      the first improvement (``best_epoch`` = −1) and finite after;
    - ``0 ≤ e`` (``restore`` has checked it equals the manifest's epoch);
      ``−1 ≤ best_epoch < e``;
      ``wait = e − 1 − best_epoch`` (epochs since the last improvement);
      ``diverged`` implies ``stopped``;
    - every history array has ``e`` entries (``e − 1`` after a divergence,
      whose epoch is dropped), and ``train_loss`` is finite;
    - the history holds exactly the arrays ``names`` (those ``fit`` writes;
      None: not checked), so a file with one dropped is refused.

    Raises:
      ValueError: ``"checkpoint: expected <what> as <field> in '<file>', received <value>"``.
    """
    path = _path(checkpoint_dir)

    def fail(field, expected, received):
        raise _files.field_error("checkpoint", path, field, expected, received)

    best_loss = float(state.best_loss)
    for keys, leaf in jax.tree_util.tree_flatten_with_path(state._replace(best_loss=0.0))[0]:
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            _files.check_finite("checkpoint", path, jax.tree_util.keystr(keys)[1:], leaf)
    epoch, best, wait = int(state.epoch), int(state.best_epoch), int(state.wait)
    if epoch < 0:
        fail("epoch", "a count >= 0", str(epoch))
    if not -1 <= best < epoch:
        fail("best_epoch", f"an epoch in [-1, {epoch - 1}]", str(best))
    if wait != epoch - 1 - best:
        fail("wait", f"epoch - 1 - best_epoch = {epoch - 1 - best}", str(wait))
    if best == -1 and best_loss != np.inf or best >= 0 and not np.isfinite(best_loss):
        fail(
            "best_loss",
            "inf before the first improvement (best_epoch -1), finite after",
            f"{best_loss} with best_epoch {best}",
        )
    if bool(state.diverged) and not bool(state.stopped):
        fail("stopped", "True when diverged is True", "False")
    if names is not None and set(history) != set(names):
        missing = sorted(set(names) - set(history))
        fail("history", f"the arrays {sorted(names)}", f"{sorted(history)} (missing {missing})")
    done = epoch - int(bool(state.diverged))
    for name, values in history.items():
        if len(values) != done:
            fail(f"history {name!r}", f"{done} entries (one per finished epoch)", str(len(values)))
    _files.check_finite("checkpoint", path, "history 'train_loss'", history.get("train_loss", []))
