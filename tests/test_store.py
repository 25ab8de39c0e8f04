"""The program store: compiled programs kept whole on disk, keyed by all that changes them."""

import json
import os
import secrets
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _store, compilation


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store in tmp_path; ``store.traces`` counts the compilations of ``store.program()``."""
    folder = tmp_path / "programs"
    monkeypatch.setattr(_store, "folder", lambda: str(folder))
    traces = []  # one per compilation: a loaded program is not lowered
    # a program of this test alone: JAX's persistent cache, which the run's tests share,
    # cannot serve it (see below). A random salt in [1, 2) with 40 random bits (exact in
    # float64, 23 of them in float32): two of a run's tests meet with a chance of about
    # 1e-12 (1e-7 in float32), where 997 salts met in about one run in six.
    salt = 1.0 + secrets.randbits(40) / 2**40
    jitted = jax.jit(lambda x, y: jnp.sin(x) * y + salt)

    class Counted:
        def __call__(self, *args):
            return jitted(*args)

        def lower(self, *args):
            traces.append(1)
            return jitted.lower(*args)

    class Store:
        def program(self, static=("test", 1)):
            """A fresh Stored (nothing in memory), as in a new process."""
            return _store.Stored(static, Counted())

        def files(self):
            return sorted(p.name for p in folder.glob("*.program"))

    s = Store()
    s.folder, s.traces, s.salt = folder, traces, salt
    return s


X = np.linspace(0.0, 1.0, 5)


def test_a_stored_program_loads_without_tracing_and_gives_the_same_bits(store):
    first = store.program()(X, 2.0)
    assert len(store.traces) == 1 and len(store.files()) == 1
    again = store.program()(X, 2.0)
    assert len(store.traces) == 1  # loaded, not traced and compiled again
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(first, jax.jit(lambda x, y: jnp.sin(x) * y + store.salt)(X, 2.0))


def test_an_executable_served_by_jaxs_cache_is_not_stored(store):
    # Serialized again, such an executable loads but fails to run ("Function
    # broadcast_add_fusion not found"): a program is stored only when compiled here.
    class Served:
        def __init__(self, lowered):
            self.lowered = lowered

        def compile(self, **options):
            jax.monitoring.record_event("/jax/compilation_cache/cache_hits")
            return self.lowered.compile(**options)

    program = store.program()
    lower = program.jitted.lower
    program.jitted.lower = lambda *args: Served(lower(*args))
    served = program(X, 2.0)
    assert store.files() == []
    np.testing.assert_array_equal(store.program()(X, 2.0), served)
    assert len(store.files()) == 1  # compiled here: stored


@pytest.mark.parametrize(
    "change",
    [
        "static",
        "shape",
        "dtype",
        "weak type",
        "tree",
        "source",
        "jax version",
        "device kind",
        "device count",
        "xla flags",
    ],
)
def test_every_part_of_the_key_makes_another_program(store, monkeypatch, change):
    store.program()(X, 2.0)
    static, args = ("test", 1), (X, 2.0)
    if change == "static":
        static = ("test", 2)
    elif change == "shape":
        args = (X[:3], 2.0)
    elif change == "dtype":
        args = (X.astype(np.float32), 2.0)
    elif change == "weak type":
        args = (X, np.float64(2.0))  # a float64 array, not a weakly typed Python float
    elif change == "tree":
        args = ((X,), 2.0)
        static = ("test", 1)
    elif change == "source":
        monkeypatch.setattr(_store, "_source_hash", lambda: "an edited checkout")
    elif change == "jax version":
        monkeypatch.setattr(jax, "__version__", "0.0.0")
    elif change in ("device kind", "device count"):
        real = jax.devices()

        class Other:
            platform, device_kind = real[0].platform, "another kind"

        fake = [Other()] if change == "device kind" else real * 2
        monkeypatch.setattr(jax, "devices", lambda *a: fake)
    elif change == "xla flags":
        monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    if change == "tree":
        program = _store.Stored(static, jax.jit(lambda t, y: jnp.sin(t[0]) * y + 1))
    else:
        program = store.program(static)
    program(*args)
    assert len(store.files()) == 2, change


@pytest.mark.parametrize("setting", ["jax_enable_x64", "jax_threefry_partitionable"])
def test_the_settings_that_change_a_program_are_in_its_key(setting):
    before = _store.environment()
    value = getattr(jax.config, setting)
    jax.config.update(setting, not value)
    try:
        assert _store.environment() != before
    finally:
        jax.config.update(setting, value)
    assert _store.environment() == before


def test_a_corrupt_entry_is_ignored_with_one_warning_and_written_again(store, monkeypatch):
    monkeypatch.setattr(_store, "_warned", set())
    expected = store.program()(X, 2.0)
    (name,) = store.files()
    (store.folder / name).write_bytes(b"not a stored program")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = store.program()(X, 2.0)
        store.program(("test", 2))(X, 2.0)
        for other in store.files():
            (store.folder / other).write_bytes(b"\x80\x05 truncated")
        store.program()(X, 2.0)
    np.testing.assert_array_equal(got, expected)
    assert len(seen) == 1, [str(w.message) for w in seen]
    message = str(seen[0].message)
    assert "persistent compilation cache" in message and name in message
    assert len(store.traces) == 4  # compiled again each time the entry could not be read
    store.program()(X, 2.0)
    assert len(store.traces) == 4  # and the rewritten entry loads


def test_an_entry_of_another_key_is_not_run(store, monkeypatch):
    monkeypatch.setattr(_store, "_warned", set())
    store.program(("test", 2))(X, 2.0)
    (other,) = store.files()
    store.program()(X, 2.0)
    mine = next(n for n in store.files() if n != other)
    os.replace(store.folder / other, store.folder / mine)  # another program under my name
    with pytest.warns(UserWarning, match="holds another program"):
        store.program()(X, 2.0)


@pytest.mark.parametrize("static", [object(), ("epoch", lambda x: x)])
def test_a_configuration_without_a_stable_text_is_not_stored(store, static):
    store.program(static)(X, 2.0)
    assert store.files() == []


@pytest.mark.parametrize("setting", ["disable_jit", "debug_nans", "debug_infs"])
def test_jit_off_and_nan_checks_run_through_jax_jit(store, setting):
    # jit off runs eagerly, and a NaN check re-runs the program op by op: neither is
    # compiled here (nor stored).
    with getattr(jax, setting)(True):
        y = store.program()(X, 2.0)
    assert store.traces == [] and store.files() == []
    np.testing.assert_allclose(y, np.sin(X) * 2.0 + store.salt, rtol=1e-15)


def test_the_store_is_off_with_the_compilation_cache():
    saved = jax.config.jax_compilation_cache_dir
    try:
        jax.config.update("jax_compilation_cache_dir", None)
        assert _store.folder() is None
        jax.config.update("jax_compilation_cache_dir", "/some/cache")
        assert _store.folder() == os.path.join("/some/cache", _store.FOLDER)
    finally:
        jax.config.update("jax_compilation_cache_dir", saved)


def test_a_call_inside_a_transformation_is_traced_as_usual(store):
    # e.g. init_state inside a user's vmapped training function
    program = store.program()
    got = jax.vmap(lambda x: program(x, 2.0))(np.stack([X, 2 * X]))
    np.testing.assert_allclose(got[1], program(2 * X, 2.0), rtol=1e-15)
    assert len(store.files()) == 1  # the direct call's program only


def test_eviction_removes_the_least_recently_used_first(tmp_path):
    for i, name in enumerate(["old", "mid", "new"]):
        path = tmp_path / f"{name}.program"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + i, 1000 + i))
    _store._evict(str(tmp_path), limit=250)
    assert sorted(p.stem for p in tmp_path.glob("*.program")) == ["mid", "new"]


def test_a_loaded_epoch_still_donates_the_state(store, iris):
    net = nb.MLP((4, 5, 3))
    (X, y), (Xv, yv) = iris
    params = net.init(jax.random.key(0), jnp.float64)
    opt = nb.optim.adam(1e-2)
    # real row counts as inputs, as fit passes them (a program with jax.random.permutation's
    # sort cannot be serialized by XLA: it is not stored, and runs as before)
    epoch = nb.train.compile_epoch(net, opt, batch_size=25)._replace(
        rows={"rows": len(X), "valid_rows": len(Xv)}
    )
    key = jax.random.key(1)
    reference, _ = epoch(nb.train.init_state(params, opt, key), X, y, Xv, yv)
    # a new process's view: nothing in memory, the program read from the store
    loaded = epoch._replace(program=_store.Stored(("again",), epoch.program.jitted))
    loaded(nb.train.init_state(params, opt, key), X, y, Xv, yv)  # stores it
    loaded = epoch._replace(program=_store.Stored(("again",), epoch.program.jitted))
    state = nb.train.init_state(params, opt, key)
    new, _ = loaded(state, X, y, Xv, yv)
    assert all(leaf.is_deleted() for leaf in jax.tree.leaves(state.params))
    jax.tree.map(np.testing.assert_array_equal, new.params, reference.params)


_JOB = textwrap.dedent(
    """
    import json, sys
    import jax
    traced = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: traced.append(kw.get("fun_name"))
        if event == "/jax/core/compile/jaxpr_trace_duration" else None
    )
    import numpy as np
    import nnbasics as nb
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    net = nb.MLP((4, 7, 3))
    params = net.init(jax.random.key(0))
    r = nb.fit(net, params, nb.optim.adam(1e-2), (X[:100], y[:100]), valid=(X[100:], y[100:]),
               epochs=3, batch_size=16, key=jax.random.key(1))
    # evaluate (and metrics through it) is stored too
    scores = nb.train.evaluate(net, r.params, (X[:100], y[:100]), (X[100:], y[100:]))
    bits = [np.asarray(a).tobytes().hex() for a in jax.tree.leaves((r.params, scores))]
    print(json.dumps({"traced": traced, "bits": bits}))
    """
)


def test_a_second_process_runs_the_stored_epoch_without_tracing_it(tmp_path):
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "cache"))
    env.pop(compilation.OFF_ENV, None)
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _JOB], env=env, capture_output=True, text=True, check=True
            ).stdout.splitlines()[-1]
        )
        for _ in range(2)
    ]
    assert "epoch" in runs[0]["traced"] and "<lambda>" in runs[0]["traced"]
    assert not {"epoch", "<lambda>"} & set(runs[1]["traced"]), runs[1]["traced"]
    assert runs[1]["bits"] == runs[0]["bits"]


def test_a_program_read_back_counts_as_recently_used(store):
    store.program()(X, 2.0)
    (name,) = store.files()
    os.utime(store.folder / name, (1000, 1000))
    (store.folder / "other.program").write_bytes(b"x")
    os.utime(store.folder / "other.program", (2000, 2000))
    store.program()(X, 2.0)  # read back: now the most recently used
    _store._evict(str(store.folder), limit=(store.folder / name).stat().st_size)
    assert store.files() == [name]
