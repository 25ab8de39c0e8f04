"""count_compilations(): how many XLA programs a block of code compiles, and in how long."""

import contextlib
import logging
import re

import jax

_FINISHED = re.compile(r"Finished XLA compilation of .+ in ([0-9.e+-]+) sec")


class _Counter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count, self.seconds = 0, 0.0
        self.programs: list[tuple[str, str]] = []  # (thread name, "jit(name)") per compile

    def emit(self, record):
        found = _FINISHED.search(record.getMessage())
        if found:
            self.count += 1
            self.seconds += float(found.group(1))
            self.programs.append((record.threadName, found.group(0).split()[4]))


@contextlib.contextmanager
def count_compilations():
    """``with count_compilations() as c: ...``; then ``c.count`` and ``c.seconds``.

    Reads JAX's own compile log (``jax_log_compiles``), so it counts every
    program XLA compiles in the block, including small eager operations.
    """
    counter = _Counter()
    logger = logging.getLogger("jax")
    previous = jax.config.jax_log_compiles
    logger.addHandler(counter)
    jax.config.update("jax_log_compiles", True)
    try:
        yield counter
    finally:
        jax.config.update("jax_log_compiles", previous)
        logger.removeHandler(counter)


@contextlib.contextmanager
def fresh_programs(folder):
    """No compiled program in memory or in the program store (which moves to ``folder``).

    For tests that count what a block compiles or traces: an earlier test in the same
    process cannot have compiled or stored the same program.
    """
    from nnbasics import _store
    from nnbasics.train import _epoch

    saved = _epoch._PROGRAMS, _store.folder
    _epoch._PROGRAMS = type(saved[0])()
    _store.folder = lambda: str(folder)
    jax.clear_caches()
    try:
        yield
    finally:
        _epoch._PROGRAMS, _store.folder = saved
