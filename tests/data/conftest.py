"""Fixtures shared by the data tests."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _cache_home(tmp_path_factory):
    """Generated sets ("mnist1d") are cached in a temporary $XDG_CACHE_HOME, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
