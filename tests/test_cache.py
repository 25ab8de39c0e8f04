"""The compilation cache nnbasics turns on by default: folder, permissions, opt-out, fallback."""

import os
import stat
import warnings

import jax
import pytest

from nnbasics import compilation

_KEYS = (
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_compilation_cache_max_size",
)


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A process that has not turned the cache on, with its home in tmp_path; restores jax.config."""
    saved = {k: getattr(jax.config, k) for k in _KEYS}
    monkeypatch.setattr(compilation, "_tried", False)
    monkeypatch.setattr(compilation, "_disabled", False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv(compilation.OFF_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    jax.config.update("jax_compilation_cache_dir", None)
    yield tmp_path
    for k, v in saved.items():
        jax.config.update(k, v)


def test_default_folder_is_per_user_per_machine_and_private(fresh):
    path = compilation.use_default_cache()
    root = fresh / "xdg" / "nnbasics" / "jax"
    assert path is not None and os.path.dirname(path) == str(root)
    name = os.path.basename(path)
    assert f"jax{jax.__version__}" in name and name.startswith(os.uname().machine)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert jax.config.jax_compilation_cache_dir == path
    assert jax.config.jax_compilation_cache_max_size == compilation.MAX_BYTES
    assert compilation.use_default_cache() is None  # once per process


def test_open_permissions_are_tightened(fresh):
    path = compilation.default_cache_dir()
    os.makedirs(path)
    os.chmod(path, 0o777)
    assert compilation.use_default_cache() == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_environment_folder_is_used_as_given(fresh, monkeypatch):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(fresh / "mine"))
    jax.config.update("jax_compilation_cache_dir", str(fresh / "mine"))
    assert compilation.use_default_cache() == str(fresh / "mine")


def test_user_configured_folder_is_left_alone(fresh):
    jax.config.update("jax_compilation_cache_dir", str(fresh / "theirs"))
    assert compilation.use_default_cache() is None
    assert jax.config.jax_compilation_cache_dir == str(fresh / "theirs")


@pytest.mark.parametrize("how", ["env", "function"])
def test_opt_out(fresh, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv(compilation.OFF_ENV, "1")
    else:
        compilation.disable_compilation_cache()
    assert compilation.use_default_cache() is None
    assert jax.config.jax_compilation_cache_dir is None
    assert not (fresh / "xdg").exists()


def test_unusable_folder_warns_once_and_compiles(fresh):
    (fresh / "xdg").write_text("a file where the folder should be")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compilation.use_default_cache() is None
        assert compilation.use_default_cache() is None
    assert len(caught) == 1 and "compilation cache disabled" in str(caught[0].message)
    assert jax.config.jax_compilation_cache_dir is None
    assert float(jax.jit(lambda x: x + 1)(1.0)) == 2.0


def test_fit_turns_the_cache_on(fresh):
    import numpy as np

    import nnbasics as nb

    net = nb.MLP((2, 3, 2))
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    nb.fit(
        net, net.init(jax.random.key(0)), nb.optim.sgd(0.1), (X, y), epochs=1, key=jax.random.key(1)
    )
    assert jax.config.jax_compilation_cache_dir == compilation.default_cache_dir()
