"""Cognitive tasks as generators of trials (inputs, targets, loss mask, metadata)."""

from .base import TaskTrials, steps_of

__all__ = ["TaskTrials", "steps_of"]
