"""Issue 14 goals for task-trained networks: flip-flop, context integration, gain, multitask.

Each part is a fixed recipe decided before it was run (no tuning on held-out trials; held-out
trials come from seed 1, never used for training or model selection):

``flipflop``
    A network (``--flipflop-network``: ``gru``, the issue's goal, or ``leaky_rnn``; 64 units)
    trained on the 3-bit flip-flop (800 trials, Adam lr 5e-3, ``--flipflop-epochs``; the task's
    default ``unset="free"``: no loss before a bit's first pulse); held-out sign accuracy on 200
    fresh trials; fixed points at zero input from ``--n-fixed-point-starts`` states sampled on
    held-out trajectories (noise 0.2): counts by stability, finder time, and how many distinct
    output corners (sign patterns of the readout) the stable points cover, and how far their
    readouts are from +-1. Goal: exactly 8 stable fixed points, each an output state, < 60 s.
``context``
    A leaky tanh RNN (64 units) on context-dependent integration (Mante et al. 2013; the task's
    defaults: coherences +-0.05/0.15/0.5, NeuroGym's noise): held-out choice accuracy on 500
    fresh trials against the ideal observer on the same trials (goal >= 0.90); then, per
    context, the dynamics during the stimulus without evidence (fixation and that context's cue
    on, stimuli off), from that context's held-out stimulus-epoch states: (a) fixed points
    (Adam + Levenberg-Marquardt polishing) and (b) slow points (Adam only, no polishing, ``q``
    below 1% of the median ``q`` of the starting states: 10x slower than the network's typical
    speed there), and the line-attractor test on (b) with its report (points on one line,
    leading eigenvalue moduli).
``gain``
    The trained perceptual-decision network's sensory input gain (the input weights of the two
    stimulus channels scaled by 0.6 ... 1.4, restored afterwards; neuromodulation of the sensory
    drive): the psychometric slope at each gain on 1000 fresh trials. Predicted: the slope
    rises with the gain (stronger evidence per unit coherence), monotonically.

``multitask``
    One leaky tanh RNN (``--multitask-hidden`` units, recurrent noise 0.05) on six tasks with
    rule inputs (``--multitask-trials`` trials, balanced across tasks; Adam lr 3e-3 with a
    cosine schedule over ``--multitask-epochs``, batch 64, 10% validation trials), stopped when
    the worst task's validation accuracy reaches 0.95 or after ``--multitask-budget-s`` of
    training; held-out accuracy per task on 200 fresh trials each, beside each task's ideal
    observer on the same trials. Goal: 6 tasks each >= 0.90, trained in < 30 min.

Usage: ``python benchmarks/bench_task_models.py [--part flipflop|context|gain|multitask|all]
[--smoke]``;
results print as JSON lines and go to ``--out`` (default ``runs/bench_task_models.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def _fixed_points(model: Any, hidden: np.ndarray, inputs: np.ndarray, n: int, seed: int) -> Any:
    from neurodl.analyses.rnn_dynamics import find_fixed_points, sample_states

    init = sample_states(hidden, n, noise=0.2, seed=seed)
    return find_fixed_points(
        lambda h, x: model.step(h.float(), x.float()).double(),
        init,
        inputs=inputs,
        tol_q=1e-10,
        tol_unique=0.05,
        seed=seed,
    )


def flipflop(epochs: int, n_fp: int, network: str) -> dict[str, Any]:
    torch = _torch()
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import predict_task, sign_accuracy, train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = make_task_trials("flip_flop", 800, dt=20.0, seed=0)
    test = make_task_trials("flip_flop", 200, dt=20.0, seed=1)
    params = {"n_hidden": 64}
    if network == "leaky_rnn":
        params.update(tau=100.0, dt=20.0, sigma_rec=0.05)
    model = build_task_model(network, n_inputs=3, n_outputs=3, seed=0, **params)
    fit = train_task_model(model, train, max_epochs=epochs, batch_size=32, lr=5e-3, random_state=0)
    out, hidden = predict_task(model, test)
    fp = _fixed_points(model, hidden, np.zeros(3), n_fp, seed=0)
    stable = fp.points[np.array(fp.stability) == "stable"]
    with torch.no_grad():
        readout = model.readout_state(torch.as_tensor(stable, dtype=torch.float32)).numpy()
    corners = {tuple(np.sign(r).astype(int)) for r in readout}
    moduli = np.abs(fp.eigenvalues).max(axis=1) if fp.n_points else np.zeros(0)
    return {
        "part": "flipflop",
        "network": network,
        "epochs": fit.n_epochs,
        "train_time_s": round(fit.time_s, 1),
        "test_sign_accuracy": sign_accuracy(out, test),
        "fixed_points": fp.counts(),
        "finder_time_s": round(fp.time_s, 1),
        "n_initial": n_fp,
        "stable_output_corners": len(corners),
        "stable_readout_max_abs_error": float(np.abs(np.abs(readout) - 1).max())
        if len(readout)
        else None,
        "stable_max_eigenvalue_moduli": sorted(
            round(float(m), 5)
            for m, lab in zip(moduli, fp.stability, strict=True)
            if lab == "stable"
        ),
        "stable_max_localisation": float(fp.localisation[fp.stability == "stable"].max())
        if len(readout)
        else None,
        "goal": "8 stable fixed points, each an output corner, < 60 s",
        "goal_met": fp.counts().get("stable") == 8 and len(corners) == 8 and fp.time_s < 60,
    }


def _trained_decision(task: str, epochs: int) -> tuple[Any, Any]:
    _torch()
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = make_task_trials(task, 1000, dt=20.0, seed=0)
    model = build_task_model(
        "leaky_rnn",
        seed=0,
        n_inputs=train.n_inputs,
        n_outputs=train.n_outputs,
        n_hidden=64,
        tau=100.0,
        dt=20.0,
        sigma_rec=0.05,
    )
    fit = train_task_model(
        model, train, max_epochs=epochs, batch_size=32, lr=5e-3, random_state=0,
        stop_at_accuracy=0.97,
    )  # fmt: skip
    return model, fit


def _slow_points(model: Any, hidden: np.ndarray, inputs: np.ndarray, n: int, seed: int) -> Any:
    """Adam only (no polishing), slow = q below 1% of the median q of the starting states."""
    import torch

    from neurodl.analyses.rnn_dynamics import find_fixed_points, sample_states

    def update(h: Any, x: Any) -> Any:
        return model.step(h.float(), x.float()).double()

    init = sample_states(hidden, n, noise=0.0, seed=seed)
    with torch.no_grad():
        h0 = torch.as_tensor(init)
        x0 = torch.as_tensor(np.broadcast_to(inputs, (n, len(inputs))).copy())
        q0 = 0.5 * ((update(h0, x0) - h0) ** 2).sum(dim=1).numpy()
    tol_slow = 0.01 * float(np.median(q0))
    fp = find_fixed_points(
        update, init, inputs=inputs, tol_q=min(1e-10, tol_slow), tol_slow=tol_slow,
        max_iters=500, polish_iters=0, tol_unique=0.05, seed=seed,
    )  # fmt: skip
    return fp, tol_slow, float(np.median(q0))


def context(epochs: int, n_fp: int) -> dict[str, Any]:
    from neurodl.analyses.rnn_dynamics import detect_line_attractor
    from neurodl.data.cognitive import ideal_observer_accuracy, make_task_trials
    from neurodl.estimators.task_training import choice_accuracy, predict_task

    model, fit = _trained_decision("context_dependent_integration", epochs)
    test = make_task_trials("context_dependent_integration", 500, dt=20.0, seed=1)
    out, hidden = predict_task(model, test)
    row: dict[str, Any] = {
        "part": "context",
        "epochs": fit.n_epochs,
        "stopped": fit.stopped_reason,
        "train_time_s": round(fit.time_s, 1),
        "test_accuracy": choice_accuracy(out, test),
        "ideal_observer_accuracy": ideal_observer_accuracy(test),
        "goal": ">= 0.90 held-out; one line attractor per context",
    }
    names, meta = test.input_names, test.trials
    start, stop = meta["stimulus_start"].to_numpy(), meta["delay_start"].to_numpy()
    for ctx in ("context_motion", "context_colour"):
        x = np.zeros(len(names))
        x[names.index("fixation")] = 1.0
        x[names.index(ctx)] = 1.0
        rows = np.flatnonzero(meta["context"].astype(str).to_numpy() == ctx.split("_")[1])
        states = np.concatenate([hidden[i, start[i] : stop[i]] for i in rows])
        fixed = _fixed_points(model, states, x, n_fp, seed=0)
        slow, tol_slow, q_median = _slow_points(model, states, x, n_fp, seed=0)
        line = detect_line_attractor(slow)
        row[ctx] = {
            "fixed_points": fixed.counts(),
            "fixed_max_eigenvalue_moduli": [
                round(float(m), 4) for m in np.abs(fixed.eigenvalues).max(axis=1)
            ],
            "finder_time_s": round(fixed.time_s, 1),
            "slow_search": {
                "q_median_start": q_median,
                "tol_slow": tol_slow,
                "n_fixed": slow.n_points,
                "n_slow": int(slow.slow_points.shape[0]),
                "time_s": round(slow.time_s, 1),
            },
            "line_attractor": line.summary(),
        }
    row["goal_met"] = row["test_accuracy"] >= 0.90 and all(
        row[c]["line_attractor"]["detected"] for c in ("context_motion", "context_colour")
    )
    return row


def gain(epochs: int) -> dict[str, Any]:
    from neurodl.analyses.behaviour import psychometric_curve
    from neurodl.analyses.perturb import ScaleWeights, perturbed
    from neurodl.data.cognitive import ideal_observer_accuracy, make_task_trials
    from neurodl.estimators.task_training import choice_accuracy, predict_task

    model, fit = _trained_decision("perceptual_decision_making", epochs)
    test = make_task_trials("perceptual_decision_making", 1000, dt=20.0, seed=1)
    meta = test.trials
    resp = int(meta["response_start"].iloc[0])
    slopes = {}
    accuracy = float("nan")
    for g in (0.6, 0.8, 1.0, 1.2, 1.4):
        stim = [test.input_names.index(n) for n in test.input_names if n.startswith("stim")]
        with perturbed(model, ScaleWeights("cell.input.weight", g, cols=stim)):
            out, _ = predict_task(model, test)
        chose_1 = (out[:, resp:, 1].mean(axis=1) > out[:, resp:, 2].mean(axis=1)).astype(float)
        if g == 1.0:
            accuracy = choice_accuracy(out, test)
        curve = psychometric_curve(meta["coherence"].to_numpy(), chose_1)
        slopes[g] = float(curve.slope)
    values = [slopes[g] for g in sorted(slopes)]
    diffs = np.diff(values)
    return {
        "part": "gain",
        "epochs": fit.n_epochs,
        "test_accuracy": accuracy,
        "ideal_observer_accuracy": ideal_observer_accuracy(test),
        "slopes": slopes,
        "monotonic_increasing": bool(np.all(diffs > 0)),
        "goal": "psychometric slope rises monotonically with the sensory gain",
    }


MULTITASK = (
    "perceptual_decision_making",
    "context_dependent_integration",
    "go_nogo",
    "anti_saccade",
    "delayed_match_to_sample",
    "parametric_working_memory",
)


def multitask(epochs: int, n_train: int, n_hidden: int, max_time_s: float) -> dict[str, Any]:
    _torch()
    from neurodl.data.cognitive import ideal_observer_accuracy, multitask_trials
    from neurodl.estimators.task_training import choice_accuracy, predict_task, train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = multitask_trials(MULTITASK, n_train, dt=20.0, seed=0)
    test = multitask_trials(MULTITASK, 1200, dt=20.0, seed=1)  # 200 held-out trials per task
    model = build_task_model(
        "leaky_rnn",
        n_inputs=train.n_inputs,
        n_outputs=train.n_outputs,
        n_hidden=n_hidden,
        tau=100.0,
        dt=20.0,
        sigma_rec=0.05,
        seed=0,
    )

    def per_task(outputs: np.ndarray, trials: Any) -> dict[str, float]:
        task = trials.trials["task"].to_numpy()
        return {
            name: choice_accuracy(
                outputs[task == name], trials.subset(np.flatnonzero(task == name))
            )
            for name in MULTITASK
        }

    def worst_task(outputs: np.ndarray, trials: Any) -> float:
        return float(min(per_task(outputs, trials).values()))

    fit = train_task_model(
        model, train, max_epochs=epochs, batch_size=64, lr=3e-3, schedule="cosine",
        validation_fraction=0.1, random_state=0, accuracy_fn=worst_task, stop_at_accuracy=0.95,
        max_time_s=max_time_s,
    )  # fmt: skip
    out, _ = predict_task(model, test)
    accuracy = per_task(out, test)
    task = test.trials["task"].to_numpy()
    ideal = {
        name: ideal_observer_accuracy(test.subset(np.flatnonzero(task == name)))
        for name in MULTITASK
    }
    return {
        "part": "multitask",
        "n_hidden": n_hidden,
        "n_train_trials": n_train,
        "epochs": fit.n_epochs,
        "stopped": fit.stopped_reason,
        "train_time_s": round(fit.time_s, 1),
        "valid_worst_task_accuracy": fit.accuracy,
        "test_accuracy": accuracy,
        "ideal_observer_accuracy": ideal,
        "n_tasks_at_90": int(sum(v >= 0.90 for v in accuracy.values())),
        "goal": ">= 6 tasks each >= 0.90 from one network, trained in < 30 min",
        "goal_met": all(v >= 0.90 for v in accuracy.values()) and fit.time_s < 1800,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", default="all", choices=["all", "flipflop", "context", "gain", "multitask"]
    )
    parser.add_argument("--epochs", type=int, default=120, help="context and gain networks")
    parser.add_argument("--flipflop-epochs", type=int, default=80)
    parser.add_argument("--flipflop-network", default="gru", choices=["gru", "leaky_rnn"])
    parser.add_argument("--n-fixed-point-starts", type=int, default=512)
    parser.add_argument("--multitask-epochs", type=int, default=14)
    parser.add_argument("--multitask-trials", type=int, default=6000)
    parser.add_argument("--multitask-hidden", type=int, default=128)
    parser.add_argument("--multitask-budget-s", type=float, default=1680.0)
    parser.add_argument("--smoke", action="store_true", help="2 epochs, 64 starts")
    parser.add_argument("--out", default="runs/bench_task_models.json")
    args = parser.parse_args()
    epochs = 2 if args.smoke else args.epochs
    n_fp = 64 if args.smoke else args.n_fixed_point_starts
    rows = []
    t0 = time.perf_counter()
    if args.part in ("all", "flipflop"):
        ff_epochs = 2 if args.smoke else args.flipflop_epochs
        rows.append(flipflop(ff_epochs, n_fp, args.flipflop_network))
        print(json.dumps(rows[-1]), flush=True)
    if args.part in ("all", "context"):
        rows.append(context(epochs, n_fp))
        print(json.dumps(rows[-1]), flush=True)
    if args.part in ("all", "gain"):
        rows.append(gain(epochs))
        print(json.dumps(rows[-1]), flush=True)
    if args.part in ("all", "multitask"):
        mt_epochs = 1 if args.smoke else args.multitask_epochs
        mt_trials = 120 if args.smoke else args.multitask_trials
        rows.append(multitask(mt_epochs, mt_trials, args.multitask_hidden, args.multitask_budget_s))
        print(json.dumps(rows[-1]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "total_s": time.perf_counter() - t0}, indent=1))


if __name__ == "__main__":
    main()
