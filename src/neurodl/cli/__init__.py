"""Command-line interface (``neurodl --help``)."""
