"""
A biomarker with the subject as the unit: site effects and harmonisation
========================================================================

A simulated multi-site cohort (one feature vector per subject) with a planted group effect on
5 of 20 features, strong additive site offsets, and a site where patients are more frequent
than elsewhere, so that the site itself predicts the diagnosis. We decode the diagnosis across
sites (leave-one-site-out), with and without ComBat harmonisation fitted inside each training
fold, check how well the site can still be read from the features, and test the classifier
with permutations of the labels within sites. The config-file version is the ``biomarker``
task.
"""

# %%
# The cohort
# ----------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from neurodl.analyses.biomarkers import (
    ComBat,
    SubjectPipeline,
    effect_sizes,
    simulate_cohort,
    site_decodability,
    subject_cross_validate,
    subject_permutation_test,
)

cohort = simulate_cohort(
    n_subjects=120,
    n_features=20,
    n_sites=3,
    group_effect=0.8,
    site_shift=1.0,
    site_label_imbalance=0.6,
    seed=0,
)
print(cohort.X.shape, "informative features:", cohort.info["informative"])

# %%
# Can the site be read from the features, before and after ComBat?
for label, harmonizer in (("raw", None), ("ComBat", ComBat())):
    site = site_decodability(cohort.X, cohort.sites, harmonizer=harmonizer)
    print(
        f"site decodable from {label} features: {site['balanced_accuracy']:.2f} "
        f"(chance {site['chance']:.2f})"
    )

# %%
# Diagnosis across sites, everything fitted inside the folds
# ----------------------------------------------------------
pipelines = {
    "raw": SubjectPipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]),
    "ComBat": SubjectPipeline(
        [("combat", ComBat()), ("scale", StandardScaler()), ("lr", LogisticRegression())]
    ),
}
for label, pipe in pipelines.items():
    cv = subject_cross_validate(pipe, cohort, "leave-one-site-out")
    print(f"{label:>7s}: balanced accuracy {cv.cv.score:.3f} over {len(cv.cv.scores)} sites")

perm = subject_permutation_test(
    pipelines["ComBat"], cohort, "leave-one-site-out", n_permutations=50, within_site=True
)
n_perm = len(perm.null_distribution)
print(f"ComBat pipeline: p = {perm.p_value:.3f} ({n_perm} permutations within sites)")

# %%
# Which features differ between the groups? Effect sizes with FDR
# ---------------------------------------------------------------
es = effect_sizes(cohort.X, cohort.y)
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
x = np.arange(len(es["hedges_g"]))
planted = np.isin(x, cohort.info["informative"])
ax.errorbar(
    x,
    es["hedges_g"],
    yerr=[es["hedges_g"] - es["g_low"], es["g_high"] - es["hedges_g"]],
    fmt="none",
    color="0.6",
)
ax.scatter(x[planted], es["hedges_g"][planted], color="C3", label="planted effect", zorder=3)
ax.scatter(x[~planted], es["hedges_g"][~planted], color="C0", label="no effect", zorder=3)
ax.axhline(0, color="k", lw=1)
ax.set(xlabel="feature", ylabel="Hedges' g (95% CI)")
ax.legend(fontsize=8)
