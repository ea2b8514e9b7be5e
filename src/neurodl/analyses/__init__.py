"""neurodl.analyses."""
