"""Hand-rolled optimizers, each an optax ``GradientTransformation``.

Each optimizer maps the gradient gₜ of step t (t = 0, 1, … counts the updates
already made, as in optax) to an update uₜ, applied by ``optax.apply_updates``:
θₜ₊₁ = θₜ + uₜ. Its state is a NamedTuple whose first field ``count`` is the
integer t; the other fields are pytrees shaped like the parameters.
``learning_rate`` is a positive float or a schedule ``t -> αₜ``
(``nnbasics.schedules`` or any optax schedule); αₜ below is its value at t.

With default options every optimizer has the defaults and the trajectory of its
optax namesake (``momentum`` ↔ ``optax.sgd(lr, momentum=beta, nesterov=...)``).
Keyword options reproduce other libraries exactly (float64, rtol 1e-10; the
tests replay stored PyTorch and scikit-learn trajectories):

| elsewhere | here |
|---|---|
| ``optax.sgd(lr)`` | ``sgd(lr)`` |
| ``optax.sgd(lr, momentum=b, nesterov=n)`` | ``momentum(lr, beta=b, nesterov=n)`` |
| ``optax.adagrad``, ``rmsprop``, ``adam``, ``adamw`` | ``adagrad``, ``rmsprop``, ``adam``, ``adamw``, the same arguments |
| PyTorch ``SGD(lr, weight_decay=w)`` | ``sgd(lr, weight_decay=w)`` |
| PyTorch ``SGD(lr, momentum=b, dampening=d, weight_decay=w, nesterov=n)`` | ``momentum(lr, beta=b, nesterov=n, dampening=d, weight_decay=w)`` |
| PyTorch ``Adagrad(lr, lr_decay=k, weight_decay=w, eps=e, initial_accumulator_value=a)`` | ``adagrad(schedules.inverse_time(lr, k), initial_accumulator_value=a, eps=e, eps_in_sqrt=False, weight_decay=w)`` |
| PyTorch ``RMSprop(lr, alpha=r, eps=e, weight_decay=w, momentum=m, centered=c)`` | ``rmsprop(lr, decay=r, eps=e, eps_in_sqrt=False, weight_decay=w, momentum=m or None, centered=c)`` |
| PyTorch ``Adam(lr, (b1, b2), eps, w)`` | ``adam(lr, b1, b2, eps, weight_decay=w)`` |
| PyTorch ``AdamW(lr, (b1, b2), eps, w)`` | ``adamw(lr, b1, b2, eps, weight_decay=w)`` |
| scikit-learn ``SGDOptimizer(lr, momentum=b, nesterov=n)`` | ``momentum(lr, beta=b, nesterov=n, lr_in_velocity=True)`` |
| the same with ``lr_schedule="invscaling", power_t=p``, ``iteration_ends(t + 1)`` | the same with learning rate ``schedules.power(lr, p)`` |
| scikit-learn ``AdamOptimizer(lr, b1, b2, e)`` | ``adam(lr, b1, b2, e, fold_bias_correction=True)`` |
| the course's Adam, ε inside the √ | ``adam(lr, b1=γ, b2=β, eps=0, eps_root=ε)`` |

PyTorch's defaults differ from optax's (Adagrad: ``initial_accumulator_value=0``,
``eps=1e-10``; RMSprop: ``alpha=0.99``; AdamW: ``weight_decay=1e-2``): pass them
explicitly. ``weight_decay`` of ``sgd``, ``momentum``, ``adagrad``, ``rmsprop`` and
``adam`` is *coupled* (L2 added to the gradient, g ← g + λθ, as PyTorch does; for
SGD it is the course's θ ← (1 − αλ)θ − α∇); that of ``adamw`` is *decoupled*
(added to the Adam direction), as in optax and PyTorch's AdamW.
"""

from nnbasics.optim._adam import AdamState, AmsgradState, adam, adamw, amsgrad, nadam
from nnbasics.optim._basic import (
    AdagradState,
    MomentumState,
    RmspropState,
    SgdState,
    adagrad,
    momentum,
    rmsprop,
    sgd,
)

# also reachable here, beside the optimizers: nb.optim.Schedule, Recipe, REGISTRY, get, ...
from nnbasics.optim._core import ScalarOrSchedule, Schedule  # noqa: F401
from nnbasics.optim._recipes import PROGRAM_INPUTS, Recipe, is_tunable, recipe_of  # noqa: F401
from nnbasics.optim._registry import (  # noqa: F401
    CLOSED_UNIT,
    NON_NEGATIVE,
    POSITIVE,
    REGISTRY,
    UNIT,
    Spec,
    describe,
    get,
    hyperparameters,
    names,
)

__all__ = [
    "AdagradState",
    "AdamState",
    "AmsgradState",
    "MomentumState",
    "RmspropState",
    "SgdState",
    "adagrad",
    "adam",
    "adamw",
    "amsgrad",
    "momentum",
    "nadam",
    "rmsprop",
    "sgd",
]
