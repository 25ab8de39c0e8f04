"""The compilation cache nnbasics turns on by default: folder, permissions, opt-out, fallback, and the command line's use of it."""

import os
import re
import stat
import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _store, compilation
from tests._helpers.compiles import fresh_programs
from tests._helpers.train import train_valid

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
    monkeypatch.delenv("JAX_COMPILATION_CACHE_MAX_SIZE", raising=False)
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


def test_the_environments_bound_is_used_as_given(fresh, monkeypatch):
    # JAX reads its variable into the flag at import; nnbasics leaves the flag as it is
    monkeypatch.setenv("JAX_COMPILATION_CACHE_MAX_SIZE", "-1")
    jax.config.update("jax_compilation_cache_max_size", -1)
    assert compilation.use_default_cache() is not None
    assert jax.config.jax_compilation_cache_max_size == -1


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
    import nnbasics as nb

    net = nb.MLP((2, 3, 2))
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    nb.fit(
        net, net.init(jax.random.key(0)), nb.optim.sgd(0.1), (X, y), epochs=1, key=jax.random.key(1)
    )
    assert jax.config.jax_compilation_cache_dir == compilation.default_cache_dir()


def test_a_program_compiled_before_fit_leaves_the_cache_bounded(tmp_path):
    # JAX builds its cache at the first compilation once a folder is set: with the folder
    # from $JAX_COMPILATION_CACHE_DIR and a program compiled before nb.fit, the cache was
    # left unbounded and wrote entries without the access times that a bounded cache's
    # eviction, in any other process, reads (and fails on).
    code = """if True:
        import os, jax, jax.numpy as jnp, nnbasics as nb
        jnp.ones(3) + 1
        X, y = nb.data.load("xor")
        net = nb.MLP((2, 3, 2))
        nb.fit(net, net.init(jax.random.key(0)), nb.optim.adam(0.1), (X, y), epochs=2,
               key=jax.random.key(1))
        names = os.listdir(os.environ["JAX_COMPILATION_CACHE_DIR"])
        print(sorted(n[: -len("-cache")] for n in names if n.endswith("-cache")))
        print(sorted(n[: -len("-atime")] for n in names if n.endswith("-atime")))
    """
    # JAX's default bound, as a user's process has it (the suite's cache has none)
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_MAX_SIZE"}
    env["JAX_COMPILATION_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    entries, accessed = out.stdout.splitlines()
    assert entries != "[]"
    assert entries == accessed


# --- the command line


def _cli(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "nnbasics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# The default `nnbasics train` compiles exactly the documented 7 programs:
# tests/cli/test_train.py (one run shared with its headline-accuracy check).


def test_train_writes_then_reads_the_persistent_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "JAX_LOG_COMPILES": "1"}
    args = ["train", "--quiet", "--epochs", "2", "--dataset", "iris"]
    first = _cli(args, env)
    assert first.returncode == 0, first.stderr[-2000:]
    (machine,) = (tmp_path / "nnbasics" / "jax").iterdir()  # one folder per machine
    entries = os.listdir(machine)
    assert any(e.endswith("-cache") for e in entries)
    second = _cli(args, env)
    assert second.returncode == 0
    compiled = len(re.findall(r"Finished XLA compilation", second.stderr))
    hits = len(re.findall(r"Persistent compilation cache hit", second.stderr))
    assert hits == compiled > 0
    assert first.stdout.splitlines()[:-1] == second.stdout.splitlines()[:-1]  # same results


def test_corrupt_cache_warns_once_and_carries_on(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    args = ["train", "--quiet", "--epochs", "2", "--dataset", "iris"]
    assert _cli(args, env).returncode == 0
    (cache,) = (tmp_path / "nnbasics" / "jax").iterdir()
    entries = [e for e in cache.rglob("*") if e.is_file()]
    assert any(e.parent.name == "nnbasics-programs" for e in entries)  # whole programs too
    for entry in entries:
        entry.write_bytes(b"not a compiled program")
    out = _cli(args, env)
    assert out.returncode == 0, out.stderr[-2000:]
    warned = [l for l in out.stderr.splitlines() if "compilation cache" in l]
    assert len(warned) == 1 and warned[0].startswith("nnbasics: warning:"), out.stderr


def test_unusable_cache_directory_warns_once_and_carries_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert nb.enable_compilation_cache(blocker / "cache") is None
    assert len(seen) == 1 and "compilation cache disabled" in str(seen[0].message)
    out = _cli(
        ["train", "--quiet", "--epochs", "1", "--dataset", "iris"],
        {"JAX_COMPILATION_CACHE_DIR": str(blocker / "cache")},
    )
    assert out.returncode == 0
    assert out.stderr.count("compilation cache disabled") == 1


def test_default_cache_dir_follows_jax_and_xdg(monkeypatch, tmp_path):
    from nnbasics.compilation import default_cache_dir

    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert os.path.dirname(default_cache_dir()) == str(tmp_path / "nnbasics" / "jax")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/else")
    assert default_cache_dir() == "/somewhere/else"


def test_a_cache_entry_evicted_by_another_process_is_not_warned_about(capsys, monkeypatch):
    from nnbasics.cli import _common

    monkeypatch.setattr(_common, "_shown_cache_error", False)

    _common.show_warning(
        "Error writing persistent compilation cache entry for 'jit_f': FileNotFoundError: "
        "[Errno 2] No such file or directory: '/c/jit_f-abc-atime'",
        UserWarning,
        "f.py",
        1,
    )
    assert capsys.readouterr().err == ""
    _common.show_warning(
        "Error writing persistent compilation cache entry: PermissionError", UserWarning, "f.py", 1
    )
    assert "PermissionError" in capsys.readouterr().err


# ------------------------------------------------------------ compiler options


def _with_options(options, folder, run):
    """``run()``'s result (on the host), every program compiled afresh with ``options``."""
    with fresh_programs(folder), pytest.MonkeyPatch.context() as m:
        m.setattr(_store, "compiler_options", lambda: options)
        return jax.device_get(run())


# The two code generators may order a reduction's additions differently: a loss can
# differ in its last bit or two. Measured on these fits (float64, 100 epochs): at most
# 3.8e-16 relative; labels and counts equal.
OPTIONS_RTOL = 1e-14

# XLA's own defaults for the options (`XLA_FLAGS=--help` lists them), named rather than
# left out: the suite's $XLA_FLAGS (conftest.py) sets nnbasics' options for every program.
XLAS_DEFAULTS = {"xla_cpu_use_fusion_emitters": True}


def _agree(run, tmp_path):
    """``run()`` gives the same results with nnbasics' compiler options and with XLA's defaults."""
    import jaxlib.version

    options = compilation.compiler_options()
    assert options == compilation.COMPILER_OPTIONS, (
        f"no compiler options on jaxlib {jaxlib.version.__version__}: compare them on it "
        "(these tests) and widen compilation._COMPARED_JAXLIB"
    )
    assert XLAS_DEFAULTS.keys() == options.keys() and options != XLAS_DEFAULTS
    ours = _with_options(options, tmp_path / "ours", run)
    xlas = _with_options(XLAS_DEFAULTS, tmp_path / "xlas", run)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(xlas), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        if np.issubdtype(a.dtype, np.inexact):
            np.testing.assert_allclose(a, b, rtol=OPTIONS_RTOL, atol=0, strict=True)
        else:
            np.testing.assert_array_equal(a, b, strict=True)


# every hidden unit, every output unit, an optimizer of each family, penalties, early stopping
_FITS = [
    ("relu", "softmax", "adam", {"l2": 1e-3}),
    ("sigmoid", "sigmoid", "sgd", {"l1": 1e-3}),
    ("tanh", "linear", "momentum", {"patience": 2}),
    ("softplus", "gaussian", "rmsprop", {}),
    ("maxout", "mixture", "adagrad", {"l2": 1e-3, "l1": 1e-4}),
    ("linear", "softmax", "nesterov", {"patience": 1}),
]


@pytest.mark.parametrize(("hidden", "output", "optimizer", "options"), _FITS)
def test_a_fit_agrees_with_and_without_the_compiler_options(
    hidden, output, optimizer, options, tmp_path
):
    net = nb.MLP((3, 6, 2), hidden=hidden, output=output)
    train, valid = train_valid(net, 50, 20)

    def run():
        params = net.init(jax.random.key(0), np.float64)
        opt = nb.optim.get(optimizer, learning_rate=0.05)
        fitted = nb.fit(
            net, params, opt, train, key=jax.random.key(1), epochs=100, batch_size=16,
            valid=valid, **options,
        )  # fmt: skip
        evaluated = nb.train.evaluate(net, fitted.params, valid, train)
        return fitted, evaluated, net.predict(fitted.params, valid[0])

    _agree(run, tmp_path)


def test_a_search_and_the_estimators_agree_with_and_without_the_compiler_options(
    tmp_path,
):
    from nnbasics import search as nb_search
    from nnbasics.sklearn import MLPClassifier, MLPRegressor

    net = nb.MLP((4, 5, 3), hidden="tanh")
    train, valid = train_valid(net, 50, 20, seed=1)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(90, 5)), rng.integers(0, 3, 90)

    def run():
        configs = nb_search.grid(sizes=[(4, 2, 3), (4, 5, 3)], learning_rate=[0.05, 0.2])
        found = nb_search.search(
            net, train, valid, configs=configs, epochs=3, batch_size=16, dtype=np.float64
        )
        clf = MLPClassifier((7,), max_iter=5, random_state=0).fit(X, y)
        reg = MLPRegressor((7,), max_iter=5, random_state=0, early_stopping=True).fit(X, X[:, 0])
        return (
            found.params,
            found.history,
            clf.coefs_,
            clf.predict(X),
            clf.predict_proba(X),
            reg.predict(X),
        )

    _agree(run, tmp_path)


@pytest.mark.parametrize("store", ["on", "off"])
def test_programs_are_compiled_with_the_options_with_the_store_on_or_off(store, tmp_path):
    # An option XLA does not know makes the compilation fail: proof the options reach it,
    # whether or not the program is stored (the compilation cache off).
    net = nb.MLP((2, 3, 2))
    params = net.init(jax.random.key(0))
    X, y = np.zeros((8, 2), np.float32), np.zeros(8, np.int32)
    with fresh_programs(tmp_path), pytest.MonkeyPatch.context() as m:
        m.setattr(_store, "compiler_options", lambda: {"xla_no_such_option": True})
        if store == "off":
            m.setattr(_store, "folder", lambda: None)
        with pytest.raises(Exception, match="xla_no_such_option"):
            nb.fit(net, params, nb.optim.sgd(0.1), (X, y), key=jax.random.key(1), epochs=1)


def test_a_fit_is_the_same_bits_with_the_store_on_or_off(tmp_path, iris):
    # Off, a program is compiled as a stored one is (the same options), kept in memory only.
    train, valid = iris
    net = nb.MLP((4, 8, 3), hidden="tanh")
    results = []
    for store in ("on", "off"):
        with fresh_programs(tmp_path / store), pytest.MonkeyPatch.context() as m:
            if store == "off":
                m.setattr(_store, "folder", lambda: None)
            fitted = nb.fit(
                net, net.init(jax.random.key(0), np.float64), nb.optim.adam(0.01), train,
                key=jax.random.key(1), epochs=20, batch_size=32, valid=valid,
            )  # fmt: skip
            results.append(jax.device_get((fitted.params, fitted.history)))
    for a, b in zip(*map(jax.tree.leaves, results), strict=True):
        np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize(
    ("version", "used"),
    [("0.5.3", False), ("0.9.1", False), ("0.10.0", True), ("0.10.2.dev20261201", True),
     ("0.11.0", False), ("1.2.0", False)],
)  # fmt: skip
def test_the_options_are_used_only_on_the_jaxlib_versions_where_they_were_compared(
    version, used, monkeypatch
):
    import jaxlib.version

    monkeypatch.setattr(jaxlib.version, "__version__", version)
    assert compilation.compiler_options() == (compilation.COMPILER_OPTIONS if used else None)
    assert compilation.xla_flags() == ("--xla_cpu_use_fusion_emitters=false" if used else "")


def test_the_suite_compiles_every_program_with_the_options():
    # tests/conftest.py sets them for the whole suite (its compilations take about 30 %
    # less time so); the comparisons above name XLA's defaults rather than omit them.
    assert compilation._compared()
    assert compilation.xla_flags() in os.environ.get("XLA_FLAGS", "").split(" ")
