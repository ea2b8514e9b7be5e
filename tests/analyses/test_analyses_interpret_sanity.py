"""Captum attributions against closed forms, Haufe patterns, sanity checks and truth scores.

Oracles: a linear network's output ``w.x + b`` (integrated gradients and DeepLIFT are exactly
``w * (x - x0)``, occlusion the patch sum of it), the planted mixing column of a suppressor
simulation (the pattern recovers it, the filter does not), and maps whose dependence on the
model is known by construction (an input-only map survives randomisation, a gradient does not).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodl.analyses.interpret import (
    attribute,
    deeplift,
    feature_ablation,
    integrated_gradients,
    occlusion,
    saliency,
)
from neurodl.analyses.interpret.linear import linear_gradient_x_input, linear_patterns
from neurodl.analyses.interpret.sanity import (
    SanityCheck,
    label_randomisation,
    map_stability,
    model_randomisation,
    rank_correlation,
    sanity_verdict,
)
from neurodl.analyses.interpret.study import attribution_study
from neurodl.analyses.interpret.truth import score_map
from neurodl.data.attribution_sim import simulate_attribution_eeg
from neurodl.estimators import NeuralClassifier
from neurodl.exceptions import ConfigError, DataFormatError

N, C, T, K = 160, 6, 32, 2


def _planted(seed: int = 0, scales: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], N // 2)
    X = rng.normal(size=(N, C, T))
    X[:, K, 10:20] += (2.0 * y - 1.0)[:, None] * 1.5
    if scales is not None:
        X *= scales[None, :, None]
    return X, y


def _net(model: str = "linear", epochs: int = 30, seed: int = 0) -> NeuralClassifier:
    return NeuralClassifier(
        model,
        {},
        max_epochs=epochs,
        batch_size=32,
        lr=0.01,
        validation_fraction=0.0,
        random_state=seed,
        num_threads=1,
        device="cpu",
    )


@pytest.fixture(scope="module")
def data():
    return _planted()


@pytest.fixture(scope="module")
def linear(data):
    return _net().fit(*data)


def _weights(clf) -> np.ndarray:
    return clf.model_.head.weight.detach().numpy().reshape(2, C, T)


def test_captum_ig_and_deeplift_equal_the_closed_form_on_a_linear_model(linear, data):
    X, _ = data
    w = _weights(linear)
    x0 = np.random.default_rng(5).normal(size=(C, T))
    for target in (0, 1):
        expected = w[target][None] * (X[:8] - x0)
        kw = {"target": target, "baseline": x0}
        np.testing.assert_allclose(
            integrated_gradients(linear, X[:8], n_steps=4, **kw), expected, rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(deeplift(linear, X[:8], **kw), expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            saliency(linear, X[:8], target=target), np.broadcast_to(w[target], (8, C, T)), rtol=1e-5
        )
    # occlusion of one channel x 8 samples: the logit drop is the patch sum of w * (x - x0)
    occ = occlusion(linear, X[:4], target=1, window=8)
    contrib = w[1][None] * X[:4]
    patch = contrib.reshape(4, C, T // 8, 8).sum(-1)
    np.testing.assert_allclose(occ[:, :, ::8], patch, rtol=1e-4, atol=1e-4)
    abl = feature_ablation(linear, X[:4], target=1, groups="channels")
    np.testing.assert_allclose(abl[:, :, 0], contrib.sum(-1), rtol=1e-4, atol=1e-4)


def test_attribute_every_method_and_band_sums(linear, data):
    X, y = data
    for method in ("deeplift", "saliency", "occlusion", "feature_ablation"):
        a = attribute(linear, X, method=method, target="true", y=y, sfreq=32.0)
        assert a.values.shape == (N, C, T) and int(np.argmax(a.channel)) == K
    a = attribute(linear, X, method="deeplift", sfreq=32.0)
    sums = a.bands({"low": (0.0, 4.0), "rest": (4.0, 17.0)})
    assert sums["low"] + sums["rest"] == pytest.approx(a.frequency.sum())
    with pytest.raises(ConfigError, match="per-frequency split"):
        attribute(linear, X, method="occlusion").bands({"a": (1.0, 2.0)})


def test_haufe_pattern_recovers_the_mixing_column_where_the_filter_does_not():
    rng = np.random.default_rng(0)
    n = 4000
    y = np.repeat([0, 1], n // 2)
    signal = (2.0 * y - 1.0) + 0.5 * rng.normal(size=n)
    distractor = rng.normal(size=n)
    a_signal = np.array([1.0, 0.0, 0.5])  # planted mixing column: channel 1 carries no signal
    a_dist = np.array([1.0, 1.0, 0.0])  # channel 1 records the distractor: a suppressor
    X = np.outer(signal, a_signal) + np.outer(distractor, a_dist) + 0.05 * rng.normal(size=(n, 3))
    for model in (LinearDiscriminantAnalysis(), LogisticRegression(C=10.0, max_iter=1000)):
        maps = linear_patterns(model.fit(X, y), X)
        pattern, filt = maps.patterns[0], maps.filters[0]
        cos = abs(pattern @ a_signal) / np.linalg.norm(pattern) / np.linalg.norm(a_signal)
        assert cos > 0.999
        assert abs(pattern[1]) < 0.02 * np.abs(pattern).max()
        assert abs(filt[1]) > 0.5 * np.abs(filt).max()  # the filter loads on the suppressor
    # oracle: A = Cov(X) w / var(s) in closed form
    lda = LinearDiscriminantAnalysis().fit(X, y)
    w = lda.coef_[0]
    s = (X - X.mean(0)) @ w
    np.testing.assert_allclose(
        linear_patterns(lda, X).patterns[0], np.cov(X.T) @ w / s.var(ddof=1), rtol=1e-8
    )


def test_patterns_of_a_pipeline_on_flattened_samples(data):
    X, y = data
    pipe = make_pipeline(
        FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),
        LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
    ).fit(X, y)
    maps = linear_patterns(pipe, X)
    assert maps.patterns.shape == (1, C, T) and maps.sample_shape == (C, T)
    pat = np.abs(maps.patterns[0])
    assert np.unravel_index(np.argmax(pat), pat.shape)[0] == K
    gxi = linear_gradient_x_input(pipe, X)
    np.testing.assert_allclose(gxi, X * maps.filters[0][None])


def test_model_randomisation_flags_an_input_map_and_passes_a_gradient(linear, data):
    X, y = data
    x = X[:64]

    def input_map(est):  # model-independent, like an edge detector
        return np.abs(x).mean(axis=0)

    def gradient_map(est):
        return np.abs(saliency(est, x, target=1)).mean(axis=0)

    rows = model_randomisation(linear, input_map)
    assert rows[-1].rank_correlation == pytest.approx(1.0) and sanity_verdict(rows) == "fail"
    rows = model_randomisation(linear, gradient_map, seed=1)
    assert rows[-1].step == "all layers" and rows[-1].final
    assert abs(rows[-1].rank_correlation) < 0.3 and sanity_verdict(rows) == "pass"
    ref = gradient_map(linear)
    lab = label_randomisation(_net(), X, y, gradient_map, reference=ref, seed=0)
    assert lab.rank_correlation < 0.5 and lab.verdict == "pass"
    assert linear.score(X, y) > 0.95  # the intact model is untouched by the checks


def test_gradient_x_input_survives_randomisation_on_uneven_channels():
    # channel amplitudes over two orders of magnitude: |x * random gradient| keeps their order
    scales = np.array([0.1, 0.3, 1.0, 3.0, 10.0, 30.0])
    X, y = _planted(1, scales)
    mlp = _net("mlp", epochs=20).fit(X, y)
    x = X[:64]

    def gxi(est):
        from neurodl.analyses.interpret import gradient_x_input

        return np.abs(gradient_x_input(est, x, target=1)).mean(axis=0)

    def grad(est):
        return np.abs(saliency(est, x, target=1)).mean(axis=0)

    assert sanity_verdict(model_randomisation(mlp, gxi, cascade=False)) == "fail"
    assert sanity_verdict(model_randomisation(mlp, grad, cascade=False)) == "pass"


def test_cascading_rows_go_from_the_top_layer_down(data):
    X, y = data
    mlp = _net("mlp", epochs=5).fit(X, y)
    rows = model_randomisation(mlp, lambda est: np.abs(saliency(est, X[:16], target=0)).mean(0))
    assert [r.step for r in rows] == ["top down to head", "all layers"]
    assert [r.final for r in rows] == [False, True]


def test_rank_correlation_and_stability_oracle():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 4, 5))
    assert rank_correlation(a, b) == pytest.approx(
        spearmanr(np.abs(a).ravel(), np.abs(b).ravel())[0]
    )
    assert rank_correlation(a, np.zeros_like(a)) is None
    pairs = [rank_correlation(a, b), rank_correlation(a, c), rank_correlation(b, c)]
    assert map_stability([a, b, c]) == pytest.approx(np.mean(pairs))
    assert map_stability([a, 3 * a]) == pytest.approx(1.0)
    assert sanity_verdict([SanityCheck("x", "y", None, "undefined")]) == "undefined"


def test_score_map_against_a_known_truth():
    truth = {"source_channels": [1], "suppressor_channels": [2], "window_samples": (2, 6)}
    m = np.zeros((4, 10))
    m[1, 2:6] = 3.0  # all mass on the source inside the window
    m[2, :] = 0.1
    s = score_map(m, truth)
    assert s["mass_sources"] == pytest.approx(12 / 13) and s["mass_suppressors"] == pytest.approx(
        1 / 13
    )
    assert s["mass_window"] == 1.0 and s["rank_channels"] == 1.0 and s["rank_elements"] == 1.0
    assert s["window_share"] == pytest.approx(0.4)
    assert score_map(-m, truth) == s  # absolute values
    assert score_map(np.zeros((4, 10)), truth)["mass_sources"] is None


def test_study_on_the_simulation_ranks_the_pattern_above_the_filter():
    ds = simulate_attribution_eeg(n_trials=400, n_channels=6, effect_size=3.0, sfreq=32.0)
    lin = make_pipeline(
        FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),
        LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
    )
    st = attribution_study(
        ds,
        _net("mlp", epochs=10),
        lin,
        network_methods=["saliency", "feature_ablation"],
        n_splits=2,
        n_explain=50,
        n_check_samples=40,
        n_seeds=1,
    )
    by = {m.method: m for m in st.methods}
    assert set(by) == {
        "saliency",
        "feature_ablation",
        *("linear_" + k for k in ("filter", "gradient_x_input", "pattern")),
    }
    assert min(st.fold_scores["linear"]) > 0.9
    pat, filt = by["linear_pattern"].scores, by["linear_filter"].scores
    assert pat["mass_suppressors"] < 0.5 * filt["mass_suppressors"]
    assert pat["mass_sources"] > filt["mass_sources"] and pat["rank_channels"] == 1.0
    for m in st.methods:
        assert m.map.shape == (6, 32) and [c.check for c in m.checks][-1] == "label randomisation"
        assert m.verdict in ("pass", "fail", "undefined") and m.stability_folds is not None


BAD = [
    (lambda: rank_correlation(np.ones((2, 3)), np.ones((3, 2))), DataFormatError, "same shape"),
    (lambda: map_stability([np.ones(3)]), ConfigError, "at least 2 maps"),
    (lambda: score_map(np.ones(5), {"source_channels": [0]}), DataFormatError, "n_chans, n_times"),
    (
        lambda: score_map(
            np.ones((2, 5)),
            {"source_channels": [4], "suppressor_channels": [], "window_samples": (0, 1)},
        ),
        DataFormatError,
        "names channel 4",
    ),
    (
        lambda: score_map(np.ones((2, 5)), {"source_channels": [0]}),
        ConfigError,
        "suppressor_channels",
    ),
    (
        lambda: linear_patterns(FunctionTransformer().fit(np.ones((4, 2))), np.ones((4, 2))),
        ConfigError,
        "coef_",
    ),
    (
        lambda: linear_patterns(LinearDiscriminantAnalysis(), np.ones((4, 2))),
        Exception,
        "not fitted",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 2.0}, "'threshold'"),
    ],
)
def test_bad_check_options(linear, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        model_randomisation(linear, lambda est: np.ones(3), **kwargs)


def test_bad_attribution_options(linear, data):
    X, _ = data
    with pytest.raises(ConfigError, match="'window'"):
        occlusion(linear, X[:2], window=T + 1)
    with pytest.raises(ConfigError, match="'groups'"):
        feature_ablation(linear, X[:2], groups="bands")
    with pytest.raises(DataFormatError, match="'groups'"):
        feature_ablation(linear, X[:2], groups=np.zeros((2, 2), int))
    with pytest.raises(ConfigError, match="'method'"):
        attribute(linear, X[:2], method="lime")
    ds = simulate_attribution_eeg(n_trials=8, n_channels=6)
    with pytest.raises(ConfigError, match="'network_methods'"):
        attribution_study(ds, _net(), LogisticRegression(), network_methods=["lrp"])
    with pytest.raises(ConfigError, match=r"Invalid value for .estimator."):
        model_randomisation(FunctionTransformer(), lambda est: np.ones(3), reference=np.ones(3))


def test_maps_too_small_to_judge_get_no_verdict():
    """Below MIN_MAP_VALUES, unrelated maps pass 0.5 by chance too often for a verdict."""
    from sklearn.linear_model import LogisticRegression

    from neurodl.analyses.interpret.sanity import (
        MIN_MAP_VALUES,
        label_randomisation,
        model_randomisation,
        rank_correlation,
    )

    rng = np.random.default_rng(0)
    # why: the rate of rho > 0.5 between independent maps of 8 values vs of MIN_MAP_VALUES
    rates = {
        n: np.mean([rank_correlation(rng.random(n), rng.random(n)) > 0.5 for _ in range(4000)])
        for n in (8, MIN_MAP_VALUES)
    }
    assert rates[8] > 0.07 and rates[MIN_MAP_VALUES] < 0.055, rates
    explain = lambda est: np.abs(est.coef_[0])  # noqa: E731
    for n_features, expected in ((8, {"undefined"}), (MIN_MAP_VALUES, {"pass", "fail"})):
        y = np.repeat([0, 1], 30)
        X = rng.standard_normal((60, n_features))
        X[:, 0] += 2 * y
        clf = LogisticRegression().fit(X, y)
        rows = model_randomisation(clf, explain, reference=explain(clf))
        row = label_randomisation(LogisticRegression(), X, y, explain, reference=explain(clf))
        assert {rows[-1].verdict, row.verdict} <= expected, (n_features, rows, row)
        assert rows[-1].rank_correlation is not None  # the correlation is still reported
