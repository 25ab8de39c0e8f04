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
