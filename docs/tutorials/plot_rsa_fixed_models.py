"""
Which model explains human IT? RSA with fixed models (92 images)
================================================================

The 92-image data of Kriegeskorte et al. (2008): representational dissimilarity matrices (RDMs)
of human inferior temporal cortex (4 subjects) and of 8 fixed models (animacy, category
structure, monkey IT, HMAX, V1, silhouette, ...). :func:`~neurodl.analyses.rsa.evaluate_models`
compares each model with each subject, bootstraps the images for intervals and pairwise tests,
and puts the noise ceiling beside the scores. Reads the shared data under ``NEURODL_DATA``
(``fmri/kriegeskorte92``). The config-file version is the ``rsa_fixed_models`` task
(``examples/rsa92_fixed_models.yaml``).
"""

# %%
# The RDMs
# --------
import os
from pathlib import Path

from neurodl.analyses.rsa import evaluate_models, read_kriegeskorte92
from neurodl.report.figures import plot_model_comparison, plot_rdms

data_root = Path(os.environ.get("NEURODL_DATA", "../shared/data"))
k92 = read_kriegeskorte92(data_root / "fmri" / "kriegeskorte92")
hit = k92["hIT"].average_by("subject")  # one RDM per subject (sessions averaged)
models = k92["models"]
print(f"{hit.n_rdms} subject RDMs of {hit.n_conditions} images; models: {models.names}")

fig_rdms = plot_rdms(models)

# %%
# Models against the subjects, with inference
# -------------------------------------------
# Pearson correlation between RDMs; 200 bootstrap resamples of the images (the config example
# uses 1000) for intervals and pairwise tests with FDR correction.
result = evaluate_models(models, hit, method="pearson", bootstrap="conditions", n_bootstrap=200)
for name, score in sorted(zip(result.model_names, result.scores), key=lambda p: -p[1]):
    print(f"{name:>24s}: {score:.3f}")
print("noise ceiling:", result.noise_ceiling)

fig = plot_model_comparison(result)
