"""
Train a task RNN and find its fixed points (flip-flop)
======================================================

A GRU trained on the 3-bit flip-flop (Sussillo & Barak 2013): three input lines send +1/-1
pulses and each output holds the sign of its line's last pulse. A network that solves it needs
one stable state per memory (2**3 = 8) at zero input. We train a small one, search for the
fixed points of its update with :func:`~neurodl.analyses.rnn_dynamics.find_fixed_points` and
classify them from the eigenvalues of their Jacobians. The config-file version is the
``task_model`` task (``examples/rnn_flipflop_fixed_points.yaml``).
"""

# %%
# Trials and a network
# --------------------
# :func:`~neurodl.data.cognitive.flip_flop` returns :class:`~neurodl.data.cognitive.TaskTrials`
# (``inputs`` of shape (n_trials, n_steps, n_inputs), ``targets``, a loss ``mask`` and a trial
# table). The model comes from :func:`~neurodl.models.task_rnn.build_task_model`.
import matplotlib.pyplot as plt
import numpy as np
import torch

from neurodl.analyses.rnn_dynamics import find_fixed_points, pca_trajectories, sample_states
from neurodl.data.cognitive import flip_flop
from neurodl.estimators import predict_task, train_task_model
from neurodl.models.task_rnn import build_task_model
from neurodl.report.figures import plot_fixed_points

train = flip_flop(400, dt=20, duration_ms=1000, seed=0)
test = flip_flop(100, dt=20, duration_ms=1000, seed=1)
print(train.inputs.shape, train.input_names, train.output_names)

model = build_task_model("gru", n_inputs=3, n_outputs=3, n_hidden=24, seed=0)


def sign_accuracy(outputs, trials):
    """Fraction of the masked steps where the output has the target's sign."""
    keep = trials.mask > 0
    return float((np.sign(outputs[keep]) == np.sign(trials.targets[keep])).mean())


fit = train_task_model(
    model, train, max_epochs=25, lr=0.01, accuracy_fn=sign_accuracy, random_state=0
)
outputs, hidden = predict_task(model, test)
print(f"held-out sign accuracy {sign_accuracy(outputs, test):.3f} (chance 0.5)")

# %%
# Fixed points at zero input
# --------------------------
# The search starts from states the network visited (plus a little noise) and minimises
# ``q = 0.5 ||F(h, 0) - h||^2`` over ``h``, where ``F`` is one step of the network
# (``model.step``). The search runs in float64, the model in float32.


def update(h, x):
    return model.step(h.float(), x.float()).double()


starts = sample_states(hidden, 128, noise=0.02, seed=0)
with torch.enable_grad():
    fps = find_fixed_points(update, starts, inputs=np.zeros(3), max_iters=800, tol_q=1e-7)
print(fps.counts())

fig_spectra = plot_fixed_points(list(fps.eigenvalues), list(fps.stability))

# %%
# Where the fixed points lie among the trajectories
# -------------------------------------------------
# Held-out hidden states projected on their top two principal components; the stable points
# should sit at the corners the memories occupy.

memory = np.sign(test.targets[:, -1, :]) @ np.array([4, 2, 1])  # the final 3-bit state
traj = pca_trajectories(hidden, memory, n_components=2)
points = (fps.points - traj.mean) @ traj.components.T
fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
flat = (hidden.reshape(-1, hidden.shape[-1]) - traj.mean) @ traj.components.T
ax.plot(flat[:, 0], flat[:, 1], ".", ms=1, color="0.75", label="visited states")
for kind, marker in (("stable", "o"), ("saddle", "x"), ("unstable", "^")):
    sel = fps.stability == kind
    if sel.any():
        ax.plot(points[sel, 0], points[sel, 1], marker, ms=8, label=f"{kind} ({sel.sum()})")
ax.set(xlabel="PC 1", ylabel="PC 2", title="Fixed points at zero input")
ax.legend(fontsize=8)
