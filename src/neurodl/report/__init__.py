"""neurodl.report."""
