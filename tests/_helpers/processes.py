"""Starting other Python processes, and a one-epoch ``nnbasics train``."""

import subprocess
import sys


def run_python(code, *args, **kw):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], **kw)


ONE_EPOCH = ["train", "--dataset", "iris", "--hidden-sizes", "4", "--epochs", "1", "--quiet"]
