"""``nnbasics train``: results, outputs, checkpoints, data files, recipes' headline numbers and every refusal in one line."""

import errno
import json
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _files, cli
from tests._helpers.cli import QUICK, one_line, run
from tests._helpers.compiles import count_compilations
from tests._helpers.features import numbers_in
from tests._helpers.files import write_text
from tests._helpers.processes import ONE_EPOCH
from tests._helpers.regression import linear_problem, rmse, write_prices


def test_train_prints_results_table(capsys):
    code, out, err = run(capsys, *QUICK)
    assert code == 0, err
    for word in ("results", "train", "valid", "test", "accuracy", "best epoch"):
        assert word in out
    assert "Traceback" not in err


def test_train_progress_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    code, out, err = run(
        capsys,
        "train",
        "--dataset",
        "iris",
        "--hidden-sizes",
        "8",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--plot",
        str(path),
        "--optimizer",
        "momentum",
        "--schedule",
        "inverse_time",
    )
    assert code == 0, err
    assert "epoch" in err  # the progress bar goes to stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_regression_output(capsys):
    code, out, err = run(
        capsys,
        "train",
        "--dataset",
        "sine",
        "--hidden-sizes",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--quiet",
    )
    assert code == 0, err
    assert "test" in out


def test_checkpoint_and_resume(capsys, tmp_path):
    ckpt = tmp_path / "ckpt"
    args = [
        "train",
        "--dataset",
        "iris",
        "--hidden-sizes",
        "8",
        "--batch-size",
        "16",
        "--quiet",
        "--checkpoint-dir",
        str(ckpt),
    ]
    code, _, err = run(capsys, *args, "--epochs", "2")
    assert code == 0, err
    assert (ckpt / "checkpoint.npz").is_file()
    code, out, err = run(capsys, *args, "--epochs", "4", "--resume")
    assert code == 0, err
    assert "4 epochs run" in out  # two epochs restored, two more run
    assert "resumed at epoch 2 of 4" in err
    # A checkpoint of another model is refused in one line.
    code, _, err = run(capsys, *args, "--epochs", "4", "--resume", "--hidden-sizes", "9")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nnbasics: error: ")


@pytest.mark.parametrize(
    "options",
    [
        ["--dtype", "bfloat16"],
        ["--dtype", "float16"],
        ["--optimizer", "nadam"],
        ["--optimizer", "amsgrad"],
    ],
)
def test_train_mixed_precision_and_new_optimizers(capsys, options):
    code, out, err = run(capsys, *QUICK, *options)
    assert code == 0, err
    assert "results" in out


# ------------------------------------------------------------------ mnist1d

needs_mnist1d = pytest.mark.skipif(
    __import__("importlib").util.find_spec("mnist1d") is None,
    reason="the optional mnist1d package is not installed",
)


MNIST1D = [
    "train",
    "--dataset",
    "mnist1d",
    "--hidden-sizes",
    "16",
    "--epochs",
    "2",
    "--batch-size",
    "100",
    "--quiet",
]


def _rows(out):
    """{split: number of examples} from the results table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").replace("┃", "│").split("│")]
        if len(cells) >= 2 and cells[0] in ("train", "valid", "test") and cells[1].isdigit():
            rows[cells[0]] = int(cells[1])
    return rows


@needs_mnist1d
def test_train_mnist1d_tests_on_its_own_test_split(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, out, err = run(capsys, *MNIST1D)
    assert code == 0, err
    assert _rows(out) == {"train": 3400, "valid": 600, "test": 1000}  # valid from the 4000
    code, out, err = run(capsys, *MNIST1D, "--valid", "0", "--patience", "none", "--seed", "3")
    assert code == 0, err
    assert _rows(out) == {"train": 4000, "test": 1000}


@needs_mnist1d
def test_train_mnist1d_refuses_a_test_fraction(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, _, err = run(capsys, *MNIST1D, "--test", "0.2")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nnbasics: error: --test: expected no value")
    assert "1000" in err


def test_train_test_fraction_still_splits_other_sets(capsys):
    code, out, err = run(capsys, *QUICK, "--test", "0.2")
    assert code == 0, err
    assert _rows(out)["test"] == 30  # 20 % of iris's 150


def test_train_mnist1d_without_the_extra_says_how_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)  # as if not installed
    code, _, err = run(capsys, *MNIST1D)
    assert code == 2
    assert err.count("\n") == 1 and 'pip install "nnbasics[mnist1d]"' in err


# --- outputs and checkpoints


def test_train_writes_history_and_model(capsys, tmp_path):
    import nnbasics as nb

    model, history = tmp_path / "m.npz", tmp_path / "h.json"
    code, out, err = run(capsys, *QUICK, "--save", str(model), "--history", str(history))
    assert code == 0, err
    saved = nb.load_model(model)
    assert saved.labels == ("0", "1", "2") and saved.meta["data"] == {"name": "iris"}
    assert saved.meta["options"]["epochs"] == 3 and "test" in saved.meta["metrics"]
    h = json.loads(history.read_text())
    assert h["epoch"] == [0, 1, 2] and len(h["train_loss"]) == 3
    code, _, err = run(capsys, *QUICK, "--history", str(tmp_path / "h.csv"))
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,valid_loss,valid_accuracy" and len(lines) == 4


@pytest.mark.parametrize(
    ("option", "path", "message"),
    [
        ("--plot", "curves.txt", "--plot: expected a file ending in"),
        ("--history", "h.xlsx", "--history: expected a file ending in .csv, .json"),
        ("--save", "no/such/dir/m.npz", "--save: expected a path in an existing directory"),
    ],
)
def test_output_paths_are_checked_before_training(capsys, tmp_path, option, path, message):
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, *QUICK, option, str(tmp_path / path))
    assert code == 2 and message in err and out == ""  # no results table: nothing trained


def test_existing_checkpoint_needs_resume_or_overwrite(capsys, tmp_path):
    args = [*QUICK, "--checkpoint-dir", str(tmp_path)]
    assert run(capsys, *args)[0] == 0
    code, _, err = run(capsys, *args)
    assert code == 2 and "pass --resume to continue it or --overwrite to replace it" in err
    assert run(capsys, *args, "--overwrite")[0] == 0
    code, _, err = run(capsys, *args, "--resume", "--overwrite")
    assert code == 2 and "received both" in err
    code, _, err = run(capsys, *args, "--resume", "--lr", "0.5", "--epochs", "5")
    assert code == 2
    assert "has optimizer.learning_rate = 0.001, this run asks for 0.5" in err


def test_diverged_run_exits_non_zero(capsys):
    code, out, err = run(capsys, *QUICK, "--optimizer", "sgd", "--lr", "1e30")
    assert code == 1
    assert "diverged in epoch 0" in err and "no finite epoch" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,label\n1,2,x\n3,,y\n", "line 3, column 'b': expected a value in every cell"),
        ("a,b,label\n1,red,x\n3,4,y\n", "line 2, column 'b': expected a number"),
        ("a,b,label\n1,2,x\n3,4,x\n", "expected at least 2 classes"),
    ],
)
def test_bad_data_files_get_one_line_errors(capsys, tmp_path, content, message):
    path = tmp_path / "d.csv"
    path.write_text(content)
    code, out, err = run(capsys, "train", "--data", str(path), "--quiet")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_data_and_dataset_are_exclusive(capsys, iris_csv):
    code, _, err = run(capsys, "train", "--data", str(iris_csv / "iris.csv"), "--dataset", "iris")
    assert code == 2 and "received both" in err
    code, _, err = run(capsys, "train", "--target", "x")
    assert code == 2 and "--target goes with --data" in err


def test_readme_xor_command_learns_xor_for_every_seed_it_claims(capsys):
    for seed in range(10):
        code, out, err = run(
            capsys,
            "train",
            "--dataset",
            "xor",
            "--valid",
            "0",
            "--test",
            "0",
            "--patience",
            "none",
            "--hidden-sizes",
            "8",
            "--hidden",
            "tanh",
            "--batch-size",
            "4",
            "--epochs",
            "500",
            "--lr",
            "0.1",
            "--l2",
            "0",
            "--quiet",
            "--seed",
            str(seed),
            "--no-compile-cache",
        )
        assert code == 0, err
        assert "100.00%" in next(l for l in out.splitlines() if "train" in l), (seed, out)


# --- nothing replaced silently, paths checked before any work


@pytest.mark.parametrize(("option", "name"), [("--save", "m.npz"), ("--history", "h.csv")])
def test_existing_outputs_need_overwrite(capsys, tmp_path, option, name):
    path = tmp_path / name
    path.write_text("keep me")
    code, out, err = run(capsys, *QUICK, option, path)
    assert code == 2 and out == "" and "--overwrite" in one_line(err)
    assert path.read_text() == "keep me"
    code, _, err = run(capsys, *QUICK, option, path, "--overwrite")
    assert code == 0, err and path.read_text() != "keep me"


def test_existing_plot_needs_overwrite(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "c.png"
    path.write_text("keep me")
    code, out, err = run(capsys, *QUICK, "--plot", path)
    assert code == 2 and out == "" and "--overwrite" in one_line(err)


def test_diverged_run_writes_no_model(capsys, tmp_path):
    path = tmp_path / "m.npz"
    code, out, err = run(capsys, *QUICK, "--optimizer", "sgd", "--lr", "1e30", "--save", path)
    assert code == 1 and not path.exists() and "no model written" in out


def test_folder_given_as_file_is_refused_before_work(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    code, out, err = run(capsys, *QUICK, "--save", tmp_path / "file.txt" / "m.npz")
    assert code == 2 and out == "" and "existing directory" in one_line(err)
    code, out, err = run(capsys, *QUICK, "--history", tmp_path)
    assert code == 2 and out == "" and "directory" in one_line(err)


@pytest.mark.parametrize("option", ["--save", "--history"])
def test_read_only_file_system_refused_before_training(capsys, read_only_dir, option):
    code, out, err = run(capsys, *QUICK, option, read_only_dir / "out.csv")
    line = one_line(err)
    assert code == 2 and out == "" and "writable" in line and "Read-only" in line


def test_model_kept_when_save_fails_at_write_time(capsys, tmp_path, monkeypatch):
    from nnbasics import _files

    target = str(tmp_path / "m.npz")
    real = _files.atomic_savez

    def full_disk(path, arrays):
        if os.path.abspath(path) == target:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, arrays)

    monkeypatch.setattr(_files, "atomic_savez", full_disk)
    code, _, err = run(capsys, *QUICK, "--save", target)
    line = one_line(err)
    assert code == 1 and target in line and "No space left on device" in line
    kept = line.split("written to ")[1].split(" instead")[0]
    try:
        assert nb.load_model(kept).labels == ("0", "1", "2")
    finally:
        os.remove(kept)


def test_history_write_error_is_one_line(capsys, tmp_path, monkeypatch):
    from nnbasics.cli import train

    def denied(path, *_):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(train._outputs, "_write_history", denied)
    path = tmp_path / "h.csv"
    code, _, err = run(capsys, *QUICK, "--history", path)
    assert code == 1 and str(path) in one_line(err) and "Permission denied" in err


def test_interrupted_run_says_how_to_resume(capsys, tmp_path, monkeypatch):
    from nnbasics.cli import train

    def interrupted(args, background):
        raise KeyboardInterrupt

    monkeypatch.setattr(train._run, "_train", interrupted)
    code, _, err = run(capsys, *QUICK, "--checkpoint-dir", tmp_path / "ck")
    assert code == 130 and "--resume" in one_line(err)
    code, _, err = run(capsys, *QUICK)
    assert code == 130 and "--checkpoint-dir" in one_line(err)


def test_resume_without_a_checkpoint_says_it_starts_fresh(capsys, tmp_path):
    code, _, err = run(capsys, *QUICK, "--checkpoint-dir", tmp_path / "ck", "--resume")
    assert code == 0 and "starting a fresh run" in one_line(err)


# --- `nnbasics train` with no options: the documented 7 programs and ≥ 97 % on test

# keys, permutation, standardization, init, init_state, epoch, evaluate
# (docs/benchmarks.md: "compilations per `nnbasics train` remain 7").
TRAIN_COMPILATIONS = 7


# README: "`nnbasics train` reaches ≥ 97 % test accuracy on digits".
HEADLINE_TEST_ACCURACY = 97.0


@pytest.fixture(scope="module")
def default_train(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(JAX_LOG_COMPILES="1", XDG_CACHE_HOME=str(home))
    out = subprocess.run(
        [sys.executable, "-m", "nnbasics", "train", "--quiet", "--no-compile-cache"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out, home


def test_default_train_compiles_exactly_the_documented_programs(default_train):
    out, home = default_train
    compiled = re.findall(r"Finished XLA compilation of (.+?) in", out.stderr)
    assert len(compiled) == TRAIN_COMPILATIONS, compiled
    assert not list(home.iterdir())  # --no-compile-cache writes no cache


def test_default_train_reaches_the_headline_test_accuracy(default_train):
    out, _ = default_train
    (row,) = [line for line in out.stdout.splitlines() if re.search(r"\btest\b", line)]
    accuracy = float(re.findall(r"([\d.]+)%", row)[-1])
    assert accuracy >= HEADLINE_TEST_ACCURACY, row


# --- --output sigmoid (multi-label) from the CLI


CLASSIFICATION_SETS = [n for n in nb.data.names() if nb.data.info(n).kind == "classification"]


@pytest.mark.parametrize(
    "dataset",
    # Two sets (multi-class and binary) in the quick suite, every other one under -m slow.
    [
        n if n in ("iris", "breast_cancer") else pytest.param(n, marks=pytest.mark.slow)
        for n in CLASSIFICATION_SETS
    ],
)
def test_train_sigmoid_on_every_classification_set(capsys, tmp_path, dataset):
    m = tmp_path / "m.npz"
    # xor's 4 examples: no held-out splits.
    small = ["--valid", "0", "--test", "0", "--patience", "none", "--batch-size", "4"]
    code, out, err = run(
        capsys, "train", "--dataset", dataset, "--output", "sigmoid", "--hidden-sizes", "4",
        "--epochs", "2", "--quiet", "--save", m, *(small if dataset == "xor" else []),
    )  # fmt: skip
    assert code == 0, err
    model = nb.load_model(m)
    assert model.net.output == "sigmoid" and model.net.sizes[-1] == len(model.labels)


def test_history_csv_writes_float32_with_float32_precision(capsys, tmp_path):
    h = tmp_path / "h.csv"
    code, _, err = run(
        capsys, "train", "--dataset", "iris", "--hidden-sizes", "4", "--epochs", "2",
        "--quiet", "--history", h,
    )  # fmt: skip
    assert code == 0, err
    cells = numbers_in(h.read_text())
    assert len(cells) >= 4
    for cell in cells:
        assert str(np.float32(cell)) == cell, cell
        assert len(cell.lstrip("-0.").replace(".", "").split("e")[0]) <= 9, cell


_RESERVE = """
import sys
from nnbasics import _files
with _files.reserve(sys.argv[1], "--save"):
    print("reserved", flush=True)
    sys.stdin.read()
"""


@pytest.mark.multiprocess
def test_model_path_in_use_by_another_run_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("fcntl")
    path = tmp_path / "m.npz"
    holder = subprocess.Popen(
        [sys.executable, "-c", _RESERVE, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"reserved"
        code = cli.main([*ONE_EPOCH, "--save", str(path)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.strip().splitlines() == [
            f"nnbasics: error: --save: expected a file no other run is writing, received "
            f"'{path}', in use by another run (wait for it to end, or choose another file)"
        ]
        assert not path.exists()
    finally:
        holder.communicate(b"", timeout=60)
    # Free once the other run ends; this run's own mark is gone after it.
    assert cli.main([*ONE_EPOCH, "--save", str(path)]) == 0, capsys.readouterr().err
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.multiprocess
def test_a_killed_runs_mark_does_not_block_the_next(tmp_path, capsys):
    pytest.importorskip("fcntl")
    path = tmp_path / "m.npz"
    holder = subprocess.Popen(
        [sys.executable, "-c", _RESERVE, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout.readline().strip() == b"reserved"
    holder.kill()
    holder.wait(timeout=60)
    assert len(_files.temporary_files(str(path))) == 1  # the dead run's mark
    assert cli.main([*ONE_EPOCH, "--save", str(path)]) == 0, capsys.readouterr().err
    assert os.listdir(tmp_path) == ["m.npz"]  # removed by the write


@pytest.mark.slow
def test_cli_defaults_are_within_twice_linear_regression(capsys, tmp_path):
    from sklearn.linear_model import LinearRegression

    X, y = linear_problem(800, seed=0)
    X_new, y_new = linear_problem(400, seed=1)
    model = tmp_path / "m.npz"
    code, out, err = run(
        capsys,
        "train",
        "--data",
        write_prices(tmp_path / "train.csv", X, y),
        "--save",
        model,
        "--quiet",
    )
    assert code == 0, err
    ours = rmse(nb.load_model(model).predict(X_new)["mean"], y_new)
    reference = rmse(LinearRegression().fit(X, y).predict(X_new), y_new)
    assert ours <= 2 * reference, (ours, reference)


# --- the command line: --drop-missing in train and predict


def _labelled(tmp_path, n=90):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    rows = [f"{a:.4f},{b:.4f},{'abc'[i % 3]}" for i, (a, b) in enumerate(X)]
    rows[4] = rows[4].replace(rows[4].split(",")[0], "", 1)  # line 6: an empty cell
    rows[10] = "NA," + rows[10].split(",", 1)[1]  # line 12
    rows[20] = rows[20].rsplit(",", 1)[0] + ",?"  # line 22: a missing label
    return write_text(tmp_path / "train.csv", "u,v,label\n" + "\n".join(rows) + "\n")


@pytest.mark.slow
def test_train_drop_missing_says_what_it_dropped(tmp_path, capsys):
    path = _labelled(tmp_path)
    quick = ["--hidden-sizes", "4", "--epochs", "2", "--batch-size", "16", "--quiet"]
    code, _, err = run(capsys, "train", "--data", path, *quick)
    assert code == 2 and "\n" not in err.strip() and "3 rows of 90 hold a missing value" in err
    model = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--data", path, "--drop-missing", "--save", model, *quick)
    assert code == 0, err
    assert "dropped 3 rows (lines 6, 12, 22) of" in err and "87 rows kept" in err
    import nnbasics as nb

    assert nb.load_model(model).meta["data"]["dropped_rows"] == 3
    code, _, err = run(capsys, "train", "--dataset", "iris", "--drop-missing", *quick)
    assert code == 2 and "--drop-missing goes with --data" in err


def test_train_compiles_init_and_evaluation_beside_the_epoch(capsys, fresh_programs):
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


def test_cli_monitor_without_validation_is_one_line(capsys):
    code, out, err = run(
        capsys, "train", "--dataset", "iris", "--valid", "0", "--patience", "none",
        "--monitor", "valid_accuracy", "--epochs", "1", "--quiet",
    )  # fmt: skip
    assert code == 2 and "monitor" in err and len(err.strip().splitlines()) == 1
