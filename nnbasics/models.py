"""Model files: a trained network, its standardization and class names in one file.

    nb.save_model("digits.npz", net, result.params, standardizer=stats,
                  labels=["0", ..., "9"], meta={"data": "digits"})
    model = nb.load_model("digits.npz")
    out = model.predict(X_new)        # {"label": ..., "probabilities": ...}

The file is a plain NumPy ``.npz`` archive that any tool can open
(``numpy.load``), written atomically:

- ``layers.<k>.W``, ``layers.<k>.b``: the parameters by name;
- ``standardizer.mean``, ``standardizer.scale``: the training split's feature
  statistics (absent if none were given);
- ``header``: JSON text: ``format`` ("nnbasics-model"), ``version``, the
  ``MLP`` configuration, each array's shape and dtype, the class names, and
  ``meta`` (how the model was trained: data file and hash, options, metrics,
  library version; anything JSON-able).

Loading checks the format and version, and every array's presence, shape and
dtype against the configuration, before it returns anything.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks, _files
from nnbasics.data import Standardizer, transform
from nnbasics.losses import OUTPUT
from nnbasics.mlp import MLP

__all__ = ["FORMAT_VERSION", "Model", "load_model", "save_model"]

FORMAT = "nnbasics-model"
FORMAT_VERSION = 1
_NET_FIELDS = ("sizes", "hidden", "output", "pieces", "components")


class Model(NamedTuple):
    """What :func:`load_model` returns.

    Attributes:
      net: the ``MLP`` configuration.
      params: its parameters, a list of {"W", "b"}.
      standardizer: the training split's statistics, or None.
      labels: class names (softmax/sigmoid outputs), or None.
      meta: how the model was trained (whatever ``save_model`` was given).

    Examples:
      >>> import jax, pathlib, tempfile
      >>> from nnbasics import MLP
      >>> net = MLP((2, 3), output="softmax")
      >>> path = save_model(pathlib.Path(tempfile.mkdtemp()) / "m.npz", net,
      ...                   net.init(jax.random.key(0)), labels=["a", "b", "c"])
      >>> model = load_model(path)
      >>> sorted(model.predict([[0.5, -1.0]]))
      ['index', 'label', 'probabilities']
    """

    net: MLP
    params: list
    standardizer: Standardizer | None
    labels: tuple | None
    meta: dict

    def inputs(self, X) -> jax.Array:
        """Raw features ``X`` (n, d_in) as the network takes them: standardized as in training."""
        X = np.asarray(X, jax.tree.leaves(self.params)[0].dtype)
        return jax.device_put(X) if self.standardizer is None else transform(self.standardizer, X)

    def predict(self, X) -> dict:
        """Predictions for raw features ``X`` (n, d_in), standardized as in training.

        Returns:
          softmax: {"label": (n,) class names (or indices), "index": (n,),
          "probabilities": (n, classes)}; sigmoid: {"label": {0,1} (n, d),
          "probabilities": (n, d)}; real outputs: {"mean": (n, d), "std": (n, d)}
          (1 for the unit-variance linear output). All NumPy arrays.

        Raises:
          ValueError: X of the wrong shape, or rows with NaN/inf (named by number).
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.net.sizes[0]:
            _checks.fail("X", f"an array of shape (n, {self.net.sizes[0]})", f"shape {X.shape}")
        _checks.finite_rows("X", X)
        predicted, spread = jax.device_get(_outputs(self.net, self.params, self.inputs(X)))
        if OUTPUT[self.net.output].target == "real":
            return {"mean": predicted, "std": spread}
        index, out = predicted, {"probabilities": spread}
        if OUTPUT[self.net.output].target == "labels":
            out["index"] = index
            out["label"] = (
                np.asarray(self.labels, dtype=object)[index] if self.labels is not None else index
            )
        else:
            out["label"] = index
        return out


@functools.partial(jax.jit, static_argnums=0)
def _outputs(net, params, X):
    """(prediction, probabilities or standard deviation) in one compiled program."""
    unit, z = OUTPUT[net.output], net.apply(params, X)
    return unit.predict(z, net.sizes[-1]), unit.proba(z, net.sizes[-1])


def save_model(
    path,
    net: MLP,
    params,
    standardizer: Standardizer | None = None,
    labels: Sequence[str] | None = None,
    meta: dict | None = None,
) -> str:
    """Writes ``net``, ``params``, the standardization and class names to ``path`` (.npz).

    Args:
      path: the file to write (``.npz`` is not appended); its directory must exist.
      net: the ``MLP`` configuration.
      params: its parameters (``net.init``'s structure and shapes).
      standardizer: the training split's ``Standardizer``, applied by ``Model.predict``.
      labels: one name per class for softmax/sigmoid outputs.
      meta: JSON-able dict of how the model was trained.

    Returns:
      ``path``.

    Raises:
      ValueError: mismatched parameters, labels or statistics, a meta that is
        not JSON-able, or an unusable path, before anything is written.

    Examples:
      >>> import jax, pathlib, tempfile
      >>> from nnbasics import MLP
      >>> net = MLP((4, 8, 1), output="linear")
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
      >>> save_model(path, net, net.init(jax.random.key(0)), meta={"epochs": 10}) == str(path)
      True
    """
    if not isinstance(net, MLP):
        _checks.fail("net", "an nnbasics.MLP", type(net).__name__)
    net._check_inputs(params, jnp.zeros((0, net.sizes[0])))
    arrays = {}
    for k, layer in enumerate(params):
        arrays[f"layers.{k}.W"] = _files.to_numpy(layer["W"])
        arrays[f"layers.{k}.b"] = _files.to_numpy(layer["b"])
    if standardizer is not None:
        for field in ("mean", "scale"):
            value = np.asarray(getattr(standardizer, field))
            if value.shape != (net.sizes[0],):
                _checks.fail(
                    f"standardizer.{field}", f"shape ({net.sizes[0]},)", f"shape {value.shape}"
                )
            arrays[f"standardizer.{field}"] = value
    if labels is not None:
        labels = [str(x) for x in labels]
        if OUTPUT[net.output].target == "real" or len(labels) != net.sizes[-1]:
            _checks.fail(
                "labels",
                f"{net.sizes[-1]} class names for a classifier (None for regression outputs)",
                f"{len(labels)} names",
            )
    dtypes = {k: str(np.asarray(jax.device_get(v)).dtype) for k, v in _named_params(params).items()}
    header = dict(
        format=FORMAT,
        version=FORMAT_VERSION,
        net={f: getattr(net, f) for f in _NET_FIELDS},
        dtypes=dtypes,
        labels=labels,
        meta=meta or {},
    )
    try:
        arrays["header"] = np.array(json.dumps(header))
    except TypeError as e:
        raise ValueError(f"meta: expected a JSON-able dict, received {meta!r} ({e})") from None
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        _checks.fail("path", "a file in an existing directory", repr(os.fspath(path)))
    if os.path.isdir(path):
        _checks.fail("path", "a file name", f"the directory {os.fspath(path)!r}")
    return _files.atomic_savez(os.fspath(path), arrays)


def _named_params(params) -> dict:
    return {
        f"layers.{k}.{name}": layer[name] for k, layer in enumerate(params) for name in ("W", "b")
    }


def load_model(path) -> Model:
    """Reads a file written by :func:`save_model`, checked whole before anything is returned.

    Raises:
      ValueError: a missing or unreadable file, another format or version,
        missing arrays, or arrays whose shape or dtype disagree with the header.

    Examples:
      >>> import jax, pathlib, tempfile
      >>> from nnbasics import MLP
      >>> net = MLP((4, 8, 1), output="linear")
      >>> path = save_model(pathlib.Path(tempfile.mkdtemp()) / "model.npz", net,
      ...                   net.init(jax.random.key(0)), meta={"epochs": 10})
      >>> model = load_model(path)
      >>> model.net == net, model.meta["epochs"], [layer["W"].shape for layer in model.params]
      (True, 10, [(4, 8), (8, 1)])
    """
    path = os.fspath(path)
    header, arrays = _files.read_npz(path, "model")
    if header.get("format") != FORMAT:
        _checks.fail(
            "model",
            f"an nnbasics model file (format {FORMAT!r})",
            f"{path!r} of format {header.get('format')!r}",
        )
    if header.get("version") != FORMAT_VERSION:
        _checks.fail(
            "model",
            f"format version {FORMAT_VERSION}",
            f"version {header.get('version')!r} in {path!r}",
        )
    try:
        config = {f: header["net"][f] for f in _NET_FIELDS}
        config["sizes"] = tuple(config["sizes"])
        net = MLP(**config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            f"model: expected a valid network configuration in {path!r}, "
            f"received {header.get('net')!r} ({e})"
        ) from None
    dtypes = header.get("dtypes", {})
    if not isinstance(dtypes, dict) or not all(isinstance(v, str) for v in dtypes.values()):
        _field(path, "dtypes", "an object of dtype names", repr(dtypes))
    like = jax.eval_shape(lambda: net.init(jax.random.key(0)))
    params = []
    for k, layer in enumerate(like):
        params.append(
            {
                name: _array(arrays, f"layers.{k}.{name}", layer[name].shape, dtypes, path)
                for name in ("W", "b")
            }
        )
    standardizer = None
    if "standardizer.mean" in arrays:
        standardizer = Standardizer(
            *(
                _array(arrays, f"standardizer.{f}", (net.sizes[0],), {}, path)
                for f in ("mean", "scale")
            )
        )
        scale = np.asarray(standardizer.scale)
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            bad = np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))
            _field(
                path,
                "standardizer.scale",
                "finite positive scales",
                f"{scale[bad[0]]} at feature {bad[0]} ({len(bad)} such)",
            )
    labels = header.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            _field(path, "labels", "a list of class names", repr(labels)[:80])
        if OUTPUT[net.output].target == "real" or len(labels) != net.sizes[-1]:
            _field(
                path,
                "labels",
                f"{net.sizes[-1]} class names for its {net.output} output",
                f"{len(labels)} names",
            )
    meta = header.get("meta") or {}
    if not isinstance(meta, dict):
        _field(path, "meta", "an object", type(meta).__name__)
    return Model(
        net,
        params,
        standardizer,
        tuple(labels) if labels is not None else None,
        meta,
    )


def _field(path: str, field: str, expected: str, received: str):
    raise _files.field_error("model", path, field, expected, received)


def _array(arrays: dict, name: str, shape, dtypes: dict, path: str) -> jax.Array:
    if name not in arrays:
        _checks.fail("model", f"an array {name!r}", f"{path!r} without it")
    value = arrays[name]
    try:
        dtype = jnp.dtype(dtypes.get(name, value.dtype))
    except TypeError:
        _field(path, f"dtypes[{name!r}]", "a NumPy/JAX dtype name", repr(dtypes.get(name)))
    if dtype.kind not in "fcV":  # V: bfloat16 & co.
        _field(path, f"dtypes[{name!r}]", "a floating dtype", str(dtype))
    if value.dtype != dtype:  # bfloat16 & co. are stored as unsigned ints of their width
        if value.dtype.itemsize != dtype.itemsize or value.dtype.kind != "u":
            _checks.fail("model", f"{name} of dtype {dtype}", f"dtype {value.dtype}")
        value = value.view(dtype)
    if tuple(value.shape) != tuple(shape):
        _checks.fail(
            "model", f"{name} of shape {tuple(shape)}", f"shape {tuple(value.shape)} in {path!r}"
        )
    _files.check_finite("model", path, name, value)
    return jax.device_put(value)  # jnp.asarray would compile a copy per shape
