"""Biomarker statistics against scipy / sklearn / hand formulas, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

from neurodl.analyses.biomarkers import (
    ConnectomeFeatures,
    SubjectCohort,
    check_same_regions,
    effect_sizes,
    match_files,
    minimum_detectable_effect,
    simulate_cohort,
    subject_covariances,
    subject_cross_validate,
    subject_metrics,
    subject_metrics_ci,
    weight_stability,
)
from neurodl.analyses.biomarkers.cohort import (
    exclude_constant_regions,
    exclude_single_class_sites,
)
from neurodl.evaluation.protocols import LeaveOneSiteOut, SiteStratifiedKFold
from neurodl.exceptions import ConfigError, DataFormatError


def test_subject_metrics_equal_sklearn(rng):
    y = rng.integers(0, 2, 50)
    score = y + rng.normal(size=50)
    pred = (score > 0.5).astype(int)
    m = subject_metrics(y, pred, score)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["auc"] == pytest.approx(roc_auc_score(y, score))
    assert m["sensitivity"] == pytest.approx(recall_score(y, pred, pos_label=1))
    assert m["specificity"] == pytest.approx(recall_score(y, pred, pos_label=0))
    ci = subject_metrics_ci(y, pred, score, n_boot=200)
    for k, v in ci.items():
        assert v["low"] <= v["estimate"] <= v["high"], k


def test_effect_sizes_equal_hand_formula_and_scipy(rng):
    X = rng.normal(size=(30, 40))
    y = np.repeat([0, 1], [12, 18])
    X[y == 1, :3] += 2.5
    res = effect_sizes(X, y)
    a, b = X[y == 1, 0], X[y == 0, 0]
    sp = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / 28)
    d = (a.mean() - b.mean()) / sp
    assert res["cohens_d"][0] == pytest.approx(d)
    assert res["hedges_g"][0] == pytest.approx(d * (1 - 3 / (4 * 28 - 1)), rel=1e-3)
    p = sps.ttest_ind(X[y == 1], X[y == 0]).pvalue
    np.testing.assert_allclose(res["p"], p)
    np.testing.assert_allclose(res["q"], sps.false_discovery_control(p))
    # hand Benjamini-Hochberg
    order = np.argsort(p)
    q = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    np.testing.assert_allclose(res["q"][order], np.minimum(q, 1))
    assert set(np.flatnonzero(res["significant"])) >= {0, 1, 2}
    assert (res["g_low"] < res["hedges_g"]).all() and (res["hedges_g"] < res["g_high"]).all()


def test_weight_stability_separates_stable_from_random(rng):
    base = rng.normal(size=100)
    stable = base + 0.05 * rng.normal(size=(5, 100))
    noisy = rng.normal(size=(5, 100))
    s, n = weight_stability(stable, top_k=10), weight_stability(noisy, top_k=10)
    assert s["mean_rank_correlation"] > 0.95 > 0.3 > abs(n["mean_rank_correlation"])
    assert s["mean_jaccard_top_k"] > n["mean_jaccard_top_k"]


def test_minimum_detectable_effect_matches_power_tables():
    # two-sided t test, alpha 0.05, power 0.8 (Cohen 1988: d = 0.8 needs 26 per group)
    assert minimum_detectable_effect(26, 26)["min_detectable_d"] == pytest.approx(0.79, abs=0.02)
    small = minimum_detectable_effect(6, 6)
    assert small["n_relabelings"] == 924 and small["min_detectable_d"] > 1.7


def test_site_protocols_keep_sites_and_subjects_apart():
    cohort = simulate_cohort(60, 4, n_sites=4, seed=0)
    ds = cohort.to_epochs_dataset()
    for tr, te, block in LeaveOneSiteOut().splits(ds):
        assert set(cohort.sites[te]) == {block} and block not in set(cohort.sites[tr])
    folds = SiteStratifiedKFold(3).splits(ds)
    assert sorted(np.concatenate([te for _, te, _ in folds]).tolist()) == list(range(60))
    for _, te, _ in folds:  # every test fold mixes all sites
        assert len(set(cohort.sites[te])) == 4


# ---------------------------------------------------------------------- bad input
def test_different_region_counts_rejected_with_names():
    ts = [np.zeros((10, 5)), np.zeros((10, 5)), np.zeros((10, 4))]
    with pytest.raises(DataFormatError, match=r"most have 5, these differ: \['c \(4\)'\]"):
        check_same_regions(ts, ["a", "b", "c"])
    with pytest.raises(DataFormatError, match="same number of regions"):
        subject_covariances(ts)


def test_constant_region_policies(rng):
    ts = [rng.normal(size=(20, 4)) for _ in range(3)]
    ts[1][:, 2] = 0.0
    keep_s, keep_r, exc = exclude_constant_regions(ts, ["a", "b", "c"], "exclude_subjects")
    assert keep_s.tolist() == [True, False, True] and keep_r.all()
    assert exc[0].subject == "b" and exc[0].rule == "constant_regions"
    keep_s, keep_r, exc = exclude_constant_regions(ts, ["a", "b", "c"], "drop_regions")
    assert keep_s.all() and keep_r.tolist() == [True, True, False, True]
    with pytest.raises(DataFormatError, match=r"constant .* \['b \(1\)'\]"):
        exclude_constant_regions(ts, ["a", "b", "c"], "error")
    with pytest.raises(ConfigError, match="Invalid value for 'constant_regions'"):
        exclude_constant_regions(ts, ["a", "b", "c"], "ignore")


def test_single_class_site_rule():
    y, sites = np.array([0, 1, 1, 1]), np.array(["a", "a", "b", "b"])
    subjects = np.array(["s1", "s2", "s3", "s4"])
    with pytest.raises(DataFormatError, match=r"one class only.*\['b'\]"):
        exclude_single_class_sites(y, sites, subjects, "error")
    keep, exc = exclude_single_class_sites(y, sites, subjects, "exclude")
    assert keep.tolist() == [True, True, False, False] and [e.subject for e in exc] == ["s3", "s4"]


def test_match_files_reports_both_directions():
    kept, missing, orphans = match_files(["r/a.1D", "r/b.1D"], ["r/b.1D", "r/c.1D"])
    assert (kept, missing, orphans) == (["r/b.1D"], ["r/a.1D"], ["r/c.1D"])


def test_fewer_subjects_than_folds_and_non_binary_labels():
    cohort = simulate_cohort(6, 3, n_sites=2, seed=0)
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(DataFormatError, match="needs at least 10 subjects; found 6"):
        subject_cross_validate(LogisticRegression(), cohort, "site-stratified-kfold", n_splits=10)
    bad = SubjectCohort(
        cohort.X, np.arange(6) % 3, cohort.subjects, cohort.sites, pd.DataFrame(index=range(6)),
        ["a", "b", "c"],
    )  # fmt: skip
    with pytest.raises(DataFormatError, match="binary labels"):
        subject_cross_validate(LogisticRegression(), bad, "leave-one-site-out")


def test_connectome_bad_input(rng):
    with pytest.raises(ConfigError, match=r"Invalid value for 'kind'.*got 'coherence'"):
        ConnectomeFeatures("coherence").fit(np.eye(3)[None].repeat(2, 0))
    with pytest.raises(DataFormatError, match=r"shape \(n_subjects, n_regions, n_regions\)"):
        ConnectomeFeatures().fit(np.zeros((4, 3)))


def _fake_abide(root, rng):
    (root / "rois_cc200").mkdir(parents=True)
    rows = []
    for i, (site, dx) in enumerate([("A", 1), ("A", 2), ("A", 1), ("B", 1), ("B", 2), ("B", 2)]):
        rel = f"rois_cc200/{site}_{i}_rois_cc200.1D"
        rows.append(f"{rel},{i},{site},{dx},-9999,{20 + i},1,100,0.1,OK,OK,OK")
        if i != 2:  # subject 2 is listed but has no file
            np.savetxt(root / rel, rng.normal(size=(30, 200)), header="#")
    np.savetxt(root / "rois_cc200/B_9_rois_cc200.1D", rng.normal(size=(30, 200)))  # orphan
    head = "file,SUB_ID,SITE_ID,DX_GROUP,DSM_IV_TR,AGE_AT_SCAN,SEX,FIQ,func_mean_fd,"
    head += "qc_rater_1,qc_func_rater_2,qc_func_rater_3"
    (root / "phenotypes.csv").write_text("\n".join([head, *rows]) + "\n")


def test_abide_rows_without_files_and_files_without_rows(tmp_path, rng):
    from neurodl.analyses.biomarkers import load_abide_cohort

    _fake_abide(tmp_path, rng)
    with pytest.raises(DataFormatError, match=r"1 phenotype rows have no data file.*A_2_"):
        load_abide_cohort(tmp_path, missing_files="error")
    with pytest.raises(DataFormatError, match=r"1 data files have no phenotype row.*B_9_"):
        load_abide_cohort(tmp_path, orphan_files="error")
    cohort = load_abide_cohort(tmp_path)
    assert cohort.n_subjects == 5 and cohort.X.shape == (5, 200, 200)
    rules = {(e.rule, e.subject) for e in cohort.exclusions}
    assert ("missing_files", "2") in rules
    assert ("orphan_files", "rois_cc200/B_9_rois_cc200.1D") in rules
