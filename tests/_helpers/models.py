"""Rewriting a saved model file one field at a time."""

import json

import numpy as np


def rewrite_model(src, dst, change):
    """Copies the model archive ``src`` to ``dst`` with ``change(header, arrays)`` applied."""
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("header")))
    change(header, arrays)
    np.savez(dst, header=np.array(json.dumps(header)), **arrays)


def set_first(name, value):
    def change(header, arrays):
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] = value

    return change
