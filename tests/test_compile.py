"""Structure of compilation: what compiles, how often, and the persistent cache.

No test here reads a clock: they count XLA compilations and cache entries.
"""

import os
import re
import subprocess
import sys
import threading
import warnings

import chex
import jax
import numpy as np
import optax
import pytest
from _compiles import count_compilations

import nnbasics as nb
from nnbasics import train
from nnbasics.train import _epoch as _train_epoch

NET = nb.MLP((4, 8, 3))


@pytest.fixture(scope="module")
def iris():
    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    return (X[:120], y[:120]), (X[120:], y[120:])


def _fit(data, optimizer, **kw):
    (train_set, valid) = data
    params = NET.init(jax.random.key(0), np.float32)
    kw = dict(dict(epochs=2, batch_size=16, key=jax.random.key(1), valid=valid, patience=5), **kw)
    return nb.fit(NET, params, optimizer, train_set, **kw)


# --- optimizers equal by value


def test_optimizers_built_alike_are_equal():
    assert nb.optim.adam(1e-3) == nb.optim.adam(1e-3)
    assert hash(nb.optim.adam(1e-3)) == hash(nb.optim.adam(1e-3))
    assert nb.optim.adam(1e-3) != nb.optim.adam(2e-3)
    assert nb.optim.adam(1e-3) != nb.optim.adamw(1e-3)
    assert nb.optim.momentum(0.1, nesterov=True) != nb.optim.momentum(0.1)
    schedule = lambda: nb.schedules.inverse_time(0.1, 1e-3, hold=5)
    assert schedule() == schedule() and nb.optim.sgd(schedule()) == nb.optim.sgd(schedule())
    assert nb.schedules.power(0.1, 0.75) != nb.schedules.power(0.1, 0.8)


def test_recipe_splits_program_inputs_from_structure():
    structure, numbers = nb.optim.recipe_of(nb.optim.adamw(1e-3, weight_decay=0.0)).split()
    assert numbers == {"learning_rate": 1e-3, "eps": 1e-8}  # zeros and decay rates stay fixed
    assert (
        structure == nb.optim.recipe_of(nb.optim.adamw(5e-2, eps=1e-6, weight_decay=0.0)).split()[0]
    )
    assert nb.optim.recipe_of(optax.adam(1e-3)) is None


# --- what nb.fit compiles


def test_second_fit_with_an_equal_new_optimizer_compiles_nothing(iris):
    _fit(iris, nb.optim.adam(1e-2))
    with count_compilations() as c:
        _fit(iris, nb.optim.adam(1e-2))
    assert c.count == 0


def test_learning_rate_and_l2_sweep_compiles_once(iris):
    _fit(iris, nb.optim.adam(1e-2), l2=1e-3)
    with count_compilations() as c:
        results = [
            _fit(iris, nb.optim.adam(lr), l2=l2) for lr in (3e-3, 1e-2, 3e-2) for l2 in (1e-4, 1e-3)
        ]
    assert c.count == 0
    losses = {float(r.history["train_loss"][-1]) for r in results}
    assert len(losses) == 6  # each run really used its own numbers


def test_program_inputs_give_the_same_run_as_constants(iris):
    """A learning rate passed as a program input trains exactly as one compiled in."""
    (X, y), _ = iris
    opt = nb.optim.sgd(0.1)
    state = train.init_state(NET.init(jax.random.key(0)), opt, jax.random.key(1))
    constant = jax.jit(
        lambda s: train.train_epoch(s, X, y, net=NET, optimizer=opt, batch_size=16, freeze=False)
    )
    expected, _ = constant(state)
    state = train.init_state(NET.init(jax.random.key(0)), opt, jax.random.key(1))
    got, _ = train.compile_epoch(NET, opt, batch_size=16, freeze=False)(state, X, y)
    chex.assert_trees_all_equal(expected.params, got.params)


def test_programs_cache_stays_bounded(iris):
    """Hundreds of fits with new (unequal) optax optimizers keep a bounded cache."""
    for _ in range(_train_epoch._PROGRAMS_SIZE + 10):
        _fit(iris, optax.sgd(0.1), epochs=1)
    assert len(_train_epoch._PROGRAMS) <= _train_epoch._PROGRAMS_SIZE


def test_evaluate_is_one_program_and_equals_metrics(iris):
    (X, y), (Xv, yv) = iris
    params = NET.init(jax.random.key(0))
    with count_compilations() as c:
        both = train.evaluate(NET, params, (X, y), (Xv, yv))
    assert c.count == 1
    for got, pair in zip(both, ((X, y), (Xv, yv))):
        # float32 means summed in another order: equal to float32 rounding.
        np.testing.assert_allclose(got, train.metrics(NET, params, *pair), rtol=1e-6)


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
# tests/test_claims_more.py (one run shared with its headline-accuracy check).


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
    for entry in cache.iterdir():
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


def test_program_cache_is_one_thread_at_a_time():
    # nnbasics.sklearn compiles a refit on a thread beside its search: the cache's get,
    # move and eviction must not interleave (a key evicted between get and move_to_end).
    entered, release, done = threading.Event(), threading.Event(), []

    def slow_make():
        entered.set()
        release.wait(10)
        return "first"

    first = threading.Thread(target=_train_epoch._program, args=(("lock test", 1), slow_make))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(
        target=lambda: done.append(_train_epoch._program(("lock test", 2), lambda: "second"))
    )
    second.start()
    second.join(0.5)
    blocked = not done  # the second waits for the first's whole get-make-store
    release.set()
    first.join()
    second.join()
    for k in (("lock test", 1), ("lock test", 2)):
        _train_epoch._PROGRAMS.pop(k, None)
    assert blocked and done == ["second"]


def test_train_compiles_init_and_evaluation_beside_the_epoch(capsys):
    # `nnbasics train` draws the parameters on a thread while the data are split, and
    # compiles the final evaluation there while fit compiles the epoch: the init and
    # evaluation programs compile on the thread, nothing compiles on the main thread
    # after the epoch (the real evaluation finds its program), and nothing twice.
    from nnbasics import cli

    jax.clear_caches()
    argv = ["train", "--quiet", "--dataset", "iris", "--epochs", "2", "--hidden-sizes", "13,11"]
    with count_compilations() as c:
        assert cli.main(argv) == 0
    capsys.readouterr()
    main = [p for t, p in c.programs if t == "MainThread"]
    beside = sorted(p for t, p in c.programs if t.startswith("nnbasics-train"))
    assert beside == ["jit(<lambda>)", "jit(_init)"], c.programs  # evaluate, init
    assert main[-1] == "jit(epoch)", c.programs
    assert len(c.programs) == 7, c.programs  # the documented programs, each once
