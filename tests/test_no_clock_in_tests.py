"""No test reads a clock, under any name (tests count and compare; benchmarks time).

The finder resolves what each name is bound to: ``import time as t`` then
``t.perf_counter()``, ``from time import perf_counter as pc`` then ``pc()``,
``import datetime as dt`` then ``dt.datetime.now()``, ``from datetime import
datetime as D`` then ``D.now()``, ``from time import *``, and ``time`` imported
by ``importlib.import_module("time")`` or ``__import__("time")``.
"""

import ast
import pathlib

import pytest

TESTS = pathlib.Path(__file__).parent

# module -> its functions that read a clock
CLOCK_FUNCTIONS = {
    "time": {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "thread_time",
        "thread_time_ns",
        "clock_gettime",
        "clock_gettime_ns",
    },
}
# datetime's classes and their methods that read the clock
CLOCK_METHODS = {"datetime": {"now", "utcnow", "today"}, "date": {"today"}}


def clock_reads(source: str, name: str = "<probe>") -> list[str]:
    """'<name>:<line>: <what>' for every clock read in ``source``, whatever it was imported as."""
    tree = ast.parse(source, name)
    modules: dict[str, str] = {}  # local name -> "time" or "datetime"
    classes: dict[str, str] = {}  # local name -> "datetime" or "date" (datetime's classes)
    functions: dict[str, str] = {}  # local name -> "time.perf_counter"
    found: list[str] = []

    def hit(node: ast.AST, what: str) -> None:
        found.append(f"{name}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                root = a.name.split(".")[0]
                if root in ("time", "datetime"):
                    modules[a.asname or root] = root
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for a in node.names:
                local = a.asname or a.name
                if a.name == "*":
                    hit(node, f"from {node.module} import *")
                elif node.module == "time" and a.name in CLOCK_FUNCTIONS["time"]:
                    functions[local] = f"time.{a.name}"
                elif node.module == "datetime" and a.name in CLOCK_METHODS:
                    classes[local] = a.name
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            # t = importlib.import_module("time") / __import__("time")
            call = node.value
            callee = ast.unparse(call.func)
            args = call.args
            if (
                callee.endswith(("import_module", "__import__"))
                and args
                and isinstance(args[0], ast.Constant)
                and args[0].value in ("time", "datetime")
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        modules[target.id] = str(args[0].value)

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = node.value.id
            if modules.get(owner) == "time" and node.attr in CLOCK_FUNCTIONS["time"]:
                hit(node, f"{owner}.{node.attr} (time.{node.attr})")
            if owner in classes and node.attr in CLOCK_METHODS[classes[owner]]:
                hit(node, f"{owner}.{node.attr} ({classes[owner]}.{node.attr})")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and modules.get(node.value.value.id) == "datetime"
            and node.value.attr in CLOCK_METHODS
            and node.attr in CLOCK_METHODS[node.value.attr]
        ):
            hit(node, ast.unparse(node))
        if isinstance(node, ast.Name) and node.id in functions:
            hit(node, f"{node.id} ({functions[node.id]})")
    return sorted(set(found))


def test_no_test_reads_a_clock():
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 20
    found = [hit for path in files for hit in clock_reads(path.read_text(), str(path))]
    assert not found, found


@pytest.mark.parametrize(
    "source",
    [
        "import time\nt0 = time.perf_counter()\n",
        "import time as t\nt0 = t.perf_counter()\n",
        "import time as t\nt0 = t.monotonic_ns()\n",
        "from time import perf_counter as pc\nt0 = pc()\n",
        "from time import monotonic\nt0 = monotonic()\n",
        "from time import *\nt0 = perf_counter()\n",
        "import importlib\nclock = importlib.import_module('time')\nt0 = clock.time()\n",
        "clock = __import__('time')\nt0 = clock.process_time()\n",
        "import datetime as dt\nt0 = dt.datetime.now()\n",
        "from datetime import datetime as D\nt0 = D.utcnow()\n",
        "from datetime import date\nd = date.today()\n",
        "def f():\n    import time as clock\n    return clock.time()\n",
    ],
)
def test_the_finder_sees_a_clock_under_any_name(source):
    assert clock_reads(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import time\ntime.sleep(0.01)\n",  # waiting is not timing
        "from datetime import timedelta\nd = timedelta(seconds=1)\n",
        "t = 3\nx = t.bit_length()\n",
        "perf_counter = 0\nx = perf_counter + 1\n",
    ],
)
def test_the_finder_passes_code_that_reads_no_clock(source):
    assert clock_reads(source) == []
