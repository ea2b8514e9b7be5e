"""Issue 14 goals for task-trained networks: flip-flop fixed points, context integration, gain.

Three measurements, each a fixed recipe decided before it was run (no tuning on held-out trials):

``flipflop``
    A leaky tanh RNN (64 units, tau 100 ms, dt 20 ms, recurrent noise 0.05) trained on the
    3-bit flip-flop (800 trials, Adam lr 5e-3, ``--epochs`` epochs); held-out sign accuracy on
    200 fresh trials; fixed points at zero input from 1024 states sampled on held-out
    trajectories (noise 0.2): counts by stability, finder time, and how many distinct output
    corners (sign patterns of the readout) the stable points cover. Goal: exactly 8 stable
    fixed points, each an output state, found in < 60 s.
``context``
    A leaky tanh RNN (64 units) on context-dependent integration (Mante et al. 2013): held-out
    choice accuracy on 500 fresh trials (goal >= 0.90); then, per context (that context's cue on,
    stimuli and fixation off), fixed and slow points and the line-attractor test.
``gain``
    The trained perceptual-decision network's sensory input gain (the input weights of the two
    stimulus channels scaled by 0.6 ... 1.4, restored afterwards; neuromodulation of the sensory
    drive): the psychometric slope at each gain on 1000 fresh trials. Predicted: the slope
    rises with the gain (stronger evidence per unit coherence), monotonically.

Usage: ``python benchmarks/bench_task_models.py [--part flipflop|context|gain|all] [--smoke]``;
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


def flipflop(epochs: int, n_fp: int) -> dict[str, Any]:
    torch = _torch()
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import predict_task, sign_accuracy, train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = make_task_trials("flip_flop", 800, dt=20.0, seed=0)
    test = make_task_trials("flip_flop", 200, dt=20.0, seed=1)
    torch.manual_seed(0)  # the initial weights, whatever ran before in this process
    model = build_task_model(
        "leaky_rnn", n_inputs=3, n_outputs=3, n_hidden=64, tau=100.0, dt=20.0, sigma_rec=0.05
    )
    fit = train_task_model(model, train, max_epochs=epochs, batch_size=32, lr=5e-3, random_state=0)
    out, hidden = predict_task(model, test)
    fp = _fixed_points(model, hidden, np.zeros(3), n_fp, seed=0)
    stable = fp.points[np.array(fp.stability) == "stable"]
    with torch.no_grad():
        readout = model.readout_state(torch.as_tensor(stable, dtype=torch.float32)).numpy()
    corners = {tuple(np.sign(r).astype(int)) for r in readout}
    return {
        "part": "flipflop",
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
        "goal": "8 stable fixed points, each an output corner, < 60 s",
        "goal_met": fp.counts().get("stable") == 8 and len(corners) == 8 and fp.time_s < 60,
    }


def _trained_decision(task: str, epochs: int) -> tuple[Any, Any]:
    torch = _torch()
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = make_task_trials(task, 1000, dt=20.0, seed=0)
    torch.manual_seed(0)  # the initial weights, whatever ran before in this process
    model = build_task_model(
        "leaky_rnn",
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


def ideal_observer_accuracy(trials: Any) -> float:
    """Accuracy of a perfect integrator of the relevant evidence over the stimulus epoch.

    Context integration: the sign of the summed cued input (motion or colour); perceptual
    decision: the sign of the summed difference of the two stimulus inputs. The ceiling a
    network can reach on these noisy trials.
    """
    meta, names = trials.trials, trials.input_names
    start = meta["stimulus_start"].to_numpy()
    stop = meta["delay_start"].to_numpy() if "delay_start" in meta else meta["response_start"]
    evidence = np.empty(trials.n_trials)
    for i in range(trials.n_trials):
        window = trials.inputs[i, start[i] : stop[i]]
        if "context" in meta:
            cued = "motion" if "motion" in str(meta["context"].iloc[i]) else "colour"
            evidence[i] = window[:, names.index(cued)].sum()
        else:
            evidence[i] = (window[:, names.index("stim_1")] - window[:, names.index("stim_2")]).sum()
    return float(np.mean(np.where(evidence > 0, 0, 1) == meta["choice"].to_numpy()))


def context(epochs: int, n_fp: int) -> dict[str, Any]:
    from neurodl.analyses.rnn_dynamics import detect_line_attractor
    from neurodl.data.cognitive import make_task_trials
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
    names = test.input_names
    for ctx in ("context_motion", "context_colour"):
        x = np.zeros(len(names))
        x[names.index(ctx)] = 1.0
        sel = test.trials["context"].astype(str).str.contains(ctx.split("_")[1]).to_numpy()
        fp = _fixed_points(model, hidden[sel] if sel.any() else hidden, x, n_fp, seed=0)
        line = detect_line_attractor(fp)
        row[ctx] = {
            "fixed_points": fp.counts(),
            "n_slow": len(fp.slow_points),
            "line_attractor": bool(line.detected),
            "line_points": int(line.n_points),
            "variance_on_line": float(line.variance_ratio),
            "finder_time_s": round(fp.time_s, 1),
        }
    row["goal_met"] = row["test_accuracy"] >= 0.90 and all(
        row[c]["line_attractor"] for c in ("context_motion", "context_colour")
    )
    return row


def gain(epochs: int) -> dict[str, Any]:
    from neurodl.analyses.behaviour import psychometric_curve
    from neurodl.analyses.perturb import ScaleWeights, perturbed
    from neurodl.data.cognitive import make_task_trials
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all", choices=["all", "flipflop", "context", "gain"])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--n-fixed-point-starts", type=int, default=1024)
    parser.add_argument("--smoke", action="store_true", help="2 epochs, 64 starts")
    parser.add_argument("--out", default="runs/bench_task_models.json")
    args = parser.parse_args()
    epochs = 2 if args.smoke else args.epochs
    n_fp = 64 if args.smoke else args.n_fixed_point_starts
    rows = []
    t0 = time.perf_counter()
    if args.part in ("all", "flipflop"):
        rows.append(flipflop(epochs, n_fp))
        print(json.dumps(rows[-1]), flush=True)
    if args.part in ("all", "context"):
        rows.append(context(epochs, n_fp))
        print(json.dumps(rows[-1]), flush=True)
    if args.part in ("all", "gain"):
        rows.append(gain(epochs))
        print(json.dumps(rows[-1]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "total_s": time.perf_counter() - t0}, indent=1))


if __name__ == "__main__":
    main()
