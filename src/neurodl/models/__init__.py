"""neurodl.models."""
