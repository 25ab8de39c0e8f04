import os
import tempfile

import jax

# Gradient and optimizer comparisons are made in float64 (DESIGN.md, Conventions).
jax.config.update("jax_enable_x64", True)

# The command line turns JAX's persistent compilation cache on; tests keep it
# out of the user's ~/.cache (one throw-away directory per test process).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="nnbasics-tests-"))
