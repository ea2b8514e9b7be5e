"""scikit-learn's estimator checks on NeuralClassifier / NeuralRegressor (2-D mode, tiny MLP).

The checks feed 2-D ``(n_samples, n_features)`` arrays; the estimators' documented 2-D mode
treats them as one-channel signals ``(n_samples, 1, n_features)``, so every check applies and
passes: no expected failures are needed. 3-D input is covered by test_estimators_neural.py.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodl.estimators.neural import NeuralClassifier, NeuralRegressor

#: Checks that cannot pass, with the reason written down (none in the 2-D mode).
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
