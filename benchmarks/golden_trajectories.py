"""Records golden float64 optimizer trajectories from PyTorch and scikit-learn.

Each configuration below runs the library's optimizer for ``STEPS`` updates on
one fixed, seeded gradient sequence over a parameter vector of ``DIM``
coordinates whose gradient magnitudes span 1e-6 to 10 (with exact zeros in
the first steps of one coordinate), and writes ``<name>.npz`` holding

    grads   (STEPS, DIM)     the gradient fed at each step
    params  (STEPS + 1, DIM) the initial parameters, then those after each step
    config  ()               JSON: library, version, optimizer, kwargs, notes

``tests/optim/test_optimizers.py`` replays the gradients through ``nnbasics.optim`` and
compares, so the tests need neither PyTorch nor this script. Re-run it (it
needs ``torch`` and ``scikit-learn``) only to add configurations:

    python benchmarks/golden_trajectories.py [--out tests/optim/golden]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

STEPS = 100
DIM = 6
SEED = 20240603

TORCH = {
    "torch_sgd": ("SGD", {"lr": 0.05}),
    "torch_sgd_weight_decay": ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    "torch_sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}),
    "torch_sgd_dampening": (
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
    ),
    "torch_sgd_nesterov": (
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
    ),
    "torch_adagrad": ("Adagrad", {"lr": 0.1}),
    "torch_adagrad_options": (
        "Adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.05,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.2,
            "eps": 1e-6,
        },
    ),
    "torch_rmsprop": ("RMSprop", {"lr": 0.01}),
    "torch_rmsprop_momentum": (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5},
    ),
    "torch_rmsprop_centered": (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.95, "momentum": 0.3, "centered": True},
    ),
    "torch_adam": ("Adam", {"lr": 0.01}),
    "torch_adam_weight_decay": (
        "Adam",
        {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.05},
    ),
    "torch_adamw": ("AdamW", {"lr": 0.01}),
    "torch_adamw_options": (
        "AdamW",
        {"lr": 0.01, "betas": [0.85, 0.995], "eps": 1e-7, "weight_decay": 0.1},
    ),
}

SKLEARN = {
    "sklearn_sgd_momentum": (
        "SGDOptimizer",
        {"learning_rate_init": 0.05, "momentum": 0.9, "nesterov": False},
    ),
    "sklearn_sgd_nesterov": (
        "SGDOptimizer",
        {"learning_rate_init": 0.05, "momentum": 0.9, "nesterov": True},
    ),
    "sklearn_sgd_invscaling": (
        "SGDOptimizer",
        {
            "learning_rate_init": 0.1,
            "momentum": 0.8,
            "nesterov": True,
            "lr_schedule": "invscaling",
            "power_t": 0.75,
        },
    ),
    "sklearn_adam": ("AdamOptimizer", {"learning_rate_init": 0.01}),
    "sklearn_adam_options": (
        "AdamOptimizer",
        {"learning_rate_init": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6},
    ),
}


def gradient_sequence() -> tuple[np.ndarray, np.ndarray]:
    """(initial params (DIM,), gradients (STEPS, DIM)), seeded."""
    rng = np.random.default_rng(SEED)
    params = rng.standard_normal(DIM)
    scales = np.logspace(-6, 1, DIM)  # one coordinate per decade or so, 1e-6 .. 10
    grads = scales * (rng.standard_normal((STEPS, DIM)) + 0.3)
    grads[:3, 1] = 0.0  # accumulators that start at 0 must not divide 0 by 0
    return params, grads


def run_torch(optimizer: str, kwargs: dict, params: np.ndarray, grads: np.ndarray):
    import torch

    p = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    opt = getattr(torch.optim, optimizer)([p], **args)
    out = [p.detach().numpy().copy()]
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.stack(out), torch.__version__


def run_sklearn(optimizer: str, kwargs: dict, params: np.ndarray, grads: np.ndarray):
    import sklearn
    from sklearn.neural_network import _stochastic_optimizers as so

    p = params.copy()
    opt = getattr(so, optimizer)([p], **kwargs)
    out = [p.copy()]
    for t, g in enumerate(grads):
        opt.update_params([p], [g.copy()])
        # Batch size 1: t + 1 samples seen; the rate of the next update is
        # lr / (t + 2)^power_t under 'invscaling', i.e. schedules.power(lr, power_t).
        opt.iteration_ends(t + 1)
        out.append(p.copy())
    return np.stack(out), sklearn.__version__


NOTES = {
    "torch": "p.grad = grads[t]; opt.step(); params[t + 1] = p",
    "sklearn": "opt.update_params([p], [grads[t]]); opt.iteration_ends(t + 1); params[t + 1] = p",
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "tests" / "optim" / "golden",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    params, grads = gradient_sequence()
    for library, configs, run in (("torch", TORCH, run_torch), ("sklearn", SKLEARN, run_sklearn)):
        for name, (optimizer, kwargs) in configs.items():
            trajectory, version = run(optimizer, kwargs, params, grads)
            config = {
                "library": library,
                "version": version,
                "optimizer": optimizer,
                "kwargs": kwargs,
                "steps": STEPS,
                "dim": DIM,
                "seed": SEED,
                "dtype": "float64",
                "notes": NOTES[library],
            }
            np.savez(
                args.out / f"{name}.npz",
                grads=grads,
                params=trajectory,
                config=np.array(json.dumps(config, sort_keys=True)),
            )
            print(f"{name}: {library} {optimizer} {kwargs}")


if __name__ == "__main__":
    main()
