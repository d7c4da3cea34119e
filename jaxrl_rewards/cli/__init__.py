"""The ``jaxrl-rewards`` command line: one module per command, mounted on one typer ``app``."""
