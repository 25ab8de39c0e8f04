"""Multi-process training: 2 processes x 2 CPU devices on localhost, agreement checks and processes that disagree."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nnbasics import checkpoint
from nnbasics import distributed as D
from tests._helpers.cli import one_line
from tests._helpers.distributed import TIMEOUT, multiprocess
from tests._helpers.processes import ONE_EPOCH

WORKER = os.path.join(os.path.dirname(__file__), "_worker.py")


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


# ------------------------------------------------------------------ processes that disagree


def _distributed_pair(tmp_path, given, timeout):
    """Two ``nnbasics train --distributed`` processes given ``[(num_processes, process_id)] * 2``.

    Returns [(exit status, stderr)] once both ended (a safety bound of 180 s).
    """
    from nnbasics import distributed

    coordinator = f"127.0.0.1:{distributed.free_port()}"
    env = dict(os.environ, JAX_PLATFORMS="cpu", NNBASICS_INIT_TIMEOUT=str(timeout))
    procs = [
        subprocess.Popen(
            distributed._command(ONE_EPOCH, "nnbasics", i, n, coordinator),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for n, i in given
    ]
    try:
        return [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.multiprocess
@pytest.mark.slow
def test_processes_given_different_counts_are_refused_in_one_line(tmp_path):
    ended = _distributed_pair(tmp_path, [(2, 0), (3, 1)], timeout=60)
    for (code, err), (mine, theirs, other) in zip(ended, [(2, 3, 1), (3, 2, 0)]):
        assert code == 2, err
        me = 1 - other
        assert err.strip().splitlines()[-1] == (
            "nnbasics: error: num_processes: expected the same number of processes in every "
            f"process ({mine} in process {me}), received {theirs} in process {other}"
        ), err
        assert "Traceback" not in err


@pytest.mark.multiprocess
@pytest.mark.slow
def test_duplicate_process_ids_end_in_one_line_within_the_timeout(tmp_path):
    # Both processes wait inside JAX's start-up for a process 1 that never comes. Each
    # ends after the timeout with our one line, or, where its peer's exit reaches it
    # first (JAX then aborts it), with the one line of the process watching it, naming
    # the lost peer. A process 0 that starts after the other bound the coordinator's
    # port is refused at once, in one line naming the port (exit 2).
    ended = _distributed_pair(tmp_path, [(2, 0), (2, 0)], timeout=5)
    for code, err in ended:
        assert code in (1, 2) and "Traceback" not in err and "Check failure" not in err, err
        line = one_line(err)
        if code == 2:
            assert line.startswith(
                "nnbasics: error: coordinator: expected a free port for process 0's coordinator"
            ), err
        elif "did not join" in line:
            assert line.startswith(
                "nnbasics: error: distributed: process 0 of 2 did not join the coordinator at "
            ), err
            assert "within 5 s: another process given the same process id" in err
        else:
            assert line.startswith("nnbasics: error: distributed: lost "), err
