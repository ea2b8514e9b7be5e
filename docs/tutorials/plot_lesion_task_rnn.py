"""
Lesion a task RNN: which units does the decision need?
======================================================

A leaky rate RNN trained on a perceptual decision (noisy evidence for left or right, answer
after the stimulus), then lesioned without touching its code: each hidden unit silenced alone
(:func:`~neurodl.analyses.perturb.unit_importance`), then the most important units silenced
together beside random sets of the same size (:func:`~neurodl.analyses.perturb.lesion_curve`).
If a few units carry the decision, targeted lesions hurt far more than random ones. The
config-file version is the ``perturbation`` task (``examples/lesion_context_integration.yaml``).
"""

# %%
# Train the network
# -----------------
from neurodl.analyses.perturb import lesion_curve, unit_importance
from neurodl.data.cognitive import perceptual_decision_making
from neurodl.estimators import choice_accuracy, predict_task, train_task_model
from neurodl.models.task_rnn import build_task_model
from neurodl.report.figures import plot_dose_response

train = perceptual_decision_making(600, dt=20, seed=0)
test = perceptual_decision_making(300, dt=20, seed=1)
model = build_task_model(
    "leaky_rnn",
    n_inputs=train.inputs.shape[-1],
    n_outputs=train.targets.shape[-1],
    n_hidden=32,
    tau=100,
    dt=20,
    seed=0,
)
fit = train_task_model(model, train, max_epochs=20, lr=0.01, random_state=0)


def accuracy(net):
    """Held-out choice accuracy of ``net`` (what every lesion is scored by)."""
    outputs, _ = predict_task(net, test)
    return choice_accuracy(outputs, test)


print(f"intact held-out accuracy {accuracy(model):.3f} (chance 0.5)")

# %%
# Single-unit lesions
# -------------------
# The per-step module ``cell`` outputs the hidden state: its units are the ones silenced.
table = unit_importance(model, accuracy, "cell")
print(table.head())

# %%
# Targeted vs random lesions
# --------------------------
curve = lesion_curve(
    model, accuracy, "cell", list(table["unit"]), [1, 2, 4, 8, 16], n_random=10, seed=0
)
print(curve.round(3))
fig = plot_dose_response(
    curve["size"],
    {
        "targeted (most important first)": (curve["targeted"], None, None),
        "random sets": (curve["random_mean"], curve["random_low"], curve["random_high"]),
    },
    ylabel="held-out accuracy",
    chance=0.5,
    title="Lesions of the hidden layer",
)
