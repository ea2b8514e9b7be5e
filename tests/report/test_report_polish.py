"""Report polish (issue 13, item 9), asserted on a produced report: metrics in words, folds named
by subject/session/run, units on amplitude axes, long tables collapsed (``<details>``), the note
on a permutation p at its floor 1/(n+1), and every preprocessing step in the provenance.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.report import Report, plot_data_summary
from neurodl.report.wording import amplitude_label, metric_label, permutation_p_note
from neurodl.workflows.tasks._report_labels import describe_folds, preprocessing_steps


# ------------------------------------------------------------------------------- the helpers
def test_metric_names_in_words():
    assert metric_label("balanced_accuracy") == "balanced accuracy"
    assert metric_label("roc_auc") == "ROC AUC"
    assert metric_label("r2") == "R²"
    assert metric_label("some_new_metric") == "some new metric"


def test_p_floor_note_only_at_the_floor():
    for n in (9, 99, 100, 1000):
        note = permutation_p_note((1 + 0) / (n + 1), n)  # no null score reached the observed one
        assert note == (
            f"p = 1/({n}+1): the smallest possible with {n} permutations; use more for a finer p"
        )
        assert permutation_p_note(2 / (n + 1), n) == ""  # one null score reached it: not the floor
    assert permutation_p_note(None, 100) == "" and permutation_p_note(0.01, None) == ""
    assert permutation_p_note(0.5, 0) == ""


def test_amplitude_axis_names_its_unit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3, 64)) * 1e-5, np.repeat([0, 1], 10)
    fig = plot_data_summary(X, y, sfreq=64.0, unit="V", groups=np.repeat(["a", "b"], 10))
    assert fig.axes[1].get_ylabel() == "amplitude (V)"
    assert "V²/Hz" in fig.axes[2].get_ylabel()
    fig = plot_data_summary(X, y, sfreq=64.0, group_label="subject, session", groups=y)
    assert fig.axes[1].get_ylabel() == amplitude_label(None) == "amplitude (unit unknown)"
    assert fig.axes[0].get_xlabel() == "subject, session"


def test_fold_labels_name_what_each_fold_tests():
    md = pd.DataFrame(
        {
            "subject": ["01"] * 6 + ["02"] * 6,
            "session": ["1", "1", "1", "2", "2", "2"] * 2,
            "run": ["1"] * 12,
        }
    )
    # leave-one-session-out: one fold per subject x session
    tests = [
        np.flatnonzero((md.subject == s) & (md.session == e))
        for s in ("01", "02")
        for e in ("1", "2")
    ]
    assert describe_folds(md, tests) == [
        "subject 01, session 1",
        "subject 01, session 2",
        "subject 02, session 1",
        "subject 02, session 2",
    ]
    # two folds inside one block: numbered; run does not vary, so it is not named
    two = [np.array([0, 1]), np.array([2])]
    assert describe_folds(md, two) == [
        "subject 01, session 1 (fold 1 of 2)",
        "subject 01, session 1 (fold 2 of 2)",
    ]
    # leave-one-run-out within one subject/session names the run
    runs = pd.DataFrame({"subject": ["001"] * 6, "session": ["0"] * 6, "run": list("445588")})
    folds = [np.flatnonzero(runs.run == r) for r in "458"]
    assert describe_folds(runs, folds) == ["run 4", "run 5", "run 8"]
    # nothing varies: plain fold numbers
    assert describe_folds(runs.iloc[:2], [np.array([0]), np.array([1])]) == ["fold 1", "fold 2"]


def test_preprocessing_steps_say_where_each_step_ran():
    steps = preprocessing_steps(
        [{"bandpass": {"l_freq": 6.0, "h_freq": 32.0}}, {"standardize": {}}],
        1,
        {"fmri_samples": {"kind": "volumes", "detrend": "linear", "standardize": True}},
    )
    names = [s["step"] for s in steps]
    assert names == [
        "fMRI samples (volumes)",
        "detrend",
        "standardise (z-score)",
        "bandpass",
        "standardize",
    ]
    assert "before the split" in steps[3]["applied"]
    assert "training samples only" in steps[4]["applied"]
    none = preprocessing_steps([], 0, {"fmri_samples": {"detrend": "none", "standardize": False}})
    assert [s["step"] for s in none] == ["fMRI samples (volumes)"]


def test_long_tables_show_the_top_rows_and_collapse_the_rest():
    rep = Report("t")
    rep.add_table([{"a": i} for i in range(25)], title="Long")
    rep.add_table([{"b": i} for i in range(3)], title="Short")
    html = rep.to_html()
    long_html = html[html.index("<h3>Long</h3>") : html.index("<h3>Short</h3>")]
    opened, collapsed = long_html.split("<details", 1)
    assert opened.count("<tr>") == 11  # header + the top 10 rows
    assert "Show the other 15 rows" in collapsed and collapsed.count("<tr>") == 16
    assert "<td>24</td>" in collapsed and "<td>9</td>" in opened
    assert "<details" not in html[html.index("<h3>Short</h3>") :]
    with pytest.raises(ValueError, match="'show_rows'"):
        rep.add_table([{"a": 1}], title="x", show_rows=0)


# --------------------------------------------------------------------- on a produced report
def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Simulated motor imagery, 2 subjects x 2 sessions, cross-session, CSP + LDA, 9 permutations."""
    tmp = tmp_path_factory.mktemp("polish")
    cfg = {
        "task": "decoding",
        "name": "polish",
        "seed": 0,
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {"n_subjects": 2, "n_sessions": 2, "n_trials": 30, "effect_size": 0.6},
        },
        "preprocessing": [{"bandpass": {"l_freq": 6.0, "h_freq": 32.0}}, {"standardize": {}}],
        "model": {"name": "csp_lda"},
        "evaluation": {
            "protocol": "cross-session",
            "metric": "balanced_accuracy",
            "n_permutations": 9,
            "n_boot": 100,
        },
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, _, err = _cli(["-q", "run", str(path), "--out", str(tmp / "out")])
    assert code == 0, err
    res = json.loads((tmp / "out" / "results.json").read_text())
    return res, (tmp / "out" / "report.html").read_text()


def _visible(html: str) -> str:
    """The report without its configuration block (which quotes the YAML keys as written)."""
    return re.sub(r'<pre class="code">.*?</pre>', "", html, flags=re.DOTALL)


def test_report_names_the_metric_in_words(small_run):
    res, html = small_run
    assert res["metric"] == "balanced_accuracy"  # results.json keeps the key
    body = _visible(html)
    assert '<div class="label">balanced accuracy</div>' in body
    assert "mean balanced accuracy" in body
    assert "balanced_accuracy" not in body and "BALANCED_ACCURACY" not in body


def test_report_folds_are_labelled_by_subject_and_session(small_run):
    res, html = small_run
    expected = [f"subject 0{s}, session {e}" for s in (1, 2) for e in (1, 2)]
    assert res["fold_labels"] == expected  # cross-session: one fold per held-out session
    # the misclassified-samples table names each sample's fold by what it tested
    errors = html[html.index("Misclassified test samples") :]
    assert "<th>test fold</th>" in errors and "<td>subject 0" in errors
    assert all(f"subject {b}" in html for b in res["block_scores"])


def test_report_collapses_the_long_error_table(small_run):
    res, html = small_run
    n_err = res["errors"]["n_errors"]
    assert n_err > 10  # enough errors to collapse
    errors = html[html.index("Misclassified test samples") :]
    errors = errors[: errors.index("</details>")]
    assert f"Show the other {min(n_err, len(res['errors']['rows'])) - 10} rows" in errors


def test_report_notes_the_p_floor(small_run):
    res, html = small_run
    # the planted effect beats every permutation: p sits at its floor, 1/(9+1)
    assert res["models"]["csp_lda"]["p_value"] == pytest.approx(0.1)
    note = "p = 1/(9+1): the smallest possible with 9 permutations; use more for a finer p"
    assert f'<div class="detail">{note}</div>' in html  # on the p-value card
    assert html.count(note) >= 3  # card, interpretation, null-distribution caption
    # a p at a floor above alpha is not read as "no better than chance"
    assert "9 permutations cannot give p &lt; 0.05" in html
    assert "is not distinguishable from chance" not in html


def test_report_provenance_lists_every_preprocessing_step(small_run):
    res, html = small_run
    assert [s["step"] for s in res["preprocessing_steps"]] == ["bandpass", "standardize"]
    prov = html[html.index("Preprocessing (every step, in order)") :]
    assert "<td>bandpass</td>" in prov and "<td>standardize</td>" in prov
    assert "inside each fold, fitted on the training samples only" in prov
    assert "l_freq=6.0" in prov and "h_freq=32.0" in prov


def test_epochs_carry_the_recording_unit_to_the_report():
    from neurodl.data import Annotations, Recording
    from neurodl.preprocessing import epochs_from_annotations

    rng = np.random.default_rng(0)
    ann = Annotations(onset=[1.0, 2.0, 3.0, 4.0], duration=[0.5] * 4, label=["a", "b"] * 2)
    rec = Recording(rng.normal(size=(2, 600)), sfreq=100.0, units=["µV", "µV"], annotations=ann)
    ds = epochs_from_annotations(rec, ["a", "b"], 0.0, 0.4)
    assert ds.info["unit"] == "µV"
    mixed = Recording(rng.normal(size=(2, 600)), 100.0, units=["V", "T"], annotations=ann)
    assert epochs_from_annotations(mixed, ["a", "b"], 0.0, 0.4).info["unit"] == "T, V"
