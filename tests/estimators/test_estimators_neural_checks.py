"""scikit-learn's estimator checks on NeuralClassifier / NeuralRegressor (2-D mode, tiny MLP)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodl.estimators.neural import NeuralClassifier, NeuralRegressor

#: Checks that cannot pass, with the reason written down.
EXPECTED_FAILURES: dict[str, str] = {}

_FAST = {
    "max_epochs": 2,
    "batch_size": 32,
    "device": "cpu",
    "validation_fraction": 0.0,
    "num_threads": 1,
}


def _expected(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [
        NeuralClassifier("mlp", {"n_hidden": 16}, lr=0.05, **_FAST),
        NeuralRegressor("mlp", {"n_hidden": 16}, lr=0.05, **_FAST),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
