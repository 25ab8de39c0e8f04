"""Every output file is written whole or not at all, by one writer at a time.

``predict --output``, ``train --history``/``--plot`` and bench results go
through one atomic write (a locked temporary file beside the target, fsync,
rename): a killed or failing writer leaves the old file whole and nothing
partial under the final name; a second writer of the same file is refused in
one line. Each test backs a row of docs/reliability.md.
"""

import errno
import glob
import os
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics.data import Standardizer
from tests._helpers.cli import one_line, run

QUICK = ["train", "--dataset", "iris", "--hidden-sizes", "8", "--epochs", "3", "--batch-size", "16"]
OLD = "the old predictions\n"


def wait_for(condition, what: str, deadline_s: float = 300.0, proc=None):
    """Polls ``condition()`` until true; fails after a generous deadline or if ``proc`` ends."""
    for _ in range(int(deadline_s / 0.05)):  # counted 50 ms polls: a bound, no clock read
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"{what}: the process ended first ({proc.returncode}): {proc.stderr.read()}"
            )
        time.sleep(0.05)
    if not condition():
        pytest.fail(f"{what}: not within {deadline_s} s")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    stats = Standardizer(np.array([1.0, -1.0], np.float32), np.array([2.0, 0.5], np.float32))
    nb.save_model(d / "m.npz", net, net.init(jax.random.key(0)), stats, labels=["a", "b", "c"])
    X = np.random.default_rng(0).normal(size=(3000, 2))
    np.savetxt(d / "x.csv", X, delimiter=",", header="u,v", comments="", fmt="%.6f")
    return d


def predict_into(capsys, model_dir, out):
    """``nnbasics predict m.npz x.csv --output out --overwrite`` in this process."""
    return run(
        capsys, "predict", model_dir / "m.npz", model_dir / "x.csv", "--output", out, "--overwrite"
    )


@pytest.fixture
def old_output(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text(OLD)
    return out


def _leftovers(path) -> list[str]:
    return glob.glob(os.path.join(os.path.dirname(path), f".{os.path.basename(path)}-*.tmp"))


# A predict whose row writer stops half-way and waits (until killed) with the rows
# written so far flushed: a writer caught mid-stream.
PAUSED_PREDICT = textwrap.dedent(
    """
    import pathlib, sys, time
    from nnbasics import cli
    from nnbasics.cli import predict

    def paused(file, header, rows):
        file.write(",".join(header) + "\\n")
        for row in rows[: len(rows) // 2]:
            file.write(",".join(map(str, row)) + "\\n")
        file.flush()
        pathlib.Path(sys.argv[1]).write_text("streaming")
        time.sleep(600)

    predict._write = paused
    sys.exit(cli.main(sys.argv[2:]))
    """
)


def _paused_predict(model_dir, out, ready):
    argv = ["predict", model_dir / "m.npz", model_dir / "x.csv", "--output", out, "--overwrite"]
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_PREDICT, str(ready), *map(str, argv)],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(ready.exists, "the predict streaming its rows", proc=proc)
    return proc


def test_predict_killed_mid_write_leaves_the_old_output_whole(capsys, model_dir, old_output):
    proc = _paused_predict(model_dir, old_output, old_output.parent / "ready")
    try:
        assert old_output.read_text() == OLD  # the rows go to a temporary file
        proc.kill()
        proc.wait()
    finally:
        proc.kill()
    assert old_output.read_text() == OLD
    assert _leftovers(old_output)  # the killed writer's, under temporary names
    code, out, err = predict_into(capsys, model_dir, old_output)
    assert code == 0, err
    assert len(old_output.read_text().splitlines()) == 3001
    assert _leftovers(old_output) == []  # the next write removes the dead writer's file


def test_two_predicts_writing_one_output_the_second_is_refused(capsys, model_dir, old_output):
    proc = _paused_predict(model_dir, old_output, old_output.parent / "ready")
    try:
        code, out, err = predict_into(capsys, model_dir, old_output)
    finally:
        proc.kill()
        proc.wait()
    line = one_line(err)
    assert code == 2 and out == ""
    assert "--output" in line and "in use by another run" in line and str(old_output) in line
    assert old_output.read_text() == OLD


def test_predict_on_a_full_disk_keeps_the_old_output(capsys, model_dir, old_output, monkeypatch):
    from nnbasics.cli import predict

    def full_disk(file, header, rows):
        file.write(",".join(header) + "\n")
        for row in rows[:100]:
            file.write(",".join(map(str, row)) + "\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(predict, "_write", full_disk)
    code, out, err = predict_into(capsys, model_dir, old_output)
    line = one_line(err)
    assert code == 1 and str(old_output) in line and "No space left on device" in line
    assert old_output.read_text() == OLD
    assert _leftovers(old_output) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only: skipped elsewhere), unmounted afterwards."""
    target = tmp_path / "fs"
    target.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)]
        ).returncode
    ):
        pytest.skip("mounting a tmpfs needs root")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def _fill(directory, leave: int) -> None:
    """Fills the file system of ``directory`` but for about ``leave`` bytes."""
    stat = os.statvfs(directory)
    free = stat.f_bavail * stat.f_frsize
    with open(os.path.join(directory, "filler"), "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


@pytest.mark.parametrize("overwrite", [False, True])
def test_history_on_a_full_disk_is_one_line_and_keeps_the_old(capsys, small_tmpfs, overwrite):
    history = small_tmpfs / "h.csv"
    if overwrite:
        history.write_text("the old history\n")
    _fill(small_tmpfs, leave=0)
    extra = ["--overwrite"] if overwrite else []
    code, _, err = run(capsys, *QUICK, "--epochs", "200", "--quiet", "--history", history, *extra)
    line = one_line(err)
    assert code == 1 and str(history) in line and "No space left on device" in line
    if overwrite:
        assert history.read_text() == "the old history\n"
    else:
        assert not history.exists()  # nothing cut mid-row under the final name
    assert _leftovers(history) == []


def test_plot_is_written_through_the_atomic_write(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nnbasics import _files

    opened = []
    real = _files.atomic_open

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(_files, "atomic_open", spy)
    plot = tmp_path / "curves.png"
    code, _, err = run(capsys, *QUICK, "--quiet", "--plot", plot)
    assert code == 0, err
    # the program store writes its entries through atomic_open too (when this process
    # has not stored the run's programs yet): only the outputs' folder is compared
    outputs = [p for p in opened if p.startswith(str(tmp_path))]
    assert outputs == [str(plot)] and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _leftovers(plot) == []


def test_atomic_open_interrupted_leaves_the_old_file(tmp_path):
    from nnbasics import _files

    path = tmp_path / "f.txt"
    path.write_text("old")

    def interrupted():
        with _files.atomic_open(path, "w") as f:
            f.write("new, cut")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert path.read_text() == "old" and _leftovers(path) == []
    with _files.atomic_open(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new" and oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
