"""Training: ``nb.fit``, the driver that runs compiled epochs, early stopping and history.

``fit`` checks its arguments before any work (``nnbasics.train._arguments``), builds
the training state and the compiled epoch (``nnbasics.train._epoch``), runs one
compiled call and one host sync per epoch, records the history, stops on
patience or divergence, and saves and resumes checkpoints
(``nnbasics.train._resume``). Every public name of those modules is importable
from here, as ``nnbasics.train.<name>``.

One epoch is one compiled program: the training set is permuted with the
epoch's key, cut into ``n // batch_size`` full minibatches that a ``lax.scan``
visits in order, and a last partial batch of ``n % batch_size`` examples, so
every example is seen exactly once per epoch whatever the batch size. Each
step is

    J, g = net.backprop(θ, X_B, y_B, l2, l1)      (grad="manual")
    J, g = jax.value_and_grad(net.loss)(...)      (grad="auto")
    u, s = optimizer.update(g, s, θ);  θ ← θ + u
"""

from nnbasics.train._arguments import LOW_PRECISION, MONITORS, cast_data, check_data, to_device
from nnbasics.train._epoch import (
    TUNABLE,
    EpochProgram,
    TrainState,
    compile_epoch,
    evaluate,
    init_state,
    metrics,
    start_state,
    train_epoch,
)
from nnbasics.train._fit import HISTORY_KEYS, FitResult, fit

__all__ = [
    "HISTORY_KEYS",
    "LOW_PRECISION",
    "MONITORS",
    "TUNABLE",
    "EpochProgram",
    "FitResult",
    "TrainState",
    "cast_data",
    "check_data",
    "compile_epoch",
    "evaluate",
    "fit",
    "init_state",
    "metrics",
    "start_state",
    "to_device",
    "train_epoch",
]
