"""The launcher: stopping, time-outs, signals, command lines and bad arguments."""

import pytest

from nnbasics import distributed as D
from tests._helpers.distributed import TIMEOUT, multiprocess

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


def test_launch_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"^n: expected a positive integer, received 0$"):
        D.launch(0, ["train"])
    with pytest.raises(ValueError, match=r"^argv: expected a sequence of strings"):
        D.launch(2, "train")
    with pytest.raises(ValueError, match=r"^timeout: expected a real number in \(0"):
        D.launch(2, ["train"], timeout=0)


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
