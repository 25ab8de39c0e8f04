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
- ``target.mean``, ``target.scale``: the training split's target statistics of
  a regression model trained on standardized targets (absent otherwise: the
  network's outputs are then in target units, as in files written before
  these existed);
- ``header``: JSON text: ``format`` ("nnbasics-model"), ``version``, the
  ``MLP`` configuration, each array's shape and dtype, the class names, the
  feature names (``features``: the training file's header, in input order, or
  null), and ``meta`` (how the model was trained: data file and hash, options, metrics,
  library version; anything JSON-able).

Loading checks the format and version, and every array's presence, shape and
dtype against the configuration, before it returns anything. Files written
before ``features`` existed take their feature names from
``meta["data"]["features"]``.

Features by name: :meth:`Model.read` reads a data file for the model and
:meth:`Model.predict` takes a pandas ``DataFrame``; both match the columns to
:attr:`Model.features` by name, in any order, and refuse missing or unknown
names in one line. Without names (on either side) columns go by position,
and only a table of exactly ``d_in`` columns (or ``d_in + 1`` with the
target, for :meth:`Model.read`) is taken.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks, _files
from nnbasics.data import Standardizer, transform
from nnbasics.losses import OUTPUT
from nnbasics.mlp import MLP
from nnbasics.train import _buckets

__all__ = ["FORMAT_VERSION", "Model", "load_model", "save_model"]

FORMAT = "nnbasics-model"
FORMAT_VERSION = 1
"""The model-file format written; :func:`load_model` refuses any other."""
_NET_FIELDS = ("sizes", "hidden", "output", "pieces", "components")


class Model(NamedTuple):
    """What :func:`load_model` returns.

    Attributes:
      net: the ``MLP`` configuration.
      params: its parameters, a list of {"W", "b"}.
      standardizer: the training split's statistics, or None.
      labels: class names (softmax/sigmoid outputs), or None.
      meta: how the model was trained (whatever ``save_model`` was given).
      features: the ``d_in`` feature names in the network's input order when
        the training data had a header, else None (columns go by position).
      target_standardizer: the training split's target statistics of a
        regression model trained on ``(y − mean) / scale``, or None (outputs in
        target units).

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
    features: tuple[str, ...] | None = None
    target_standardizer: Standardizer | None = None

    def inputs(self, X) -> jax.Array:
        """Raw features ``X`` (n, d_in) as the network takes them: standardized as in training."""
        X = np.asarray(X, jax.tree.leaves(self.params)[0].dtype)
        return jax.device_put(X) if self.standardizer is None else transform(self.standardizer, X)

    def predict(self, X) -> dict:
        """Predictions for raw features ``X`` (n, d_in), standardized as in training.

        ``X`` is an array whose columns are the features in the model's order,
        or a pandas ``DataFrame``, whose columns are matched by name to
        :attr:`features` and reordered (see :meth:`columns`); a column named as
        the training target is left out. A model without feature names takes
        a ``DataFrame``'s columns by position.

        Returns:
          softmax: {"label": (n,) class names (or indices), "index": (n,),
          "probabilities": (n, classes)}; sigmoid: {"label": {0,1} (n, d),
          "probabilities": (n, d)}; gaussian and mixture outputs: {"mean": (n, d),
          "std": (n, d)}; linear: {"mean": (n, d)} only (its unit variance is
          an assumption of the loss, not a measured spread). Means and
          standard deviations are in target units: ``mean · scale + mean_y``
          and ``std · scale`` with the target statistics. All NumPy arrays.

        Raises:
          ValueError: X of the wrong shape, missing or unknown column names,
            or rows with NaN/inf (named by number).
        """
        if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a pandas DataFrame
            names = [str(c) for c in X.columns]
            index, _ = self.columns("X", len(names), names, positional_target=False)
            try:
                X = X.iloc[:, index].to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as e:
                _checks.fail("X", "numeric feature columns", f"a DataFrame ({e})")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.net.sizes[0]:
            _checks.fail("X", f"an array of shape (n, {self.net.sizes[0]})", f"shape {X.shape}")
        _checks.finite_rows("X", X)
        # padded to its shape bucket: new row counts reuse the compiled program
        n = X.shape[0]
        inputs = self.inputs(_buckets.pad(X, _buckets.size(n)))
        predicted, spread = (a[:n] for a in jax.device_get(_outputs(self.net, self.params, inputs)))
        if OUTPUT[self.net.output].target == "real":
            if self.target_standardizer is not None:
                mean, scale = (np.asarray(a) for a in self.target_standardizer)
                predicted, spread = predicted * scale + mean, spread * scale
            if self.net.output == "linear":
                return {"mean": predicted}
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

    @property
    def target(self) -> str | None:
        """The training target column's name (``meta["data"]["target"]``), or None."""
        data = self.meta.get("data")
        target = data.get("target") if isinstance(data, dict) else None
        return target if isinstance(target, str) else None

    def columns(
        self,
        where: str,
        width: int,
        names: Sequence[str] | None,
        target: str | int | None = None,
        positional_target: bool = True,
    ) -> tuple[list[int], int | None]:
        """Which columns of a table are the model's features, in its order, and which the target.

        By name, when the model has :attr:`features` and the table a header:
        every feature must be there, in any order, and every other column
        must be the target (``target``, else the training target's name).
        Otherwise by position: ``d_in`` columns are the features; with
        ``positional_target``, ``d_in + 1`` columns hold the target too (the
        ``target`` column, else the training target's position in a table
        without a header, else the last column).

        Args:
          where: names the table in messages (a file's path, ``"X"``).
          width: the table's number of columns.
          names: its header, or None when it has none.
          target: the target column by name or index; None: as in training.
          positional_target: whether ``d_in + 1`` columns by position hold the target.

        Returns:
          ``(index, t)``: the ``d_in`` column indices of the features in the
          network's input order, and the target column's index or None.

        Raises:
          ValueError: one line naming the missing and unknown columns, or the
            widths expected and received.
        """
        d = self.net.sizes[0]
        t = _target_column(where, width, names, target)
        if names is not None and self.features is not None:  # columns by name
            if t is None and self.target is not None and self.target in names:
                t = list(names).index(self.target)
            others = [name for j, name in enumerate(names) if j != t]
            missing = [f for f in self.features if f not in others]
            unknown = [name for name in others if name not in self.features]
            if missing or unknown:
                problems = [f"missing {_listed(missing)}"] * bool(missing)
                problems += [f"unknown {_listed(unknown)}"] * bool(unknown)
                target_name = f"; target {self.target!r}" if self.target else ""
                _checks.fail(
                    where,
                    f"the model's {d} feature columns by name ({_listed(self.features)}"
                    f"{target_name}), in any order",
                    "columns with " + " and ".join(problems),
                )
            return [list(names).index(f) for f in self.features], t
        if t is None and positional_target and width == d + 1:
            saved = _position(self.target) if names is None else None
            t = saved if saved is not None and saved < width else width - 1
        if width - (t is not None) != d:
            named = " (or a header naming them)" if self.features is not None else ""
            with_target = " or one more holding the target" if positional_target else ""
            _checks.fail(
                where,
                f"{d} feature columns{with_target}, as the model was trained on{named}",
                f"{width} columns"
                + (
                    ""
                    if names is None
                    else " with a header the model "
                    "cannot match by name (it was trained without one)"
                ),
            )
        return [j for j in range(width) if j != t], t

    def read(
        self,
        path,
        target: str | int | None = None,
        missing: str = "refuse",
        header: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Reads a data file's examples for this model, its columns matched as :meth:`columns` says.

        Args:
          path: a file :func:`nnbasics.data.read_features` reads.
          target: the target column by name or index; None: as in training.
          missing: ``"refuse"`` or ``"drop"`` rows holding a missing value, as
            :func:`nnbasics.data.read` does.
          header: whether a text file's first row names the columns; None:
            told as :func:`nnbasics.data.read` does.

        Returns:
          ``(X, y)``: float32 ``(n, d_in)`` features in the network's input
          order, and the target values, or None when the file holds no
          target column: class names (str, ``(n,)``) for a model with class
          names, else float32 ``(n, d_out)``.

        Raises:
          ValueError: one line naming the file and the problem.
        """
        from nnbasics import data

        path = os.fspath(path)
        task = "classification" if self.labels is not None else "regression"
        try:
            X, names = data.read_features(path, missing=missing, header=header)
        except ValueError as features_error:
            # A non-numeric column: the target's class names, or a bad cell.
            return self._read_labeled(path, target, task, missing, header, features_error)
        width = X.shape[1]
        named = None if _positional(names) else list(names)
        if path.lower().endswith((".npz", ".npy")):
            if target is not None:
                _checks.fail(
                    "target", f"None for {path} (its y array is the target)", _checks.shown(target)
                )
            try:  # the archive's y, if it has one
                found = data.read(path, task=task, missing=missing)
            except ValueError:
                found = None
            self.columns(path, width, None, positional_target=False)
            return X, None if found is None else _values(found)
        index, t = self.columns(path, width, named, target)
        if t is None:
            return X[:, index], None
        if task == "regression":
            return X[:, index], X[:, [t]]
        return X[:, index], np.array([_class_name(v) for v in X[:, t]], dtype=object)

    def _read_labeled(self, path: str, target, task: str, missing: str, header, features_error):
        """``read`` of a file with a non-numeric column: the target's class names, or a bad cell."""
        from nnbasics import data

        guesses = [target] if target is not None else list(dict.fromkeys([self.target, None]))
        for guess in guesses:
            try:
                found = data.read(path, target=guess, task=task, missing=missing, header=header)
            except ValueError as e:
                if str(e).startswith("target:"):
                    continue
                raise
            names = [*found.feature_names, found.target_name]
            header = None if _positional(found.feature_names) else names
            if guess is None and header is not None and self.features is not None:
                # The last column, not named as the training target: unknown, or a bad feature.
                self.columns(path, len(names), header, positional_target=False)
                break
            index, _ = self.columns(path, len(names), header, len(names) - 1)
            return found.X[:, index], _values(found)
        raise features_error


_POSITIONAL = re.compile(r"column \d+|X\[:, \d+\]")


def _positional(names: Sequence[str]) -> bool:
    """Whether ``names`` are the placeholders of a table without a header (``column 3``, ``X[:, 2]``)."""
    return all(_POSITIONAL.fullmatch(str(name)) for name in names)


def _position(name: str | None) -> int | None:
    """The 0-based index of a placeholder name ``column k``, else None."""
    match = re.fullmatch(r"column (\d+)", name or "")
    return int(match.group(1)) - 1 if match else None


def _listed(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(map(repr, names[:most]))
    return shown + (f", ... ({len(names) - most} more)" if len(names) > most else "")


def _target_column(where: str, width: int, names, target) -> int | None:
    """The 0-based index of ``target`` (a header name or an index, negative from the end)."""
    if target is None:
        return None
    if names is not None and target in names:
        return list(names).index(target)
    index = _checks.column_index(target, width)
    if index is not None:
        return index
    by_name = "a column name or " if names is not None else ""
    _checks.fail(
        "target",
        f"{by_name}a column index from {-width} to {width - 1} of {where}",
        _checks.shown(target),
    )


def _values(found) -> np.ndarray:
    """A ``DataFile``'s targets as values: class names (str) or numbers."""
    if found.classes is None:
        return found.y
    return np.asarray(found.classes, dtype=object)[found.y]


def _class_name(value) -> str:
    """A numeric label as a class name: ``3`` for 3.0, ``0.5`` for 0.5."""
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


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
    features: Sequence[str] | None = None,
    target_standardizer: Standardizer | None = None,
) -> str:
    """Writes ``net``, ``params``, the standardization and class names to ``path`` (.npz).

    Args:
      path: the file to write (``.npz`` is not appended); its directory must exist.
      net: the ``MLP`` configuration.
      params: its parameters (``net.init``'s structure and shapes).
      standardizer: the training split's ``Standardizer``, applied by ``Model.predict``.
      labels: one name per class for softmax/sigmoid outputs.
      meta: JSON-able dict of how the model was trained.
      features: the ``d_in`` feature names in input order (a data file's
        header: ``DataFile.feature_names``), matched by name by
        :meth:`Model.read` and :meth:`Model.predict`; None, or the
        placeholders of a file without a header (``column 3``, ``X[:, 2]``):
        the features go by position.
      target_standardizer: for regression outputs trained on standardized
        targets ``(y − mean) / scale``: those statistics (``(d,)`` each,
        ``nb.data.Standardizer.fit(y_train)``), so that ``Model.predict``
        returns means and spreads in target units. None: the outputs are
        already in target units.

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
    if target_standardizer is not None:
        if OUTPUT[net.output].target != "real":
            _checks.fail(
                "target_standardizer",
                "None for a classifier (target statistics are for regression outputs)",
                f"statistics for a {net.output} output",
            )
        for field in ("mean", "scale"):
            value = np.asarray(getattr(target_standardizer, field))
            if value.shape != (net.sizes[-1],):
                _checks.fail(
                    f"target_standardizer.{field}",
                    f"shape ({net.sizes[-1]},)",
                    f"shape {value.shape}",
                )
            arrays[f"target.{field}"] = value
        _check_scale("target_standardizer", np.asarray(target_standardizer.scale))
        _checks.finite_array("target_standardizer.mean", np.asarray(target_standardizer.mean))
    if labels is not None:
        labels = [str(x) for x in labels]
        if OUTPUT[net.output].target == "real" or len(labels) != net.sizes[-1]:
            _checks.fail(
                "labels",
                f"{net.sizes[-1]} class names for a classifier (None for regression outputs)",
                f"{len(labels)} names",
            )
    if features is not None:
        features = _check_features("features", features, net.sizes[0])
    dtypes = {k: str(np.asarray(jax.device_get(v)).dtype) for k, v in _named_params(params).items()}
    header = dict(
        format=FORMAT,
        version=FORMAT_VERSION,
        net={f: getattr(net, f) for f in _NET_FIELDS},
        dtypes=dtypes,
        labels=labels,
        features=None if features is None else list(features),
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
    built = {}

    def members(header, declared):
        built["net"] = net = _header_net(header, declared, path)
        built["like"] = like = jax.eval_shape(lambda: net.init(jax.random.key(0)))
        shapes = {
            f"layers.{k}.{name}": layer[name].shape
            for k, layer in enumerate(like)
            for name in ("W", "b")
        }
        for prefix, d in (("standardizer", net.sizes[0]), ("target", net.sizes[-1])):
            shapes.update({f"{prefix}.mean": (d,), f"{prefix}.scale": (d,)})
        return shapes

    header, arrays = _files.read_npz(path, "model", members)
    net, like = built["net"], built["like"]
    dtypes = header.get("dtypes", {})
    if not isinstance(dtypes, dict) or not all(isinstance(v, str) for v in dtypes.values()):
        _field(path, "dtypes", "an object of dtype names", repr(dtypes)[:80])
    params = []
    for k in range(len(like)):
        params.append(
            {name: _array(arrays, f"layers.{k}.{name}", dtypes, path) for name in ("W", "b")}
        )
    standardizer = _statistics(arrays, "standardizer", path)
    targets = None
    if "target.mean" in arrays or "target.scale" in arrays:
        if OUTPUT[net.output].target != "real":
            _field(path, "target", "no target statistics for a classifier", "some")
        targets = _statistics(arrays, "target", path)
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
    features = header.get("features")
    if features is not None:
        features = _check_features(f"features in {path!r}", features, net.sizes[0])
    elif "features" not in header:  # files written before the field: meta's record of the data
        data = meta.get("data")
        old = data.get("features") if isinstance(data, dict) else None
        try:
            features = _check_features("", old, net.sizes[0]) if old is not None else None
        except ValueError:
            features = None  # a record this version cannot use: by position, as it was then
    return Model(
        net,
        params,
        standardizer,
        tuple(labels) if labels is not None else None,
        meta,
        features,
        targets,
    )


def _header_net(header: dict, declared: dict, path: str) -> MLP:
    """The network a model header describes, its sizes bounded by the file's own arrays."""
    if header.get("format") != FORMAT:
        _checks.fail(
            "model",
            f"an nnbasics model file (format {FORMAT!r})",
            f"{path!r} of format {repr(header.get('format'))[:80]}",
        )
    if header.get("version") != FORMAT_VERSION:
        _checks.fail(
            "model",
            f"format version {FORMAT_VERSION}",
            f"version {repr(header.get('version'))[:80]} in {path!r}",
        )
    config = header.get("net")
    most = len(declared)  # each layer needs arrays in the file (a missing one is named later)
    sizes = config.get("sizes") if isinstance(config, dict) else None
    if isinstance(sizes, list) and not (
        2 <= len(sizes) <= most + 1 and all(type(d) is int and 1 <= d <= _MAX_SIZE for d in sizes)
    ):
        _field(
            path,
            "net.sizes",
            f"2 to {most + 1} sizes in [1, {_MAX_SIZE}] (the file holds {most} arrays)",
            repr(sizes)[:80],
        )
    try:
        config = {f: config[f] for f in _NET_FIELDS}  # type: ignore[index]
        for f in ("pieces", "components"):
            if not (type(config[f]) is int and 1 <= config[f] <= _MAX_SIZE):
                raise ValueError(f"{f} = {str(config[f])[:20]}")
        config["sizes"] = tuple(config["sizes"])
        return MLP(**config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            f"model: expected a valid network configuration in {path!r}, "
            f"received {repr(header.get('net'))[:200]} ({str(e)[:200]})"
        ) from None


# The largest layer width a model file may declare (its arrays must hold it too).
_MAX_SIZE = 2**31 - 1


def _check_features(name: str, features, d: int) -> tuple[str, ...] | None:
    """``d`` distinct non-empty names, or None for placeholders of a file without a header."""
    if isinstance(features, str) or not isinstance(features, Sequence):
        _checks.fail(name, f"a list of {d} feature names", repr(features)[:80])
    features = tuple(features)
    if not all(isinstance(f, str) and f for f in features):
        _checks.fail(name, f"a list of {d} non-empty feature names", repr(features)[:80])
    if len(features) != d:
        _checks.fail(name, f"{d} feature names, one per input", f"{len(features)} names")
    twice = sorted({f for f in features if features.count(f) > 1})
    if twice:
        _checks.fail(name, "distinct feature names", f"{_listed(twice)} more than once")
    return None if _positional(features) else features


def _statistics(arrays: dict, prefix: str, path: str) -> Standardizer | None:
    """The ``prefix.mean`` / ``prefix.scale`` pair of ``arrays`` (None if absent), checked.

    Both must be there (of the shape the header gives, checked on reading), finite
    (``_array``), and the scales positive.
    """
    if f"{prefix}.mean" not in arrays and f"{prefix}.scale" not in arrays:
        return None
    stats = Standardizer(*(_array(arrays, f"{prefix}.{f}", {}, path) for f in ("mean", "scale")))
    scale = np.asarray(stats.scale)
    if not (scale > 0).all():
        bad = np.flatnonzero(~(scale > 0))
        _field(
            path,
            f"{prefix}.scale",
            "finite positive scales",
            f"{scale[bad[0]]} at column {bad[0]} ({len(bad)} such)",
        )
    return stats


def _check_scale(name: str, scale: np.ndarray) -> None:
    """Refuses a scale that is not finite and positive everywhere (ValueError naming it)."""
    ok = np.isfinite(scale) & (scale > 0)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        _checks.fail(
            f"{name}.scale",
            "finite positive scales",
            f"{scale[bad[0]]} at column {bad[0]} ({len(bad)} such)",
        )


def _field(path: str, field: str, expected: str, received: str):
    raise _files.field_error("model", path, field, expected, received)


def _array(arrays: dict, name: str, dtypes: dict, path: str) -> jax.Array:
    # Its shape was checked against the header's before any data was read (_files.read_npz).
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
    _files.check_finite("model", path, name, value)
    return jax.device_put(value)  # jnp.asarray would compile a copy per shape
