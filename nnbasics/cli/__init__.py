"""The ``nnbasics`` command: one module per subcommand, the shared parts in ``_common``.

    nnbasics train                       # digits, 64-256-10 relu/softmax, Adam: >= 97 % test accuracy
    nnbasics train --data my.csv --save model.npz && nnbasics predict model.npz new.csv
    nnbasics gradcheck --hidden relu,tanh --output softmax
    nnbasics bench --help                # forwarded to nnbasics.bench
    nnbasics launch -n 2 --cpu-devices 2 -- train --epochs 20   # 2 processes, one run

Every bad argument, and every ``ValueError`` the library raises for a bad
option value, ends the command with one line on stderr,
``nnbasics: error: <message>``, and exit status 2 (never a traceback).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from nnbasics._files import WriteFailed
from nnbasics.cli import bench, gradcheck, launch, predict, train
from nnbasics.cli._common import PROG, Parser, UsageError, WriteError, fail, show_warning

COMMANDS = {
    "train": train,
    "predict": predict,
    "gradcheck": gradcheck,
    "bench": bench,
    "launch": launch,
}
# Commands whose own parser reads everything after their name.
FORWARDED = {"bench": bench, "launch": launch}


def build_parser() -> Parser:
    """The parser of every subcommand but bench's own options."""
    parser = Parser(
        prog=PROG,
        description=(
            "nnbasics: neural-network basics in JAX with hand-written gradients and optimizers."
        ),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Ctrl-C at any moment ends it with one line and status 130. Python ignores
    an exception raised where it cannot propagate (a garbage-collection
    callback, such as JAX's, or a ``__del__``) and prints it; an interrupt
    that lands there is kept quiet and delivered again a moment later, outside
    it, and is reported in any case once the command returns.
    """
    as_command = argv is None  # this process is the command (``nnbasics``, ``python -m``)
    argv = list(sys.argv[1:] if argv is None else argv)
    interrupts = []
    again: list[threading.Timer] = []
    returned = False

    def interrupt(signum, frame):
        interrupts.append(signum)
        if not returned:  # once the command has returned, the interrupt is only reported
            raise KeyboardInterrupt

    previous_hook = sys.unraisablehook

    def swallowed(info):
        if info.exc_type is None or not issubclass(info.exc_type, KeyboardInterrupt):
            return previous_hook(info)
        # Not from here: this hook runs inside the collection, where a raise is ignored too.
        interrupts.append(signal.SIGINT)
        again.append(threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)))
        again[-1].start()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = None
    if main_thread:
        # The hook is ours whenever the handler is: it goes in first and out last, so
        # an interrupt raised in a collection between the two is never lost.
        sys.unraisablehook = swallowed
        previous = signal.signal(signal.SIGINT, interrupt)
    try:
        code = _main(argv, as_command)
    finally:
        returned = True
        if main_thread:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            for timer in again:
                timer.cancel()
            sys.unraisablehook = previous_hook
    if interrupts and code != 130:
        print(f"{PROG}: interrupted", file=sys.stderr)
        _end_distributed(130)
        code = 130
    if code == 130 and as_command:
        # An interrupt can leave XLA compiling on a background thread, and the
        # interpreter's teardown under it may crash (SIGSEGV) after the one line.
        _exit_now(130)
    return code


def _main(argv: list[str], as_command: bool = False) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            if argv and argv[0] in FORWARDED:
                return FORWARDED[argv[0]].run(argv[1:])
            try:
                args = build_parser().parse_args(argv)
            except SystemExit as e:  # --help
                return e.code if isinstance(e.code, int) else 0
            if args.version:
                from nnbasics import __version__

                print(f"{PROG} {__version__}")
                return 0
            if args.command is None:
                raise UsageError(
                    f"a command is required: {', '.join(COMMANDS)} (see '{PROG} --help')"
                )
            if getattr(args, "distributed", False):
                from nnbasics import distributed

                distributed.set_resume_hint(_resume_hint(argv))
                if as_command and not os.environ.get(distributed.ENV_WATCHED):
                    # Started by hand: a child does the work, so that a lost peer, which
                    # makes JAX abort it with many lines, is reported here in one.
                    return distributed.supervise(argv, *_process_of(args))
            from nnbasics import compilation

            if getattr(args, "no_compile_cache", False):
                compilation.disable_compilation_cache()
            elif hasattr(args, "no_compile_cache"):
                compilation.use_default_cache()
            return args.func(args)
        except (UsageError, ValueError) as e:
            return fail(e)
        except (WriteError, WriteFailed) as e:
            fail(e)
            return 1
        except RuntimeError:
            # A collective that failed because a peer died: the peer watch names it.
            jax = sys.modules.get("jax")
            if jax is not None and jax.distributed.is_initialized():
                from nnbasics import distributed

                distributed.await_lost_peer()
            raise
        except BrokenPipeError:
            # The reader went away (``| head -1``): end quietly, as cat does.
            _silence_stdout()
            return 141
        except KeyboardInterrupt:
            hint = ""
            if "--checkpoint-dir" in argv and "--resume" not in argv:
                hint = " (the same command with --resume continues from the last checkpoint)"
            elif argv and argv[0] == "train" and "--checkpoint-dir" not in argv:
                hint = " (pass --checkpoint-dir DIR to be able to resume an interrupted run)"
            print(f"{PROG}: interrupted{hint}", file=sys.stderr)
            _end_distributed(130)
            return 130


def _process_of(args) -> tuple:
    """(process id, number of processes) from the options, else the environment, else None."""
    from nnbasics import distributed

    def given(value, env: str):
        text = os.environ.get(env, "")
        return value if value is not None else int(text) if text.isdigit() else None

    return (
        given(args.process_id, distributed.ENV_PROCESS_ID),
        given(args.num_processes, distributed.ENV_NUM_PROCESSES),
    )


def _resume_hint(argv: list[str]) -> str:
    """How to resume a distributed run a lost peer stopped: this process's command with --resume."""
    import shlex

    if "--checkpoint-dir" not in argv:
        return "no checkpoint to resume from: pass --checkpoint-dir DIR to be able to resume"
    again = [a for a in argv if a != "--overwrite"] + ([] if "--resume" in argv else ["--resume"])
    return (
        "to resume from the last checkpoint, start every process again with --resume, "
        f"this one as: {shlex.join([PROG, *again])}"
    )


def _end_distributed(code: int) -> None:
    """Ends a distributed process at once with ``code``, skipping JAX's shutdown at exit.

    Its coordination service would wait for the peers still running and then
    abort with a multi-line fatal error (SIGABRT): the interrupted process
    has said what it had to, and its checkpoint is already whole.
    """
    jax = sys.modules.get("jax")
    if jax is not None and jax.distributed.is_initialized():
        _exit_now(code)


def _exit_now(code: int) -> None:
    """Flushes stdout and stderr and ends the process with ``code``, skipping its teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _silence_stdout() -> None:
    """Points stdout at /dev/null so that Python's exit flush raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["build_parser", "main"]
