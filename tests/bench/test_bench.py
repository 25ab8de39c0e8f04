"""``nnbasics bench`` in-process: its "cold" rows compile, whatever cache is configured."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

import nnbasics.bench as bench
from nnbasics import compilation


@pytest.fixture
def restore_cache_settings():
    enabled = jax.config.jax_enable_compilation_cache
    disabled = compilation._disabled
    yield
    jax.config.update("jax_enable_compilation_cache", enabled)
    compilation._disabled = disabled


def test_sections_run_with_no_persistent_cache(monkeypatch, restore_cache_settings):
    # The default cache (nb.fit turns it on) or a user's $JAX_COMPILATION_CACHE_DIR would
    # serve every "cold" nb.fit after the first from disk: the row would time a cache read.
    seen = []

    def section(*args, **kwargs):
        seen.append((jax.config.jax_enable_compilation_cache, compilation._disabled))
        return {}

    for name in ("bench_end_to_end", "bench_steps", "bench_gemm", "bench_vmap", "bench_scaling"):
        monkeypatch.setattr(bench, name, section)
    monkeypatch.setattr(bench, "machine_info", lambda cfg, device: {})
    cfg = bench._parse(["--out", str(Path("unused"))])
    bench.run(cfg, log=lambda msg: None)
    assert seen and all(s == (False, True) for s in seen), seen
