"""
Keep subject codes and machine paths out of what you share
==========================================================

Pseudonymise subject codes before an analysis sees them (reproducible pseudonyms from a secret
key), and keep absolute machine paths out of results and reports.
"""

# %%
# Pseudonyms for subject codes
# ----------------------------
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.privacy import pseudonymise_subjects, redact_paths

ds = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=10, seed=0)
print("before:", sorted(ds.metadata["subject"].unique()))
private, mapping = pseudonymise_subjects(ds, key="a secret kept with the study, not the data")
print("after: ", sorted(private.metadata["subject"].unique()))
print("the map, stored apart from shared results:", mapping)

# %%
# No machine paths in what is written
# -----------------------------------
text = "model read from /home/alice/study/sub-01/eeg.edf; results in /srv/lab/runs/7"
print(redact_paths(text))
