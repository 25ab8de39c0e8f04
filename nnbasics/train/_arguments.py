"""``fit``'s arguments: checked before any work, then placed on the device.

Part of ``nnbasics.train`` (re-exported there): ``check_data``, ``cast_data``,
``to_device`` and ``LOW_PRECISION``. Every check raises a one-line ValueError
naming the argument, the expected and the received value.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, overload

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from nnbasics import _checks, _files
from nnbasics.data import check_dataset
from nnbasics.losses import OUTPUT

if TYPE_CHECKING:
    from nnbasics.mlp import MLP

__all__ = ["LOW_PRECISION", "MONITORS", "cast_data", "check_data", "to_device"]

LOW_PRECISION = ("bfloat16", "float16")
"""The accepted ``compute_dtype`` names: forward and backward passes in that precision."""
MONITORS = ("valid_loss", "valid_accuracy")
"""The accepted ``monitor`` metrics of early stopping and of the best parameters kept."""


_KIND = {"labels": "classes", "binary": "binary", "real": "real"}


def check_data(net: MLP, X: ArrayLike, y: ArrayLike, name: str = "train") -> None:
    """Validates a (X, y) pair against ``net`` before any work (ValueError naming the argument).

    Examples:
      >>> import numpy as np
      >>> from nnbasics import MLP
      >>> check_data(MLP((2, 3)), np.zeros((4, 2)), np.array([0, 1, 2, 3]))
      Traceback (most recent call last):
      ...
      ValueError: ...
    """
    target = OUTPUT[net.output].target
    d = net.sizes[-1]
    check_dataset(
        X,
        y,
        kind=_KIND[target],
        n_features=net.sizes[0],
        n_classes=d if target == "labels" else None,
        n_outputs=None if target == "labels" else d,
        name_X=f"{name}[0] (X)",
        name_y=f"{name}[1] (y)",
    )


def _check_fit_args(
    net,
    params,
    optimizer,
    train,
    valid,
    epochs,
    batch_size,
    patience,
    min_delta,
    l2,
    l1,
    grad,
    checkpoint_dir,
    resume,
    overwrite,
    key,
    monitor="valid_loss",
) -> int:
    """Every check of ``fit``'s arguments, before any work; returns the batch size as an int."""
    from nnbasics.mlp import MLP

    if not isinstance(net, MLP):
        _checks.fail("net", "an nnbasics.MLP", type(net).__name__)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        _checks.fail(
            "optimizer",
            "an optax.GradientTransformation (nb.optim or optax)",
            type(optimizer).__name__,
        )
    for name, pair in (("train", train), ("valid", valid)):
        if pair is None and name == "valid":
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            _checks.fail(name, "a pair (X, y)", type(pair).__name__)
        check_data(net, *pair, name=name)
    _checks.positive_int("epochs", epochs)
    n = train[0].shape[0]
    batch_size = _checks.batch_size(batch_size, n)
    if patience is not None:
        _checks.non_negative_int("patience", patience)
        if valid is None:
            _checks.fail(
                "patience",
                "None when no valid set is given (early stopping watches the validation loss)",
                patience,
            )
    _checks.non_negative("min_delta", min_delta)
    _checks.one_of("monitor", monitor, MONITORS)
    if monitor == "valid_accuracy" and (valid is None or OUTPUT[net.output].target == "real"):
        _checks.fail(
            "monitor",
            "'valid_loss' unless valid is given and the output is softmax or sigmoid",
            f"'valid_accuracy' with {'no valid set' if valid is None else net.output + ' output'}",
        )
    _checks.non_negative("l2", l2)
    _checks.non_negative("l1", l1)
    _checks.one_of("grad", grad, ("manual", "auto"))
    _checks.prng_key("key", key)
    if resume and checkpoint_dir is None:
        _checks.fail("resume", "False unless checkpoint_dir is given", resume)
    if checkpoint_dir is not None:
        _check_checkpoint_dir(os.fspath(checkpoint_dir), resume, overwrite)
    _check_params_dtype(params)
    # Shapes only (the checks run at trace time): no computation, no compile.
    jax.eval_shape(
        net.apply, params, jax.ShapeDtypeStruct((1, net.sizes[0]), jax.tree.leaves(params)[0].dtype)
    )
    return batch_size


def _check_params_dtype(params) -> None:
    """Refuses parameters that are not floating point (gradients need a real dtype)."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            _checks.fail(
                "params",
                "floating-point arrays (e.g. net.init(key), float32 or float64)",
                f"{dtype} at params{jax.tree_util.keystr(path)}",
            )


def _check_checkpoint_dir(directory: str, resume: bool, overwrite: bool) -> None:
    """File-system problems and an existing checkpoint, refused before any work."""
    from nnbasics import checkpoint

    if os.path.exists(directory) and not os.path.isdir(directory):
        _checks.fail(
            "checkpoint_dir", "a directory (created if missing)", f"the file {directory!r}"
        )
    target = os.path.join(directory, checkpoint.FILENAME)
    if os.path.isdir(target):
        _checks.fail(
            "checkpoint_dir",
            f"a directory where {checkpoint.FILENAME} can be written",
            f"{directory!r}, where {checkpoint.FILENAME} is a directory",
        )
    why = _files.unwritable(directory)
    if why is not None:
        _checks.fail("checkpoint_dir", "a writable directory", f"{directory!r} ({why})")
    if not resume and not overwrite and checkpoint.exists(directory):
        _checks.fail(
            "checkpoint_dir",
            "a directory without a checkpoint, or resume=True "
            "to continue it, or overwrite=True to replace it",
            f"{directory!r}, which holds one",
        )


@overload
def cast_data(net: MLP, pair: None, dtype: DTypeLike) -> tuple[None, None]: ...


@overload
def cast_data(
    net: MLP, pair: tuple[ArrayLike, ArrayLike], dtype: DTypeLike
) -> tuple[jax.Array, jax.Array]: ...


def cast_data(
    net: MLP, pair: tuple[ArrayLike, ArrayLike] | None, dtype: DTypeLike
) -> tuple[jax.Array, jax.Array] | tuple[None, None]:
    """(X, y) as jax arrays: X in ``dtype``, y as int labels (softmax) or in ``dtype``.

    ``pair`` may be None (no validation set): returns (None, None).

    Examples:
      >>> import numpy as np, jax.numpy as jnp
      >>> from nnbasics import MLP
      >>> X, y = cast_data(MLP((2, 3)), (np.zeros((4, 2)), np.array([0, 1, 2, 1])), jnp.float32)
      >>> X.dtype.name, y.dtype.kind  # labels stay integers
      ('float32', 'i')
    """
    if pair is None:
        return None, None
    X, y = pair
    labels = OUTPUT[net.output].target == "labels"
    return to_device(X, dtype), to_device(y, None if labels else dtype)


def to_device(x: ArrayLike, dtype: DTypeLike | None = None) -> jax.Array:
    """``jnp.asarray(x, dtype)`` without compiling: a NumPy array is put, not staged.

    (In JAX 0.10 ``jnp.asarray`` of a NumPy array compiles a small copy
    program per shape; ``jax.device_put`` copies without one.)

    Examples:
      >>> import numpy as np, jax
      >>> x = to_device(np.ones(3), "float32")
      >>> isinstance(x, jax.Array), x.dtype.name
      (True, 'float32')
    """
    if isinstance(x, jax.Array):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return jax.device_put(np.asarray(x, dtype))


def _check_compute_dtype(value):
    """None, or the dtype of a name in LOW_PRECISION (ValueError otherwise)."""
    if value is None:
        return None
    try:
        name = jnp.dtype(value).name
    except TypeError:
        name = value
    _checks.one_of("compute_dtype", name, (None,) + LOW_PRECISION)
    return jnp.dtype(name)
