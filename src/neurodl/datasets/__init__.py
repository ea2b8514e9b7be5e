"""neurodl.datasets."""
