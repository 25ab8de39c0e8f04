"""``nnbasics gradcheck``."""

from tests._helpers.cli import run
from tests._helpers.compiles import count_compilations


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
