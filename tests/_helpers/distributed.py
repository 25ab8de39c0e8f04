"""Whether processes can talk over localhost ports here, and the multi-process marks."""

import socket

import pytest

TIMEOUT = 240  # seconds per launch; each takes well under 30 s on 2 cores


def local_ports_work() -> bool:
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


NO_PORTS = pytest.mark.skipif(
    not local_ports_work(),
    reason="processes cannot listen on and "
    "connect to localhost ports here (JAX's coordinator needs one)",
)


def multiprocess(test):
    """Marks a test that starts processes talking over localhost; skipped where ports cannot open."""
    return pytest.mark.multiprocess(NO_PORTS(test))
