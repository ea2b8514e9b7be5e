"""neurodl.evaluation."""
