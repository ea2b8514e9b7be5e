"""SzCORE event scoring on hand-built event tables whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from neurodl.analyses.seizure import (
    EventScore,
    ScoringParams,
    average_over_subjects,
    merge_events,
    sample_auroc,
    score_events,
    score_subjects,
    split_long_events,
)
from neurodl.data import Annotations
from neurodl.exceptions import ConfigError, DataFormatError

DAY = 86400.0
REF = [[1000.0, 1060.0]]  # one 60 s seizure


def test_detection_20s_before_onset_counts_within_pre_tolerance():
    # Hypothesis [970, 980]: ends 20 s before the onset, inside the 30 s pre-ictal tolerance.
    s = score_events(REF, [[970.0, 980.0]], DAY)
    assert (s.tp, s.fp, s.n_reference, s.n_hypothesis) == (1, 0, 1, 1)
    assert s.sensitivity == 1.0 and s.precision == 1.0 and s.f1 == 1.0
    assert s.fa_per_24h == 0.0
    assert s.latency_s == pytest.approx(-30.0)  # clamped to the tolerance start


def test_detection_40s_before_onset_is_a_miss_and_a_false_alarm():
    # Hypothesis [950, 960]: ends 40 s before the onset (outside 30 s): FN + FP.
    s = score_events(REF, [[950.0, 960.0]], DAY)
    assert (s.tp, s.fp) == (0, 1)
    assert s.sensitivity == 0.0 and s.precision == 0.0 and s.f1 == 0.0
    assert s.fa_per_24h == pytest.approx(1.0)


def test_post_ictal_tolerance_is_60s():
    # Reference ends at 1060; post tolerance until 1120.
    inside = score_events(REF, [[1110.0, 1115.0]], DAY)
    outside = score_events(REF, [[1125.0, 1130.0]], DAY)
    assert (inside.tp, inside.fp) == (1, 0)
    assert (outside.tp, outside.fp) == (0, 1)


def test_latency_is_first_overlapping_hypothesis_onset_minus_reference_onset():
    s = score_events(REF, [[1012.0, 1050.0]], DAY)
    assert s.latency_s == pytest.approx(12.0)


def test_two_hypotheses_60s_apart_merge_into_one_false_alarm():
    # [5000, 5010] and [5070, 5080] are 60 s apart (< 90 s): one merged FP, far from the seizure.
    s = score_events(REF, [[5000.0, 5010.0], [5070.0, 5080.0]], DAY / 2)
    assert (s.tp, s.fp, s.n_hypothesis) == (0, 1, 1)
    assert s.fa_per_24h == pytest.approx(2.0)  # 1 FP in 12 h
    # 100 s apart: two false alarms.
    s2 = score_events(REF, [[5000.0, 5010.0], [5110.0, 5120.0]], DAY / 2)
    assert (s2.fp, s2.n_hypothesis) == (2, 2)
    assert s2.fa_per_24h == pytest.approx(4.0)


def test_12_minute_reference_event_splits_into_3():
    # 720 s -> 300 + 300 + 120 s; a hypothesis overlapping only the first chunk detects 1 of 3.
    s = score_events([[0.0, 720.0]], [[10.0, 50.0]], DAY)
    assert s.n_reference == 3
    assert s.tp == 1 and s.fp == 0
    assert s.sensitivity == pytest.approx(1 / 3)
    assert s.precision == 1.0
    assert s.f1 == pytest.approx(0.5)  # 2 * (1/3) * 1 / (4/3)


def test_reference_events_closer_than_90s_merge():
    s = score_events([[100.0, 130.0], [200.0, 230.0]], [[110.0, 120.0]], DAY)
    assert s.n_reference == 1 and s.tp == 1 and s.sensitivity == 1.0


def test_hypothesis_partly_outside_tolerance_is_both_tp_and_fp():
    # Hypothesis [900, 1010] overlaps the reference but starts 70 s before the widened window
    # [970, 1120]: it detects the seizure and counts as one false alarm (SzCORE).
    s = score_events(REF, [[900.0, 1010.0]], DAY)
    assert (s.tp, s.fp) == (1, 1)
    assert s.precision == 0.5


def test_no_reference_no_hypothesis():
    s = score_events([], [], DAY)
    assert np.isnan(s.sensitivity) and np.isnan(s.precision) and np.isnan(s.f1)
    assert s.fa_per_24h == 0.0


def test_merge_and_split_helpers():
    np.testing.assert_allclose(
        merge_events([[0, 10], [50, 60], [200, 210]], 90.0), [[0, 60], [200, 210]]
    )
    np.testing.assert_allclose(
        split_long_events([[0, 650]], 300.0), [[0, 300], [300, 600], [600, 650]]
    )


def test_annotations_and_dataframes_are_accepted():
    ann = Annotations([1000.0, 3000.0], [60.0, 5.0], ["seizure", "blink"])
    df = pd.DataFrame({"onset": [1010.0], "duration": [5.0]})
    s = score_events(ann, df, DAY)
    assert (s.n_reference, s.tp, s.fp) == (1, 1, 0)


def test_subject_pooling_then_average():
    items = [
        # subject A: two 12 h recordings, one seizure each; one detected, one FP in total.
        {
            "subject": "A",
            "reference": [[1000, 1060]],
            "hypothesis": [[1010, 1020]],
            "duration": DAY / 2,
        },
        {
            "subject": "A",
            "reference": [[1000, 1060]],
            "hypothesis": [[9000, 9010]],
            "duration": DAY / 2,
        },
        # subject B: 24 h, two seizures both detected, no FP.
        {
            "subject": "B",
            "reference": [[1000, 1060], [5000, 5060]],
            "hypothesis": [[1000, 1010], [5000, 5010]],
            "duration": DAY,
        },
    ]
    table = score_subjects(items).set_index("subject")
    assert table.loc["A", "sensitivity"] == pytest.approx(0.5)
    assert table.loc["A", "precision"] == pytest.approx(0.5)
    assert table.loc["A", "fa_per_24h"] == pytest.approx(1.0)  # 1 FP in 24 h pooled
    assert table.loc["A", "n_recordings"] == 2
    assert table.loc["B", "sensitivity"] == 1.0 and table.loc["B", "fa_per_24h"] == 0.0
    avg = average_over_subjects(table.reset_index())
    assert avg["sensitivity"] == pytest.approx(0.75)
    assert avg["precision"] == pytest.approx(0.75)
    assert avg["fa_per_24h"] == pytest.approx(0.5)
    assert avg["f1"] == pytest.approx((0.5 + 1.0) / 2)
    assert avg["latency_s"] == pytest.approx((10.0 + 0.0) / 2)


def test_event_score_addition():
    a = EventScore(1, 1, 1, 0, 100.0, [5.0])
    b = EventScore(2, 3, 1, 2, 300.0, [15.0])
    c = a + b
    assert (c.n_reference, c.tp, c.fp, c.duration_s) == (3, 2, 2, 400.0)
    assert c.latency_s == 10.0


def test_sample_auroc_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = rng.random(200) + 0.5 * y
    assert sample_auroc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert np.isnan(sample_auroc(np.zeros(5), np.arange(5)))


def test_custom_tolerances():
    params = ScoringParams(pre_tolerance=0.0, post_tolerance=0.0, min_gap=0.0)
    s = score_events(REF, [[970.0, 980.0]], DAY, params)
    assert (s.tp, s.fp) == (0, 1)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: score_events([[10, 5]], [], DAY), DataFormatError, "offset >= onset"),
        (lambda: score_events([[1, 2, 3]], [], DAY), DataFormatError, "shape"),
        (lambda: score_events([], [], 0.0), DataFormatError, "duration"),
        (lambda: score_events(pd.DataFrame({"a": [1]}), [], DAY), DataFormatError, "columns"),
        (lambda: ScoringParams(pre_tolerance=-1.0), ConfigError, "pre_tolerance"),
        (lambda: ScoringParams(max_duration=0.0), ConfigError, "max_duration"),
        (lambda: sample_auroc([0, 1], [0.5]), DataFormatError, "same length"),
        (lambda: score_subjects([{"subject": "a"}]), DataFormatError, "keys"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
