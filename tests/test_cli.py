"""The ``nnbasics`` command line: train, gradcheck, bench forwarding and bad arguments."""

import os
import subprocess
import sys

import pytest
from _compiles import count_compilations

from nnbasics import cli

# A small, quick training run: iris, one hidden layer, a few epochs.
QUICK = [
    "train",
    "--dataset",
    "iris",
    "--hidden-sizes",
    "8",
    "--epochs",
    "3",
    "--batch-size",
    "16",
    "--quiet",
]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_python_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "nnbasics", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "gradcheck", "bench"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", ["train", "gradcheck"])
def test_subcommand_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "--dataset" in out and "--seed" in out


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


def test_gradcheck_subset(capsys):
    code, out, err = run(capsys, "gradcheck", "--hidden", "tanh,relu", "--output", "softmax")
    assert code == 0, err
    assert "tanh" in out and "relu" in out and "PASS" in out and "FAIL" not in out
    assert "all 2 passed" in out


def test_gradcheck_compiles_one_program_whatever_the_pairs(capsys):
    # Compilation is this command's whole cost: standardization, initialization and
    # the three gradients of every pair are one XLA program, with nothing compiled around it.
    with count_compilations() as c:
        code, out, err = run(
            capsys,
            "gradcheck",
            "--hidden",
            "relu,maxout,tanh",
            "--output",
            "softmax,mixture",
            "--examples",
            "16",
            "--width",
            "4",
            "--no-compile-cache",
        )
    assert code == 0, err
    assert "all 6 passed" in out
    assert c.count == 1


def test_bench_is_forwarded(capsys, monkeypatch):
    seen = {}

    class FakeBench:
        @staticmethod
        def main(argv):
            seen["argv"] = argv
            return 0

    monkeypatch.setitem(sys.modules, "nnbasics.bench", FakeBench)
    code, _, _ = run(capsys, "bench", "--quick", "--out", "x")
    assert code == 0
    assert seen["argv"] == ["--quick", "--out", "x"]


def test_bench_missing_module(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nnbasics.bench", None)  # import raises ModuleNotFoundError
    code, _, err = run(capsys, "bench")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nnbasics: error: ")


BAD = [
    [],
    ["frobnicate"],
    ["train", "--dataset", "nosuchset"],
    ["train", "--optimizer", "lbfgs"],
    ["train", "--hidden", "gelu"],
    ["train", "--output", "poisson"],
    ["train", "--lr", "-0.1"],
    ["train", "--lr", "0"],
    ["train", "--lr", "fast"],
    ["train", "--lr", "nan"],
    ["train", "--batch-size", "0"],
    ["train", "--batch-size", "2.5"],
    ["train", "--epochs", "0"],
    ["train", "--epochs", "ten"],
    ["train", "--patience", "-1"],
    ["train", "--seed", "-3"],
    ["train", "--hidden-sizes", "128,abc"],
    ["train", "--hidden-sizes", "0"],
    ["train", "--b2", "1.5"],
    ["train", "--l2", "-1"],
    ["train", "--valid", "1"],
    ["train", "--no-such-option"],
    ["train", "--resume"],
    ["train", "--dataset", "iris", "--batch-size", "100000"],  # > training examples
    ["train", "--dataset", "iris", "--output", "gaussian"],  # unit vs data kind
    ["train", "--dataset", "xor"],  # 4 points cannot be split
    ["train", "--plot", "/no/such/dir/curves.png"],
    ["gradcheck", "--hidden", "gelu"],
    ["gradcheck", "--dataset", "moons"],
    ["gradcheck", "--examples", "10000"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) or "(none)" for a in BAD])
def test_bad_arguments_one_line_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("nnbasics: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_bad_argument_subprocess_no_traceback():
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "nnbasics", "train", "--lr", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("nnbasics: error: argument --lr")
    assert proc.stderr.count("\n") == 1
    assert proc.stdout == ""


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


# --- outputs and checkpoints (issue 10)


def test_train_writes_history_and_model(capsys, tmp_path):
    import json

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


# --- your own data: CSV -> train --data --save -> predict (issue 10)


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")


@pytest.fixture
def iris_csv(tmp_path):
    import numpy as np

    import nnbasics as nb

    X, y = nb.data.load("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    _write_csv(
        tmp_path / "iris.csv",
        header + ["species"],
        [[f"{v:g}" for v in row] + [n] for row, n in zip(X, names)],
    )
    _write_csv(tmp_path / "new.csv", header, [[f"{v:g}" for v in row] for row in X[::25]])
    return tmp_path


def test_csv_to_model_to_predictions_classification(capsys, iris_csv):
    import nnbasics as nb

    model = iris_csv / "model.npz"
    code, out, err = run(
        capsys,
        "train",
        "--data",
        str(iris_csv / "iris.csv"),
        "--lr",
        "0.01",
        "--hidden-sizes",
        "16",
        "--save",
        str(model),
        "--quiet",
    )
    assert code == 0, err
    saved = nb.load_model(model)
    assert saved.labels == ("setosa", "versicolor", "virginica")
    assert saved.meta["data"]["target"] == "species" and len(saved.meta["data"]["sha256"]) == 64

    code, out, err = run(capsys, "predict", str(model), str(iris_csv / "new.csv"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "label,p(setosa),p(versicolor),p(virginica)" and len(lines) == 7
    assert {l.split(",")[0] for l in lines[1:]} <= {"setosa", "versicolor", "virginica"}
    assert lines[1].split(",")[0] == "setosa"  # the easiest class

    preds = iris_csv / "preds.csv"
    code, out, err = run(
        capsys, "predict", str(model), str(iris_csv / "iris.csv"), "--output", str(preds)
    )
    assert code == 0 and out == "" and "150 examples: accuracy" in err
    assert float(err.split("accuracy ")[1].split("%")[0]) > 85
    assert preds.read_text().count("\n") == 151


def test_csv_to_model_to_predictions_regression_with_gaussian_output(capsys, tmp_path):

    import nnbasics as nb

    X, y = nb.data.load("sine")
    _write_csv(
        tmp_path / "sine.csv",
        ["x", "y"],
        [[f"{a:.6g}", f"{b:.6g}"] for a, b in zip(X[:, 0], y[:, 0])],
    )
    model = tmp_path / "sine.npz"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(tmp_path / "sine.csv"),
        "--output",
        "gaussian",
        "--hidden",
        "tanh",
        "--hidden-sizes",
        "16",
        "--epochs",
        "80",
        "--batch-size",
        "50",
        "--lr",
        "0.01",
        "--save",
        str(model),
        "--quiet",
    )
    assert code == 0, err
    _write_csv(tmp_path / "x.csv", ["x"], [["0.1"], ["0.9"]])
    code, out, err = run(capsys, "predict", str(model), str(tmp_path / "x.csv"))
    assert code == 0, err
    header, low, high = out.splitlines()
    assert header == "mean,std"
    assert float(high.split(",")[1]) > float(low.split(",")[1])  # noise grows with x


def test_predict_refuses_rows_with_missing_values_by_line(capsys, iris_csv):
    model = iris_csv / "model.npz"
    assert (
        run(
            capsys,
            "train",
            "--data",
            str(iris_csv / "iris.csv"),
            "--epochs",
            "2",
            "--save",
            str(model),
            "--quiet",
        )[0]
        == 0
    )
    bad = iris_csv / "bad.csv"
    _write_csv(bad, ["a", "b", "c", "d"], [["1", "2", "3", "4"], ["1", "NA", "3", "4"]])
    code, out, err = run(capsys, "predict", str(model), str(bad))
    assert code == 2 and out == ""
    assert "bad.csv, line 3, column 'b'" in err and len(err.strip().splitlines()) == 1


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
