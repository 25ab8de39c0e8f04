"""Running the ``nnbasics`` command line in-process, and what a one-line refusal looks like."""

from nnbasics import cli

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
    """``nnbasics ARGV...`` in this process: (exit code, stdout, stderr); arguments as text."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
