"""
Decode a subject the model has never seen: alignment without labels
===================================================================

Across subjects, EEG covariance structure differs (head shape, electrode impedance, anatomy),
so a decoder trained on some subjects often fails on a new one. Euclidean alignment (He & Wu
2019) whitens each subject's trials by that subject's own mean covariance: it uses the new
subject's *unlabelled* trials, which a leave-one-subject-out evaluation must allow explicitly
(``unlabelled_test_data=True``) and records. In a config this is the ``evaluation.adaptation``
section of the ``decoding`` task (see the config reference).
"""

# %%
# Leave-one-subject-out, with and without alignment
# -------------------------------------------------
import matplotlib.pyplot as plt

from neurodl.analyses.decoding import decode
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.estimators import make_estimator
from neurodl.evaluation import adapt_dataset

ds = simulate_motor_imagery(n_subjects=5, n_sessions=1, n_trials=60, seed=1)
aligned, record = adapt_dataset(
    ds, [{"name": "euclidean_alignment", "by": "subject"}], unlabelled_test_data=True
)
print(record["test_data_used"])

scores = {}
for label, data in (("raw", ds), ("aligned", aligned)):
    res = decode(make_estimator("csp_lda"), data, "leave-one-subject-out", n_boot=0)
    scores[label] = res.main_scores.cv.block_scores
    print(f"{label:>8s}: {res.score:.3f}")

# %%
# Each held-out subject, before and after alignment
subjects = sorted(scores["raw"])
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
for s in subjects:
    ax.plot([0, 1], [scores["raw"][s], scores["aligned"][s]], marker="o", color="0.5")
ax.axhline(0.5, ls="--", color="k", lw=1)
ax.set(
    xticks=[0, 1],
    xticklabels=["raw", "Euclidean alignment"],
    xlim=(-0.3, 1.3),
    ylabel="balanced accuracy (held-out subject)",
)
