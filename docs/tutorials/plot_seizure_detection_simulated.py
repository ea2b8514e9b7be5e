"""
Detect seizures in simulated continuous EEG
===========================================

Continuous recordings with planted seizures (rhythmic spike-and-wave discharges that build up
and spread) and artefacts that mimic them (blinks, muscle bursts, electrode pops, flat
segments). A window classifier makes a probability trace, post-processing tuned on the
training subjects only turns it into events, and events are scored as SzCORE defines it,
leave-one-subject-out. The config-file version is the ``seizure`` task
(``examples/seizure_simulated.yaml``).
"""

# %%
# Recordings with a known truth
# -----------------------------
# :func:`~neurodl.data.simulate.simulate_continuous_seizures` returns one
# :class:`~neurodl.data.Recording` per subject; seizures are annotations, artefacts are not.
from neurodl.analyses.seizure import SeizureDetector, evaluate_loso
from neurodl.data.simulate import simulate_continuous_seizures
from neurodl.report.figures import plot_event_timeline, plot_probability_trace

recordings = simulate_continuous_seizures(
    n_subjects=3, duration_hours=0.5, n_channels=6, seizures_per_hour=4.0, seed=0
)
for rec in recordings:
    print(rec.subject, rec.data.shape, f"{len(rec.annotations)} seizures")

# %%
# A detector, evaluated leave-one-subject-out
# -------------------------------------------
# Line length and (relative) band power per channel in 4 s windows, logistic regression, and a
# small grid of post-processing settings tuned on the training subjects' out-of-fold traces.
detector = SeizureDetector(
    window=4.0,
    stride=2.0,
    estimator="logistic_regression",
    grid={"smooth": [1, 5], "threshold": [0.5, 0.8], "min_duration": [0, 10], "merge_gap": [0]},
    inner_splits=2,
)
evaluation = evaluate_loso(recordings, detector)
print({k: round(v, 3) for k, v in evaluation.summary.items() if isinstance(v, float)})
print(evaluation.per_subject[["subject", "sensitivity", "precision", "fa_per_24h", "auroc"]])

# %%
# Reference and detected events on the held-out subjects, and one probability trace
fig_events = plot_event_timeline(
    [
        {
            "label": f"subject {t['subject']}",
            "duration": t["duration"],
            "reference": t["reference"],
            "hypothesis": t["hypothesis"],
        }
        for t in evaluation.traces
    ]
)
trace = evaluation.traces[0]
chosen = trace["postprocessing"]  # tuned on the other subjects
print("post-processing chosen for subject", trace["subject"], chosen)
fig_trace = plot_probability_trace(trace, chosen["threshold"], chosen["smooth"])
