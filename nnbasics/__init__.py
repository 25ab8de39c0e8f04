"""nnbasics: neural-network basics in JAX, every derivative and optimizer by hand."""
