"""Multi-process training: 2 processes × 2 CPU devices on localhost, and the launcher.

Every process is started by ``nnbasics.distributed.launch`` (or, for the
single-process reference, ``subprocess.Popen``) and waited for with a timeout, so a hung
collective fails the test instead of hanging CI. The processes run
tests/_distributed_worker.py, which writes its results to files.
"""

import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

from nnbasics import checkpoint
from nnbasics import distributed as D

WORKER = os.path.join(os.path.dirname(__file__), "_distributed_worker.py")
TIMEOUT = 240  # seconds per launch; each takes well under 30 s on 2 cores


def _local_ports_work() -> bool:
    """Whether this machine lets a process listen on, and connect to, a localhost port."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
        return True
    except OSError:
        return False


_NO_PORTS = pytest.mark.skipif(
    not _local_ports_work(),
    reason="processes cannot listen on and "
    "connect to localhost ports here (JAX's coordinator needs one)",
)


def multiprocess(test):
    """Marks a test that starts processes talking over localhost; skipped where ports cannot open."""
    return pytest.mark.multiprocess(_NO_PORTS(test))


def _launch(mode, out):
    return D.launch(
        2,
        [WORKER, mode, str(out)],
        module=None,
        cpu_devices=2,
        timeout=TIMEOUT,
        log_dir=out / f"logs-{mode}",
    )


def _load(path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


# --- 2 processes × 2 devices


@multiprocess
def test_two_processes_agree_bit_for_bit_and_match_one_process_with_four_devices(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="4")
    env.pop(D.ENV_NUM_PROCESSES, None)
    # The single-process reference runs beside the two processes.
    single = subprocess.Popen(
        [sys.executable, WORKER, "train", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _launch("train", tmp_path)
        output, _ = single.communicate(timeout=TIMEOUT)
    finally:
        single.kill()
    assert single.returncode == 0, output[-3000:]

    p0, p1, one = (_load(tmp_path / f"train-{w}.npz") for w in ("p0", "p1", "single"))
    # 2 dtypes × 2 batch sizes, each 4 parameter leaves and 3 history arrays
    assert sorted(p0) == sorted(one) and len(p0) == 2 * 2 * (4 + 3)
    for name in p0:
        np.testing.assert_array_equal(p0[name], p1[name], err_msg=name)  # bit for bit
        dtype = name.split("-")[0]
        if "/param" in name:
            assert p0[name].dtype == np.dtype(dtype), name
        atol = 1e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(p0[name], one[name], rtol=0, atol=atol, err_msg=name)


@multiprocess
def test_checkpoint_by_process_0_survives_killing_both_and_resumes_bit_for_bit(tmp_path):
    with pytest.raises(D.LaunchError) as failure:
        _launch("kill", tmp_path)
    # The launcher names the dead process, its status and its log's tail.
    assert failure.value.returncode == -9
    assert re.search(
        r"process \d of 2 exited with status -9 \(killed by SIGKILL\)", str(failure.value)
    )
    ckpt = tmp_path / "ckpt"
    assert checkpoint.exists(ckpt)
    # Epochs 0 and 1 were saved, by process 0 only; the kill came in epoch 2's callback.
    assert (tmp_path / "saves-p0.txt").read_text().split() == ["1", "2"]
    assert not (tmp_path / "saves-p1.txt").exists()
    assert [p.name for p in ckpt.iterdir()] == [checkpoint.FILENAME]  # no temporary left

    _launch("resume", tmp_path)
    assert (tmp_path / "saves-p0.txt").read_text().split() == ["1", "2", "3", "4", "5"]
    assert not (tmp_path / "saves-p1.txt").exists()
    r0, r1 = _load(tmp_path / "resume-p0.npz"), _load(tmp_path / "resume-p1.npz")
    whole = [k for k in r0 if k.startswith("whole/")]
    assert len(whole) == 4 + 3  # 4 parameter leaves, 3 history arrays
    for name in whole:
        resumed = name.replace("whole/", "resumed/")
        np.testing.assert_array_equal(r0[resumed], r0[name], err_msg=name)
        np.testing.assert_array_equal(r1[resumed], r0[name], err_msg=name)


@multiprocess
def test_disagreeing_processes_get_one_library_error_before_any_collective(tmp_path):
    _launch("disagree", tmp_path)
    r0, r1 = (json.loads((tmp_path / f"disagree-{w}.json").read_text()) for w in ("p0", "p1"))
    assert r0 == r1  # every process raises the same error
    assert r0["started"] == {"compile_epoch": 0, "replicate": 0}
    m = r0["messages"]
    assert re.fullmatch(
        r"data\.train: expected the same value in all 2 processes before "
        r"training, received process 0: [0-9a-f]{64}; process 1: [0-9a-f]{64} "
        r"\(every process must call fit with the same arguments, data, key and "
        r"checkpoint\)",
        m["data"],
    )
    assert m["batch_size"].startswith(
        "batch_size: expected the same value in all 2 processes "
        "before training, received process 0: 64; process 1: 65"
    )
    assert m["resume epoch"].startswith(
        "resume epoch: expected the same value in all 2 "
        "processes before training, received process 0: 1; "
        "process 1: 0 (each process resumes from the checkpoint"
    )
    assert all("\n" not in text for text in m.values())


# --- the launcher, without JAX


def _python(code: str) -> list:
    return ["-c", "import os, sys, time; i = int(os.environ['NNBASICS_PROCESS_ID']); " + code]


@multiprocess
def test_launch_stops_the_others_and_reports_the_failing_process(tmp_path):
    # No clock: process 0 would outlive the launch's timeout, so unless the launcher
    # stops it when process 1 fails, the error is a timeout, not process 1's status 3.
    with pytest.raises(D.LaunchError) as failure:
        D.launch(
            2,
            _python(
                "print('hello from', i, flush=True); "
                "sys.exit(3) if i == 1 else time.sleep(100 * 240)"
            ),
            module=None,
            log_dir=tmp_path,
            timeout=TIMEOUT,
        )
    e = failure.value
    assert (e.process, e.returncode) == (1, 3)
    first, *tail = str(e).splitlines()
    assert first == (
        f"launch: process 1 of 2 exited with status 3; the other processes were "
        f"stopped. Last lines of {tmp_path / 'process-1.log'}:"
    )
    assert tail == ["hello from 1"]
    assert e.logs == (str(tmp_path / "process-0.log"), str(tmp_path / "process-1.log"))


@multiprocess
def test_launch_times_out_and_passes_its_settings(tmp_path):
    with pytest.raises(D.LaunchError, match=r"did not finish within 1 s") as failure:
        D.launch(
            2,
            _python(
                "print(os.environ['JAX_COORDINATOR_ADDRESS'], "
                "os.environ['NNBASICS_NUM_PROCESSES'], os.environ['JAX_NUM_CPU_DEVICES'],"
                " flush=True); time.sleep(120)"
            ),
            module=None,
            log_dir=tmp_path,
            timeout=1,
            cpu_devices=3,
        )
    assert failure.value.returncode is None
    logs = [(tmp_path / f"process-{i}.log").read_text().split() for i in range(2)]
    assert logs[0] == logs[1] and re.fullmatch(r"127\.0\.0\.1:\d+", logs[0][0])
    assert logs[0][1:] == ["2", "3"]


def test_launch_command_lines():
    argv = D._command(["train", "--epochs", "3"], "nnbasics", 1, 2, "127.0.0.1:1234")
    assert argv[1:] == [
        "-m",
        "nnbasics",
        "train",
        "--epochs",
        "3",
        "--distributed",
        "--coordinator",
        "127.0.0.1:1234",
        "--num-processes",
        "2",
        "--process-id",
        "1",
    ]
    assert D._command(["script.py"], None, 1, 2, "127.0.0.1:1234")[1:] == ["script.py"]


# --- bad input, agreement messages, command-line options (no processes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(coordinator="localhost"),
            r"^coordinator: expected HOST:PORT with a port from 1 to "
            r"65535, received 'localhost'$",
        ),
        (dict(coordinator="h:0"), r"^coordinator: expected HOST:PORT"),
        (dict(num_processes=0), r"^num_processes: expected a positive integer, received 0$"),
        (
            dict(num_processes=2, process_id=2),
            r"^process_id: expected an integer from 0 to 1 \(num_processes - 1\), received 2$",
        ),
        (dict(process_id=-1), r"^process_id: expected a non-negative integer, received -1$"),
    ],
)
def test_initialize_rejects_bad_values_before_starting_anything(kwargs, message):
    with pytest.raises(ValueError, match=message):
        D.initialize(**kwargs)


def test_initialize_names_the_environment_variable(monkeypatch):
    monkeypatch.setenv(D.ENV_PROCESS_ID, "one")
    with pytest.raises(
        ValueError,
        match=r"^NNBASICS_PROCESS_ID: expected an integer, "
        r"received 'one'$",
    ):
        D.initialize("127.0.0.1:1234", 2)


def test_launch_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"^n: expected a positive integer, received 0$"):
        D.launch(0, ["train"])
    with pytest.raises(ValueError, match=r"^argv: expected a sequence of strings"):
        D.launch(2, "train")
    with pytest.raises(ValueError, match=r"^timeout: expected a real number in \(0"):
        D.launch(2, ["train"], timeout=0)


def test_disagreement_groups_processes_by_value():
    same = {"net": "MLP", "resume epoch": "6"}
    assert D.disagreement([same, dict(same), dict(same)]) is None
    message = D.disagreement([same, dict(same, **{"resume epoch": "4"}), dict(same)])
    assert message.startswith(
        "resume epoch: expected the same value in all 3 processes before "
        "training, received processes 0, 2: 6; process 1: 4 ("
    )
    assert D.disagreement([same, {"net": "MLP"}]).startswith(
        "resume epoch: expected the same value in all 2 processes before training, received "
        "process 0: 6; process 1: <missing>"
    )


def test_fingerprint_flattens_nested_settings_and_reports_causes_before_effects():
    meta = {
        "batch_size": 2,
        "optimizer": {"factory": "adam", "learning_rate": 0.001},
        "data": {"train": "ab12", "valid": None},
    }
    fields = D.fingerprint(meta, epoch=3, state_hash="cd34")
    assert fields == {
        "batch_size": "2",
        "optimizer.factory": "adam",
        "optimizer.learning_rate": "0.001",
        "data.train": "ab12",
        "data.valid": "null",
        "mesh": "None",
        "resume epoch": "3",
        "starting state (hash of parameters, optimizer state, key)": "cd34",
    }
    assert list(fields)[-2:] == [
        "resume epoch",
        "starting state (hash of parameters, optimizer state, key)",
    ]


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="nnbasics train", exit_on_error=False)
    D.add_arguments(parser)
    return parser.parse_args(argv)


def test_command_line_options():
    args = _parse(
        [
            "--distributed",
            "--coordinator",
            "10.0.0.1:1234",
            "--num-processes",
            "4",
            "--process-id",
            "3",
        ]
    )
    assert (args.distributed, args.coordinator, args.num_processes, args.process_id) == (
        True,
        "10.0.0.1:1234",
        4,
        3,
    )
    assert _parse([]).distributed is False
    assert D.from_args(_parse([])) is False
    with pytest.raises(
        ValueError,
        match=r"^--coordinator: expected to come with --distributed, "
        r"received it without --distributed$",
    ):
        D.from_args(_parse(["--coordinator", "h:1"]))


def test_launch_main_usage_errors(capsys):
    assert D.launch_main(["-n", "2"]) == 2
    assert capsys.readouterr().err == (
        "nnbasics: error: COMMAND: expected a command after --, "
        "e.g. 'nnbasics launch -n 2 -- train', received none\n"
    )
    assert D.launch_main(["-n", "0", "--", "train"]) == 2
    assert capsys.readouterr().err == (
        "nnbasics: error: argument -n/--num-processes: expected an integer ≥ 1, received '0'\n"
    )
    assert D.launch_main(["--", "train"]) == 2
    assert "the following arguments are required: -n/--num-processes" in capsys.readouterr().err
    assert D.launch_main(["--help"]) == 0
    assert "nnbasics launch" in capsys.readouterr().out


@multiprocess
def test_cli_launch_trains_one_run_in_two_processes_and_process_0_writes(tmp_path):
    model, history = tmp_path / "m.npz", tmp_path / "h.csv"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnbasics",
            "launch",
            "-n",
            "2",
            "--cpu-devices",
            "2",
            "--log-dir",
            str(tmp_path / "logs"),
            "--timeout",
            "240",
            "--",
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "3",
            "--quiet",
            "--save",
            str(model),
            "--history",
            str(history),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "results" in out.stdout and model.is_file() and history.is_file()
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["checkpoint.npz"]
    assert sorted(os.listdir(tmp_path / "logs")) == ["process-0.log", "process-1.log"]
