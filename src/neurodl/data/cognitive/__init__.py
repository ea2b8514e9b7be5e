"""Cognitive tasks as generators of trials (inputs, targets, loss mask, metadata)."""

from .base import TaskTrials, steps_of
from .ideal_observer import IDEAL_OBSERVERS, ideal_observer_accuracy, ideal_observer_choices
from .memory import delayed_match_to_sample, parametric_working_memory
from .neurogym_adapter import from_neurogym
from .perceptual import context_dependent_integration, perceptual_decision_making
from .registry import COGNITIVE_TASKS, make_task_trials, multitask_trials
from .rules import anti_saccade, go_nogo, pro_anti_nogo
from .timing import flip_flop, interval_production

__all__ = [
    "COGNITIVE_TASKS",
    "IDEAL_OBSERVERS",
    "TaskTrials",
    "anti_saccade",
    "context_dependent_integration",
    "delayed_match_to_sample",
    "flip_flop",
    "from_neurogym",
    "go_nogo",
    "ideal_observer_accuracy",
    "ideal_observer_choices",
    "interval_production",
    "make_task_trials",
    "multitask_trials",
    "parametric_working_memory",
    "perceptual_decision_making",
    "pro_anti_nogo",
    "steps_of",
]
