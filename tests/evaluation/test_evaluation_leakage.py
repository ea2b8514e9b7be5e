"""The leakage guard refuses leaky splits and lets clean ones through."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import KFold

from neurodl.data import EpochsDataset
from neurodl.evaluation import check_no_leakage, cross_validate, get_protocol
from neurodl.exceptions import LeakageError


def sliding_windows(n_recordings=2, n_windows=20, window_s=2.0, step_s=1.0, seed=0):
    """Overlapping sliding windows; each window is its own segment (the leaky default)."""
    rows = []
    for r in range(n_recordings):
        for k in range(n_windows):
            rows.append(
                {
                    "subject": f"S{r}",
                    "recording": f"rec{r}",
                    "segment": f"rec{r}_w{k}",
                    "onset": k * step_s,
                    "trial": k,
                }
            )
    n = len(rows)
    y = np.array([(k // 2) % 2 for r in range(n_recordings) for k in range(n_windows)])
    X = np.random.default_rng(seed).normal(size=(n, 3)) + y[:, None]
    return EpochsDataset(X, y, pd.DataFrame(rows), info={"window_s": window_s})


def test_plain_kfold_on_overlapping_windows_is_refused():
    ds = sliding_windows()
    train, test = next(KFold(5, shuffle=True, random_state=0).split(ds.X))
    with pytest.raises(LeakageError, match=r"recording 'rec\d' overlap training windows") as exc:
        check_no_leakage(ds, train, test)
    assert "window 2 s" in str(exc.value) and "test " in str(exc.value)


def test_subject_on_both_sides_is_refused_with_column_values_and_counts():
    ds = sliding_windows(n_recordings=3)
    subj = ds.groups("subject")
    train = np.flatnonzero(subj != "S0")
    test = np.flatnonzero(subj == "S0")
    check_no_leakage(ds, train, test, group_by=("subject",), check_overlap=False)  # clean LOSO
    leaky_test = np.concatenate([test, train[:3]])  # three samples of S1 also tested
    leaky_train = train[3:]
    with pytest.raises(LeakageError, match=r"column 'subject'.*'S1' \(train 17, test 3\)"):
        check_no_leakage(ds, leaky_train, leaky_test, group_by="subject", check_overlap=False)


def test_same_index_on_both_sides_is_refused():
    ds = sliding_windows()
    with pytest.raises(LeakageError, match=r"1 sample index\(es\).*\[4\]"):
        check_no_leakage(ds, [1, 2, 4], [4, 5], group_by=None, check_overlap=False)


def test_touching_windows_and_other_recordings_do_not_count_as_overlap():
    ds = sliding_windows(step_s=2.0)  # windows end exactly where the next begins
    rec = ds.groups("recording")
    train, test = np.arange(0, 10), np.arange(10, 20)  # rec0 first half vs second half
    check_no_leakage(ds, train, test)
    # overlapping windows in *different* recordings are fine
    ds2 = sliding_windows(step_s=1.0)
    check_no_leakage(ds2, np.flatnonzero(rec == "rec0"), np.flatnonzero(rec == "rec1"))
    # without window length the overlap check is skipped
    ds3 = EpochsDataset(ds2.X, ds2.y, ds2.metadata)
    check_no_leakage(ds3, np.arange(0, 10), np.arange(10, 20))


def test_cross_validate_refuses_segment_folds_on_overlapping_windows():
    ds = sliding_windows()
    lda = LinearDiscriminantAnalysis()
    with pytest.raises(LeakageError, match="overlap"):
        cross_validate(lda, ds, get_protocol("grouped-kfold", n_splits=4, group_by="segment"))
    with pytest.raises(LeakageError, match="overlap"):
        cross_validate(lda, ds, get_protocol("blocked-timeseries", n_splits=3, gap=0))
    # grouped by recording, or a gap of one window, is clean
    res = cross_validate(lda, ds, get_protocol("grouped-kfold", n_splits=2, group_by="recording"))
    assert res.n_folds == 2
    res = cross_validate(lda, ds, get_protocol("blocked-timeseries", n_splits=3, gap=1))
    assert res.n_folds == 3


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([0, 1], [25.5]), {}, ValueError, "'test_idx' must be a 1-D array of integer"),
        (([0, 1], [99]), {}, ValueError, r"'test_idx' holds indices outside \[0, 40\)"),
        ((np.ones(3, bool), [2]), {}, ValueError, r"Boolean 'train_idx' must have shape \(40,\)"),
        (([0], [1]), {"group_by": "site"}, ValueError, "Unknown metadata column.*'site'"),
    ],
)
def test_bad_guard_inputs_table(args, kwargs, error, match):
    ds = sliding_windows()
    with pytest.raises(error, match=match):
        check_no_leakage(ds, *args, **kwargs)


def test_guard_rejects_bad_window_and_non_dataset():
    ds = sliding_windows()
    ds.info["window_s"] = "two"
    with pytest.raises(ValueError, match=r"window_s.*'two'"):
        check_no_leakage(ds, [0], [1])
    with pytest.raises(TypeError, match="EpochsDataset; got list"):
        check_no_leakage([1, 2], [0], [1])
