"""
Encoding model: which voxels respond to the stimuli?
====================================================

A simulated block-design fMRI experiment (4 categories, 6 runs) in which a region of interest
responds to the stimuli. A finite-impulse-response (FIR) design of the category labels predicts
every voxel with ridge regression, the penalty chosen per voxel by an inner cross-validation
(:class:`~neurodl.analyses.encoding.ridge.RidgeCVPerTarget`); each run is predicted by a model
fitted on the other runs. The voxels that are predicted well should be the planted region.
The config-file version is the ``encoding`` task (``examples/haxby_encoding.yaml``).
"""

# %%
# Data and design
# ---------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score

from neurodl.analyses.encoding.fir import fir_design
from neurodl.analyses.encoding.ridge import RidgeCVPerTarget
from neurodl.data.simulate import simulate_fmri
from neurodl.report.figures import plot_brain_slices

volumes = simulate_fmri(n_runs=6, seed=0)
labels = volumes.info["volume_labels"]
Y = volumes.masked().T  # (n_volumes, n_voxels)
runs = labels["run"].to_numpy()
design, names = fir_design(labels["label"], n_delays=6, runs=runs)
print(Y.shape, design.shape, names[:4])

# %%
# Leave-one-run-out predictions
# -----------------------------
# Voxels are z-scored within each run (the simulated drift differs by run).
Y = (Y - Y.mean(0)) / Y.std(0)
r2 = np.zeros((len(np.unique(runs)), Y.shape[1]))
for i, run in enumerate(np.unique(runs)):
    train, test = runs != run, runs == run
    model = RidgeCVPerTarget(alphas=np.logspace(-1, 4, 11))
    model.fit(design[train], Y[train], groups=runs[train])
    r2[i] = r2_score(Y[test], model.predict(design[test]), multioutput="raw_values")
score = r2.mean(0)

roi = volumes.info["ground_truth"]["roi"][volumes.mask]
print(f"held-out R^2: planted region {score[roi].mean():.3f}, elsewhere {score[~roi].mean():.3f}")

# %%
# Held-out R^2 on the brain, beside the planted region
fig = plot_brain_slices(
    volumes.unmask(score, fill=np.nan), title="held-out R^2 per voxel", n_slices=4
)
fig_truth, ax = plt.subplots(figsize=(4, 3), layout="constrained")
ax.hist([score[roi], score[~roi]], bins=30, label=["planted region", "other voxels"])
ax.set(xlabel="held-out R^2", ylabel="voxels")
ax.legend()
