"""nnbasics._files: atomic writes shared by several processes and their temporary files."""

import io
import os
import subprocess

import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import _files
from tests._helpers.processes import run_python

# --- one writer at a time ----------------------------------------------------

_SAVE_LOOP = """
import sys
import numpy as np
from nnbasics import _files
a = {"x": np.random.default_rng(int(sys.argv[2])).normal(size=(200_000,))}
for _ in range(int(sys.argv[3])):
    _files.atomic_savez(sys.argv[1], a)
"""


@pytest.mark.multiprocess
def test_two_processes_saving_one_path_both_succeed(tmp_path):
    path = tmp_path / "m.npz"
    procs = [run_python(_SAVE_LOOP, path, seed, 40, stderr=subprocess.PIPE) for seed in (0, 1)]
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert os.listdir(tmp_path) == ["m.npz"]
    assert np.load(path)["x"].shape == (200_000,)


def test_stale_temporary_file_is_removed_live_one_kept(tmp_path):
    path = str(tmp_path / "m.npz")
    stale = tmp_path / ".m.npz-dead.tmp"
    stale.write_bytes(b"left by a killed writer")
    live = tmp_path / ".m.npz-live.tmp"
    live.write_bytes(b"being written")
    with open(live, "rb") as f:
        fcntl = pytest.importorskip("fcntl")
        # flock conflicts between open file descriptions even within one process.
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        _files.atomic_savez(path, {"x": np.zeros(3)})
        assert sorted(os.listdir(tmp_path)) == [".m.npz-live.tmp", "m.npz"]


# --- reading an archive ------------------------------------------------------


def test_an_archive_names_at_most_five_unexpected_members(tmp_path):
    # Archive.allow refuses members not asked for, naming the first five of them.
    path = tmp_path / "m.npz"
    np.savez(path, **{name: np.zeros(1) for name in "abcdefg"})
    with _files.Archive(path) as archive:
        archive.allow(set("abcdefg"))
        with pytest.raises(_files.Unreadable) as e:
            archive.allow({"g"})
    assert str(e.value) == "6 unexpected member(s) 'a', 'b', 'c', 'd', 'e', ..."


def test_a_bfloat16_leaf_is_stored_as_uint16_of_the_same_bits():
    # to_numpy: dtypes NumPy lacks are stored as unsigned integers of the same width.
    import jax.numpy as jnp

    leaf = jnp.array([1.5, -2.0, 3.0], jnp.bfloat16)
    stored = _files.to_numpy(leaf)
    assert stored.dtype == np.uint16
    np.testing.assert_array_equal(stored.view(leaf.dtype), np.asarray(leaf))


def test_reserve_refuses_a_file_a_live_run_reserved_not_a_dead_runs_mark(tmp_path):
    path = str(tmp_path / "m.npz")
    with (
        _files.reserve(path, "--save"),
        pytest.raises(_files.InUseError) as e,
        _files.reserve(path, "--save"),
    ):
        pass
    assert str(e.value) == (
        f"--save: expected a file no other run is writing, received {path!r}, in use by "
        "another run (wait for it to end, or choose another file)"
    )
    (tmp_path / ".m.npz-dead.tmp").write_bytes(b"")  # a killed run's mark: nothing holds it
    with _files.reserve(path, "--save"):
        pass


def test_an_npy_array_read_from_a_file_object_is_named_so(tmp_path):
    # Archive(path, file) reads ``file``; ``path`` only names it.
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    with pytest.raises(_files.Unreadable) as e:
        _files.Archive(str(tmp_path / "not-there.npz"), buffer)
    assert str(e.value) == "ValueError: a .npy array, not an .npz archive"


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e5m2", "float8_e4m3fn", "int4"])
def test_dtypes_numpy_lacks_are_stored_as_unsigned_integers_of_their_width(dtype):
    # float8_e5m2's kind is "f", bfloat16's "V": each is ml_dtypes', not NumPy's.
    leaf = jnp.ones(3, dtype)
    stored = _files.to_numpy(leaf)
    assert stored.dtype == np.dtype(f"uint{8 * leaf.dtype.itemsize}")
    np.testing.assert_array_equal(stored.view(leaf.dtype), np.asarray(leaf))
    assert _files.to_numpy(np.ones(3, np.float32)).dtype == np.float32
