"""
Decode simulated EEG: a small network beside a classical baseline
=================================================================

The main job of neurodl, in Python: a simulated motor-imagery study (left vs right hand, the
effect planted in the mu/beta band), decoded within each session by a small network (a
perceptron on log band power) and, on the same splits, by shrinkage LDA. Each model gets its
own score, confidence interval and permutation p-value, and the two are compared on the same
splits. The config-file version is ``neurodl demo`` (task ``decoding``).
"""

# %%
# Simulated data with a known effect
# ----------------------------------
# :func:`~neurodl.data.simulate.simulate_motor_imagery` returns an
# :class:`~neurodl.data.EpochsDataset`: ``X`` of shape (n_epochs, n_channels, n_times), labels
# ``y`` and a metadata table (subject, session) that the evaluation protocols group by.
import matplotlib.pyplot as plt
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodl.analyses.decoding import decode
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.estimators import make_estimator
from neurodl.preprocessing import LogBandPower
from neurodl.report.figures import plot_fold_scores

ds = simulate_motor_imagery(n_subjects=2, n_sessions=1, n_trials=60, seed=0)
print(ds.X.shape, ds.metadata[["subject", "session"]].drop_duplicates().to_dict("records"))

# %%
# Two models on the same features
# -------------------------------
# Log band power in three bands per channel, standardised inside each training fold, then
# either a one-hidden-layer network or shrinkage LDA. ``make_estimator`` builds any registered
# model with the shared training vocabulary (``max_epochs``, ``lr``, ``random_state``, ...).
bands = [(8.0, 13.0), (13.0, 20.0), (20.0, 30.0)]


def features():
    return [LogBandPower(sfreq=ds.sfreq, bands=bands), StandardScaler()]


network = make_pipeline(
    *features(),
    make_estimator("mlp", n_hidden=16, max_epochs=20, lr=0.01, validation_fraction=0.0),
)
baseline = make_pipeline(*features(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))

# %%
# Cross-validation with statistics that belong to each model
# ----------------------------------------------------------
# ``within-session`` splits each session's trials into folds (every split is checked for
# leakage); the permutation test permutes labels within sessions and refits the model.
result = decode(
    network,
    ds,
    "within-session",
    baseline=baseline,
    name="mlp",
    baseline_name="lda",
    n_permutations={"lda": 50},
    n_boot=500,
)
for name, scores in result.models.items():
    print(f"{name}: {scores.score:.3f} CI [{scores.ci[0]:.3f}, {scores.ci[1]:.3f}]")
print("p-value of the LDA baseline:", result.models["lda"].permutation.p_value)
print(result.comparison.verdict())

# %%
# The fold scores of both models, on the same splits (one line per split), and the network's
# scores with its interval (:func:`~neurodl.report.figures.plot_fold_scores`, the figure the
# report shows)
mlp, lda = result.models["mlp"].cv.scores, result.models["lda"].cv.scores
fig_pairs, ax = plt.subplots(figsize=(4, 3.5), layout="constrained")
ax.plot([0, 1], [lda, mlp], color="0.6", marker="o")
ax.axhline(result.chance_level, ls="--", color="k", lw=1, label="chance")
ax.set(xticks=[0, 1], xticklabels=["lda", "mlp"], ylabel="balanced accuracy", xlim=(-0.3, 1.3))
ax.legend(loc="lower right")

fig_network = plot_fold_scores(
    mlp,
    metric="balanced accuracy",
    chance_level=result.chance_level,
    ci=result.models["mlp"].ci,
)
