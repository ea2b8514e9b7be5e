"""Workflows: compose analyses and reports into runs (what the CLI calls)."""
