import jax

# Gradient and optimizer comparisons are made in float64 (DESIGN.md, Conventions).
jax.config.update("jax_enable_x64", True)
