"""
Attribution maps against a known answer, with sanity checks
===========================================================

Simulated EEG whose class signal sits on known channels and times, plus *suppressor* channels
that record the sources' noise and no class signal: a good decoder uses them (to cancel the
noise), so a map of the decoder's weights lights them up although they carry no signal. We fit
a small network and shrinkage LDA, compute each attribution method's map on held-out trials,
score it against the truth, and run the randomisation checks of Adebayo et al. (2018): a map
that barely changes when the model's weights are randomised explains the input, not the model.
The config-file version is the ``attribution_sanity`` task
(``examples/attribution_sanity_simulated.yaml``).
"""

# %%
# Data with a planted truth, two models
# -------------------------------------
import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodl.analyses.interpret import attribution_study
from neurodl.data.attribution_sim import simulate_attribution_eeg
from neurodl.estimators import NeuralClassifier
from neurodl.report.figures.attribution import plot_attribution_maps

ds = simulate_attribution_eeg(n_trials=2000, n_channels=8, sfreq=32.0, seed=0)
truth = ds.info["ground_truth"]
print(
    ds.X.shape, "sources:", truth["source_channels"], "suppressors:", truth["suppressor_channels"]
)


def flatten(X):
    """(n, n_chans, n_times) -> (n, n_chans * n_times) for the linear model."""
    return np.asarray(X).reshape(len(X), -1)


network = NeuralClassifier(
    "mlp", {"n_hidden": 32}, max_epochs=15, lr=0.003, validation_fraction=0.0, random_state=0
)
linear = make_pipeline(
    FunctionTransformer(flatten), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
)

# %%
# Every method's map, its score against the truth and its checks
# --------------------------------------------------------------
# ``mass_sources`` is the fraction of the map's mass on the true source channels,
# ``mass_suppressors`` on the suppressors; the verdict is ``fail`` when the map survives model
# or label randomisation (rank correlation above the threshold).
study = attribution_study(
    ds,
    network,
    linear,
    network_methods=["integrated_gradients", "saliency"],
    n_splits=2,
    n_explain=100,
    n_check_samples=50,
    n_seeds=1,
    cascade=False,
)
for m in study.methods:
    s = m.scores
    print(
        f"{m.model:>8s} {m.method:>24s}: sources {s['mass_sources']:.2f}, "
        f"suppressors {s['mass_suppressors']:.2f}, verdict {m.verdict}"
    )

fig = plot_attribution_maps(
    {f"{m.model}: {m.method}": m.map for m in study.methods},
    ds.ch_names,
    times=np.arange(ds.X.shape[-1]) / ds.sfreq,
    sources=truth["source_channels"],
    suppressors=truth["suppressor_channels"],
    window=tuple(truth["window"]),
    verdicts={f"{m.model}: {m.method}": m.verdict for m in study.methods},
)
