"""neurodl.estimators."""
