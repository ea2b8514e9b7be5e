"""neurodl.preprocessing."""
