"""Result fields shared by the tasks that train a network with
:func:`~neurodl.workflows.tasks.task_model.train_network` (``task_model``, ``perturbation``).
"""

from __future__ import annotations

from typing import Any

from ._dynamics_common import array_hash, versions

__all__ = ["network_result_fields", "psychometric_summary"]


def _chance(kinds: dict[str, str | None], trials: Any) -> float | None:
    n_choices = sum(str(n).startswith("choice") for n in trials.output_names)
    levels = set()
    for kind in kinds.values():
        if kind == "sign":
            levels.add(0.5)
        elif kind == "choice" and n_choices:
            levels.add(1.0 / n_choices)
    return levels.pop() if len(levels) == 1 else None


def network_result_fields(
    cfg: Any,
    opts: Any,
    train: Any,
    test: Any,
    fit: Any,
    kinds: dict[str, str | None],
    score: float | None,
) -> dict[str, Any]:
    """The fields of a task result about a network trained by ``train_network``.

    ``cfg`` is the run config, ``opts`` the task options (``tasks``, ``network``), ``train`` and
    ``test`` the trials (inputs ``(n_trials, n_steps, n_inputs)``, targets), ``fit`` the training
    summary, ``kinds`` the accuracy kind per task, ``score`` the held-out accuracy.

    Returns
    -------
    fields : dict
        ``name``, ``dataset``, ``protocol``, ``metric``, ``score_mean``, ``chance_level``,
        ``seed``, ``versions``, ``data_hash``, ``tasks``, ``network``, ``network_params`` and
        ``training`` (epochs, time, why it stopped, validation accuracy, history).
    """
    names = list(opts.tasks)
    return {
        "name": cfg.name,
        "dataset": "simulated:" + "+".join(names),
        "protocol": "held-out trials (fresh seed)",
        "metric": "accuracy",
        "score_mean": score,
        "chance_level": _chance(kinds, test),
        "seed": cfg.seed,
        "versions": versions(),
        "data_hash": array_hash(train.inputs, train.targets, test.inputs, test.targets),
        "tasks": names,
        "network": opts.network.name,
        "network_params": opts.network.params,
        "training": {
            "n_epochs": fit.n_epochs,
            "time_s": fit.time_s,
            "stopped_reason": fit.stopped_reason,
            "accuracy": fit.accuracy,
            "history": [dict(r) for r in fit.history],
        },
    }


def psychometric_summary(curve: Any, stimulus: str) -> dict[str, Any]:
    """A fitted psychometric curve as a result dict: its fields but ``confidence``, then
    ``stimulus`` and ``pse`` (levels, trial counts, choice fractions of length n_levels).
    """
    fields = {k: v for k, v in curve.to_dict().items() if k != "confidence"}
    return {**fields, "stimulus": stimulus, "pse": curve.pse}
