"""
Your own data: from MNE epochs files to a decoding report
=========================================================

A study saved the way MNE users save it (one ``-epo.fif`` file per subject, events named
``left`` and ``right``) decoded across subjects in three steps: ``neurodl init`` writes a
commented config from what it finds in the files, ``neurodl run`` runs it unedited, and the same
epochs go straight into :func:`~neurodl.evaluation.cross_validate` from Python. The files here
are simulated so that the tutorial needs no data; point the same calls at your own files.
"""

# %%
# Three subjects' epochs, saved with MNE
# --------------------------------------
# :func:`~neurodl.data.simulate.simulate_motor_imagery` plants a left/right difference in the
# mu and beta bands; :meth:`~neurodl.data.EpochsDataset.to_mne` turns each subject's trials into
# an :class:`mne.Epochs` (channel types, ``tmin``, event names and montage kept), saved as a
# ``-epo.fif`` file with a BIDS-style name (the subject comes from ``sub-XX``).
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne

from neurodl.data.simulate import simulate_motor_imagery
from neurodl.estimators import make_estimator
from neurodl.evaluation import cross_validate
from neurodl.workflows import load_config, run_config
from neurodl.workflows.starter import starter_config

folder = Path(tempfile.mkdtemp())
study = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=40, effect_size=0.7, seed=0)
for subject in sorted(study.metadata["subject"].unique()):
    one = study.subset((study.metadata["subject"] == subject).to_numpy())
    one.to_mne().save(folder / f"sub-{subject}_task-mi-epo.fif", verbose="error")
files = sorted(folder.glob("sub-*_task-mi-epo.fif"))
print([f.name for f in files])

# %%
# ``neurodl init``: a starter config from the files
# -------------------------------------------------
# On the command line: ``neurodl init --data sub-*_task-mi-epo.fif --out mine.yaml``. It reads
# the first file, lists the events with their counts, chooses a model for the epoch length and a
# protocol from the file names (three subjects: leave-one-subject-out) and says why in comments.
text = starter_config(files, n_permutations=19)
print(text)

# %%
# ``neurodl run``: the config as written
# --------------------------------------
# ``neurodl run mine.yaml --out results/`` does the same as :func:`~neurodl.workflows.run_config`
# (``results.json`` and ``report.html`` go to the output folder; here none is written). Every
# fold is checked for leakage, each model gets its own score, interval and p-value, and the
# baseline is compared with the main model on the same folds.
config = folder / "mine.yaml"
config.write_text(text)
run = run_config(load_config(config))
for line in run.result.summary_lines():
    print(line)

# %%
# The same epochs from Python
# ---------------------------
# :func:`~neurodl.evaluation.cross_validate` takes an :class:`mne.Epochs` as it is (events become
# the labels), here CSP + LDA within the first subject's file.
epochs = mne.read_epochs(files[0], verbose="error")
cv = cross_validate(make_estimator("csp_lda"), epochs, "within-session")
print(f"CSP + LDA within the first subject: {cv.score:.3f} over {cv.n_folds} folds")

fig, ax = plt.subplots(figsize=(4.5, 3), layout="constrained")
ax.bar(range(run.result.n_splits), run.result.fold_scores, color="0.4")
ax.axhline(run.result.chance_level, ls="--", color="k", lw=1, label="chance")
ax.set(
    xticks=range(run.result.n_splits),
    xticklabels=run.result.fold_labels or None,
    ylabel="balanced accuracy",
    title="held-out subject",
)
ax.legend(loc="lower right")
