"""Finding headless Chromium for the tests that open the built site."""

import os
import shutil

import pytest


def chromium() -> str:
    """The browser's path; under CI a missing browser fails the test instead of skipping it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required under CI (apt-get install -y chromium)")
    pytest.skip("no chromium on this machine (apt-get install -y chromium)")
