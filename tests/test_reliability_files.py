"""Files, locks, checkpoints and processes: each fault ends right or refused in one line."""

import warnings

import jax
import numpy as np
import optax
import pytest

import nnbasics as nb

NET = nb.MLP((4, 8, 3), hidden="tanh", output="softmax")


@pytest.fixture(scope="module")
def iris():
    X, y = nb.data.load("iris")
    X = np.asarray(X, np.float32)
    X = (X - X.mean(0)) / X.std(0)
    return X[:60], np.asarray(y)[:60]


def _fit(train, ckpt, optimizer, epochs=1, **kw):
    return nb.fit(
        NET,
        NET.init(jax.random.key(0)),
        optimizer,
        train,
        epochs=epochs,
        batch_size=30,
        key=jax.random.key(1),
        checkpoint_dir=ckpt,
        **kw,
    )


# --- item 9: resume with optimizers nnbasics cannot inspect -------------------------


def test_plain_optax_resume_warns_what_cannot_be_verified(iris, tmp_path):
    _fit(iris, tmp_path, optax.adam(1e-3))
    with pytest.warns(UserWarning, match="cannot be verified") as record:
        result = _fit(iris, tmp_path, optax.adam(1e-2), epochs=2, resume=True)
    assert result.resumed_from == 1
    assert sum("cannot be verified" in str(w.message) for w in record) == 1


def test_plain_optax_resume_refuses_another_state_structure(iris, tmp_path):
    _fit(iris, tmp_path, optax.adam(1e-3))
    with pytest.raises(ValueError, match=r"optimizer\.state"):
        _fit(iris, tmp_path, optax.sgd(1e-3, momentum=0.9), epochs=2, resume=True)


def test_inject_hyperparams_resume_refuses_another_learning_rate(iris, tmp_path):
    _fit(iris, tmp_path, optax.inject_hyperparams(optax.adam)(learning_rate=1e-3))
    with pytest.raises(ValueError, match=r"optimizer\.hyperparams\.learning_rate"):
        _fit(
            iris,
            tmp_path,
            optax.inject_hyperparams(optax.adam)(learning_rate=1e-2),
            epochs=2,
            resume=True,
        )


def test_nb_optim_resume_gives_no_unverifiable_warning(iris, tmp_path):
    _fit(iris, tmp_path, nb.optim.adam(1e-3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _fit(iris, tmp_path, nb.optim.adam(1e-3), epochs=2, resume=True).resumed_from == 1
