"""make_estimator: one factory for every estimator, and the per-kind factories delegating to it."""

from __future__ import annotations

import pytest

from neurodl.analyses import dynamics as dyn
from neurodl.estimators import ESTIMATOR_CLASSES, list_estimators, make_estimator
from neurodl.estimators.dynamics import RNNDecoder, RNNForecaster, WienerFilter
from neurodl.estimators.encoder import NeuralEncoder
from neurodl.estimators.registry import make_decoder, make_forecaster
from neurodl.exceptions import ConfigError


@pytest.mark.parametrize("name", sorted(ESTIMATOR_CLASSES))
def test_every_estimator_class_is_built_by_name(name):
    entry = ESTIMATOR_CLASSES[name]
    est = make_estimator(name, seed=7)
    assert type(est) is entry.cls
    for key, value in entry.defaults.items():
        assert getattr(est, key) == value
    if "random_state" in est.get_params():
        assert est.random_state == 7


@pytest.mark.parametrize(
    ("name", "params", "cls", "attrs"),
    [
        ("ridge", {}, WienerFilter, {"n_lags": 1}),
        ("wiener", {"n_lags": 4}, WienerFilter, {"n_lags": 4}),
        ("lstm", {"max_epochs": 3}, RNNDecoder, {"cell": "lstm", "max_epochs": 3}),
        ("gru", {"seed": 4}, RNNDecoder, {"cell": "gru", "random_state": 4}),
    ],
)
def test_make_decoder_delegates_to_make_estimator(name, params, cls, attrs):
    est = make_decoder(name, **params)
    assert type(est) is cls
    for key, value in attrs.items():
        assert getattr(est, key) == value
    assert dyn.make_decoder is make_decoder


def test_make_forecaster_and_tables_are_views_of_the_registry():
    f = make_forecaster("rnn", horizons=[1, 2], max_epochs=4, seed=3)
    assert isinstance(f, RNNForecaster) and (f.max_epochs, f.random_state) == (4, 3)
    assert dyn.FORECASTERS == {
        "persistence": dyn.PersistenceForecaster,
        "linear_ar": dyn.LinearARForecaster,
        "rnn": RNNForecaster,
    }
    assert set(dyn.DECODERS) == {"wiener", "kalman", "rnn"}
    assert make_estimator("neural_encoder", max_epochs=5).max_epochs == 5
    assert isinstance(make_estimator("neural_encoder"), NeuralEncoder)


def test_unknown_name_lists_every_family():
    with pytest.raises(ConfigError) as err:
        make_estimator("nope")
    msg = str(err.value)
    for name in ("lda", "soft_vote", "rnn_decoder", "lfads", "neural_encoder", "eegnet"):
        assert name in msg
    names = list_estimators()
    assert "wiener_filter" in names["decoder"] and "mlp" in names["neural"]


@pytest.mark.parametrize(
    ("factory", "name", "params", "match"),
    [
        (make_decoder, "nope", {}, "Invalid value for 'decoder'. Allowed: .*'wiener'.*got 'nope'"),
        (make_forecaster, "arima", {}, "Invalid value for 'forecaster'.*got 'arima'"),
        (make_estimator, "lfads", {"bogus": 1}, "Invalid parameters for estimator 'lfads'"),
    ],
)
def test_factories_bad_input(factory, name, params, match):
    with pytest.raises(ConfigError, match=match):
        factory(name, **params)


def test_moved_names_are_re_exported_from_their_old_homes():
    from neurodl.analyses.dynamics import LFADS, ContiguousBlockCV, history_windows
    from neurodl.analyses.dynamics.binning import lagged_features
    from neurodl.analyses.encoding.neural import NeuralEncoder as OldEncoder
    from neurodl.estimators import dynamics as est_dyn

    assert LFADS is est_dyn.LFADS and ContiguousBlockCV is est_dyn.ContiguousBlockCV
    assert history_windows is est_dyn.history_windows
    assert lagged_features is est_dyn.lagged_features
    assert OldEncoder is NeuralEncoder
