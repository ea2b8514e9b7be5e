"""
Latent dynamics of a simulated population
=========================================

Poisson spiking of 50 neurons driven by 3 latent variables that rotate (as in reaching), with a
different starting state per condition. Latent-variable models infer low-dimensional
trajectories from the spikes alone; since the truth is known, each model is scored by how well
its latents map onto the true ones on held-out trials
(:func:`~neurodl.analyses.dynamics.latent_r2`). The config-file version is the ``latents``
task (``examples/latents_simulated.yaml``, with LFADS beside these baselines).
"""

# %%
# Spikes from known latents
# -------------------------
import matplotlib.pyplot as plt
import numpy as np

from neurodl.analyses.dynamics import FactorAnalysisLatents, PCALatents, latent_r2
from neurodl.data.simulate import simulate_latent_population

pop = simulate_latent_population(n_neurons=50, n_trials=120, n_bins=50, seed=0)
print(pop.counts.shape, "true latents:", pop.latents.shape)

# %%
# Two baselines, scored on held-out trials
# ----------------------------------------
# Each model is fitted on the first 80 trials; the affine map from its latents to the true
# ones is fitted on those too and scored on the remaining 40.
train = np.arange(80)
inferred = {}
for name, model in (("PCA", PCALatents(n_components=3)), ("FA", FactorAnalysisLatents(3))):
    model.fit(pop.counts[train])
    inferred[name] = model.transform(pop.counts)
    print(f"{name}: held-out latent R^2 {latent_r2(inferred[name], pop.latents, train=train):.3f}")

# %%
# Condition-averaged trajectories: truth and factor analysis
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), layout="constrained")
for ax, (title, z) in zip(axes, (("true latents", pop.latents), ("FA latents", inferred["FA"]))):
    for c in np.unique(pop.conditions):
        mean = z[pop.conditions == c].mean(0)
        ax.plot(mean[:, 0], mean[:, 1], color=plt.cm.twilight(c / pop.conditions.max()))
        ax.plot(*mean[0, :2], "o", color="k", ms=3)
    ax.set(title=title, xlabel="dim 1", ylabel="dim 2")
