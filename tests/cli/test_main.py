"""The ``nnbasics`` command line as a whole: help, each default shown once, bad arguments in one line."""

import argparse
import os
import re
import subprocess
import sys

import pytest

from nnbasics import cli
from tests._helpers.cli import run


# A small, quick training run: iris, one hidden layer, a few epochs.
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
    ("variable", "named"),
    [
        ("JAX_COMPILATION_CACHE_MAX_SIZE", "jax_compilation_cache_max_size"),
        ("JAX_ENABLE_X64", "JAX_ENABLE_X64"),
    ],
)
def test_a_jax_variable_jax_refuses_is_one_line_exit_2(variable, named):
    # JAX reads its variables when first imported, before the command line's own checks
    proc = subprocess.run(
        [sys.executable, "-m", "nnbasics", "train", "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **{variable: "abc"}),
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("nnbasics: error: ") and named in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""


def _helps(parser):
    """(command, option, formatted help text) of every option of every subcommand."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        formatter = p._get_formatter()
        for action in p._actions:
            if action.help and action.option_strings:
                yield name, action.option_strings[-1], formatter._expand_help(action)


def test_help_shows_each_default_once():
    helps = list(_helps(cli.build_parser()))
    assert len({c for c, _, _ in helps}) >= 3
    for command, option, text in helps:
        assert text.lower().count("default") <= 1, (command, option, text)
        assert "(default: None)" not in text and "(default: False)" not in text
    shown = {(c, o): t for c, o, t in helps}
    assert shown["train", "--epochs"].endswith("(default: 100)")
    assert shown["train", "--hidden-sizes"].endswith("(default: 256)")
    assert "(default: digits)" in shown["train", "--dataset"]


def test_defaults_formatter_adds_a_default_only_where_none_is_stated():
    from nnbasics.cli._common import DefaultsFormatter, Parser

    p = Parser(prog="x", formatter_class=DefaultsFormatter)
    p.add_argument("--stated", type=int, default=3, help="a number (default: 3)")
    p.add_argument("--plain", type=int, default=4, help="a number")
    p.add_argument("--pair", default=(1, 2), help="widths")
    p.add_argument("--off", action="store_true", help="a switch")
    p.add_argument("--unset", default=None, help="a path")
    text = " ".join(p.format_help().split())
    assert text.count("default") == 3
    assert "a number (default: 3) --plain" in text and "a number (default: 4)" in text
    assert "widths (default: 1,2)" in text
    assert "a switch --unset" in text and text.endswith("a path")


@pytest.mark.parametrize("command", ["train", "predict", "gradcheck", "bench", "launch"])
def test_help_text_of_every_command_states_each_default_once(capsys, command):
    """The printed --help, forwarded commands included: no option entry says "default" twice."""
    code = 0
    try:
        code = cli.main([command, "--help"])
    except SystemExit as e:  # a forwarded command's argparse may exit itself
        code = e.code or 0
    assert code == 0
    out = capsys.readouterr().out
    entries = re.split(r"\n(?=  -)", out)
    assert len(entries) > 2, out
    for entry in entries:
        assert entry.lower().count("default") <= 1, entry
        assert "(default: None)" not in entry and "(default: False)" not in entry, entry
