"""Plain helper functions and constants shared by test modules (fixtures live in conftest.py files)."""
