"""Golden tests on the 92-image data (Kriegeskorte et al. 2008), numbers from rsatoolbox."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.rsa import compare_rdms, evaluate_models, noise_ceiling, read_kriegeskorte92

pytestmark = pytest.mark.realdata


@pytest.fixture
def k92(shared_data):
    return read_kriegeskorte92(shared_data("fmri/kriegeskorte92"))


def test_reader_structure(k92):
    assert k92["hIT"].n_rdms == 8 and k92["hIT"].n_conditions == 92
    assert sorted(set(k92["hIT"].descriptors["subject"])) == ["BE", "KO", "SN", "TI"]
    assert k92["models"].names[:6] == [
        "animacy",
        "FaceBodyManmadeNatobj",
        "monkeyIT",
        "EVA",
        "HMAX",
        "V1",
    ]
    assert k92["fig1"].names == ["mIT_674neurons", "hITvisStim_316vx"]
    assert k92["hIT"].condition_descriptors["is_animate"].sum() == 48


@pytest.mark.parametrize(("method", "expected"), [("pearson", 0.491), ("spearman", 0.439)])
def test_hit_vs_mit(k92, method, expected):
    fig1 = k92["fig1"]
    r = compare_rdms(fig1.subset(0), fig1.subset(1), method=method)
    assert r.shape == (1, 1)
    assert r[0, 0] == pytest.approx(expected, abs=5e-4)


def test_fixed_models_and_ceiling(k92):
    data = k92["hIT"].average_by("subject")
    assert data.names == ["BE", "KO", "SN", "TI"]
    res = evaluate_models(k92["models"], data, method="pearson", ceiling_zscore=True)
    scores = dict(zip(res.model_names, res.scores, strict=True))
    expected = {"animacy": 0.387, "monkeyIT": 0.334, "EVA": 0.259, "HMAX": 0.152, "V1": 0.025}
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, abs=5e-4), name
    assert res.noise_ceiling.lower == pytest.approx(0.394, abs=5e-4)
    assert res.noise_ceiling.upper == pytest.approx(0.680, abs=5e-4)
    plain = noise_ceiling(data, method="pearson", zscore=False)
    assert plain.lower == pytest.approx(0.395, abs=5e-4)
    # the mean-RDM comparison is a different (wrong) convention: it must not match
    mean_r = compare_rdms(k92["models"].subset(0), data.dissimilarities.mean(0)[None])[0, 0]
    assert abs(mean_r - 0.387) > 0.1
    assert res.to_dict()["models"]["animacy"]["score"] == pytest.approx(0.387, abs=5e-4)


def test_bootstrap_and_permutation_on_real_data(k92):
    data = k92["hIT"].average_by("subject")
    res = evaluate_models(
        k92["models"], data, bootstrap="conditions", n_bootstrap=200, n_permutations=200, seed=1
    )
    assert np.all(res.ci[:, 0] <= res.scores) and np.all(res.scores <= res.ci[:, 1])
    names = res.model_names
    animacy, v1 = names.index("animacy"), names.index("V1")
    assert res.p_values[animacy] < 0.01 and res.p_values[v1] > 0.05
    assert res.pairwise_p_fdr[animacy, v1] < 0.05
    assert res.ceiling_ci[0, 0] < res.noise_ceiling.lower < res.ceiling_ci[0, 1]
