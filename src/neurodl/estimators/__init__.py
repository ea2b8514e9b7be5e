"""Estimators: classical baselines, neural networks and dynamics models behind one sklearn API.

:func:`make_estimator` (:mod:`.registry`) builds any of them by name: classical names resolve
through :data:`~neurodl.estimators.classical.CLASSICAL_MODELS`, estimator classes (dynamics
decoders, forecasters, latent models, the neural encoder) through
:data:`~neurodl.estimators.registry.ESTIMATOR_CLASSES`, and neural names through the model
registry (:func:`neurodl.models.list_models`) wrapped in :class:`NeuralClassifier` /
:class:`NeuralRegressor`. Importing this package does not import torch.
"""

from __future__ import annotations

from .classical import CLASSICAL_MODELS, make_classical
from .neural import NeuralClassifier, NeuralRegressor
from .registry import (
    ENSEMBLES,
    ESTIMATOR_CLASSES,
    NEURAL_TASKS,
    PRETRAINED,
    is_neural,
    list_estimators,
    make_estimator,
)
from .task_training import TaskTrainingResult, choice_accuracy, predict_task, train_task_model

__all__ = [
    "CLASSICAL_MODELS",
    "ENSEMBLES",
    "ESTIMATOR_CLASSES",
    "NEURAL_TASKS",
    "PRETRAINED",
    "NeuralClassifier",
    "NeuralRegressor",
    "TaskTrainingResult",
    "choice_accuracy",
    "is_neural",
    "list_estimators",
    "make_classical",
    "make_estimator",
    "predict_task",
    "train_task_model",
]
