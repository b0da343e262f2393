"""The ``luna`` command line (typer)."""
