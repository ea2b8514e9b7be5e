"""Issue 14 lesion goals: planted task-specific clusters, and gain vs psychometric slope.

Each part is a fixed recipe decided before it was run (no tuning on held-out trials).

``planted``
    Two perceptual-decision tasks (A and B: independent trials with the same timing) run at once
    in one leaky tanh RNN (``neurodl.models.task_rnn``, 32 units, tau 100 ms, dt 20 ms, recurrent
    noise 0.05 in training). The hidden units are split at random into cluster A (12 units) and
    cluster B (20): a block connectivity mask (``connectivity``) cuts the recurrent weights
    between clusters, and the input and readout weights are masked the same way (zeroed and kept
    at zero by gradient masks), so task A's stimulus reaches only cluster A and task A's outputs
    read only cluster A. After training (``train_task_model``), ``unit_importance`` on the
    per-step ``cell`` scores every unit by the drop of task A's held-out score when it alone is
    zeroed. Precision at k = |A|: the share of the k top-ranked units that are in cluster A.
    Scores: minus task A's masked mean squared error (the trained objective; continuous) and
    task-A choice accuracy (coarse: a unit whose ablation flips no choice ties with the units
    of cluster B at a drop of 0); zero ablation, and mean ablation (each unit held at its mean
    over held-out trials and steps). Precision by signed drop (a unit whose removal *improves*
    task A ranks last) and by the size of the effect |drop|. Goal: precision 1.0 on every seed
    with the loss score.
``gain``
    Sensory gain vs psychometric slope in perceptual-decision RNNs (64 units, the recipe of
    ``bench_task_models.py --part gain``), over seeds: the input weights of the two stimulus
    channels scaled by each level (``ScaleWeights``, restored afterwards), 2000 held-out trials,
    logistic slope of the psychometric curve. Two read-outs: (a) the network as trained is
    evaluated noise-free: scaling the input scales the stimulus *and its noise* together, so an
    ideal integrator's choices (sign of the integrated evidence) do not change and no direction
    is predicted (only nonlinearity moves the slope); (b) with internal noise (``Noise`` on every
    hidden unit at every step, sd ``--internal-noise``, the same seeded draws at every level),
    the gain scales the evidence relative to the noise the network adds itself, so the slope is
    predicted to rise with the gain, monotonically, until the tanh units saturate. Reported: the
    slopes, Spearman rho over levels, and whether each seed is strictly monotonic on the
    predicted range ``--predicted-range``.

Usage: ``python benchmarks/bench_lesions.py [--part planted|gain|all] [--smoke]``; results print
as JSON lines and go to ``--out`` (default ``runs/bench_lesions.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

TASK = "perceptual_decision_making"


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def two_task_trials(n_trials: int, seed: int) -> Any:
    """Tasks A and B side by side: inputs, targets and masks concatenated (A first)."""
    from dataclasses import replace

    from neurodl.data.cognitive import make_task_trials

    a = make_task_trials(TASK, n_trials, dt=20.0, seed=2 * seed)
    b = make_task_trials(TASK, n_trials, dt=20.0, seed=2 * seed + 1)
    cat = np.concatenate
    trials = a.trials.add_suffix("_a").join(b.trials.add_suffix("_b"))
    return replace(
        a,
        inputs=cat([a.inputs, b.inputs], axis=2),
        targets=cat([a.targets, b.targets], axis=2),
        mask=cat([a.mask, b.mask], axis=2),
        trials=trials,
        task="two_tasks",
        input_names=[f"{n}_a" for n in a.input_names] + [f"{n}_b" for n in b.input_names],
        output_names=[f"{n}_a" for n in a.output_names] + [f"{n}_b" for n in b.output_names],
    )


def planted_network(n_hidden: int, n_a: int, n_in: int, n_out: int, seed: int) -> Any:
    """A leaky RNN whose units ``cluster_a`` alone serve task A (inputs/outputs: first half)."""
    torch = _torch()
    from neurodl.models.task_rnn import build_task_model

    rng = np.random.default_rng(seed)
    in_a = np.zeros(n_hidden, bool)
    in_a[rng.choice(n_hidden, n_a, replace=False)] = True
    same = in_a[:, None] == in_a[None, :]
    torch.manual_seed(seed)
    model = build_task_model(
        "leaky_rnn",
        n_inputs=n_in,
        n_outputs=n_out,
        n_hidden=n_hidden,
        tau=100.0,
        dt=20.0,
        sigma_rec=0.05,
        connectivity=same.astype(float),
    )
    task_in = np.arange(n_in) < n_in // 2  # True: an input of task A
    task_out = np.arange(n_out) < n_out // 2
    masks = {
        "cell.input.weight": torch.as_tensor(
            in_a[:, None] == task_in[None, :], dtype=torch.float32
        ),
        "readout.weight": torch.as_tensor(task_out[:, None] == in_a[None, :], dtype=torch.float32),
    }
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)
            params[name].register_hook(lambda g, m=mask: g * m)
    return model, np.flatnonzero(in_a)


def _task_a_scores(model: Any, test: Any) -> tuple[Any, Any]:
    """``(loss score, accuracy score)`` of task A on ``test`` (outputs 0..2, higher is better).

    The loss score is minus the masked mean squared error of task A's outputs, the objective
    the network was trained on (so ablating a unit that task A uses raises it); accuracy
    compares the two choice outputs in the response period.
    """
    from neurodl.estimators.task_training import predict_task

    resp = int(test.trials["response_start_a"].iloc[0])
    choice = test.trials["choice_a"].to_numpy().astype(int)  # 0 or 1 -> outputs 1 or 2
    target, mask = test.targets[..., :3], test.mask[..., :3]

    def loss(m: Any) -> float:
        out, _ = predict_task(m, test)
        return -float(np.sum(mask * (out[..., :3] - target) ** 2) / np.sum(mask))

    def accuracy(m: Any) -> float:
        out, _ = predict_task(m, test)
        o = out[:, resp:, 1:3].mean(axis=1)  # (n_trials, 2): choice_1, choice_2
        return float(np.mean(np.argmax(o, axis=1) == choice))

    return loss, accuracy


def planted(seeds: list[int], epochs: int, n_train: int, n_test: int) -> dict[str, Any]:
    from neurodl.analyses.perturb import state_dict_hash as state_hash
    from neurodl.analyses.perturb import unit_importance
    from neurodl.estimators.task_training import predict_task, train_task_model

    rows = []
    for seed in seeds:
        train, test = two_task_trials(n_train, seed), two_task_trials(n_test, 1000 + seed)
        model, cluster_a = planted_network(32, 12, train.n_inputs, train.n_outputs, seed)
        t0 = time.perf_counter()
        fit = train_task_model(
            model,
            train,
            max_epochs=epochs,
            batch_size=32,
            lr=5e-3,
            random_state=seed,
            accuracy_fn=lambda out, tr: 0.0,
        )
        train_s = time.perf_counter() - t0
        loss, accuracy = _task_a_scores(model, test)
        before = state_hash(model)
        row: dict[str, Any] = {"seed": seed, "epochs": fit.n_epochs, "train_s": round(train_s, 1)}
        _, hidden = predict_task(model, test)
        reference = hidden.reshape(-1, hidden.shape[-1])  # every step of every held-out trial
        for name, score, mode in (
            ("loss", loss, "zero"),
            ("loss_mean_ablation", loss, "mean"),
            ("accuracy", accuracy, "zero"),
        ):
            table = unit_importance(model, score, "cell", mode=mode, reference=reference)
            top = table["unit"].to_numpy()[: len(cluster_a)]
            by_effect = table.reindex(table["drop"].abs().sort_values(ascending=False).index)
            row[f"{name}_intact"] = round(float(table.attrs["baseline"]), 4)
            row[f"{name}_precision_at_k"] = float(np.isin(top, cluster_a).mean())
            row[f"{name}_abs_precision_at_k"] = float(
                np.isin(by_effect["unit"].to_numpy()[: len(cluster_a)], cluster_a).mean()
            )
            row[f"{name}_smallest_planted_drop"] = float(
                table.set_index("unit").loc[cluster_a, "drop"].min()
            )
            row[f"{name}_largest_other_drop"] = float(
                table.set_index("unit").drop(index=cluster_a)["drop"].abs().max()
            )
        row["state_dict_unchanged"] = state_hash(model) == before
        rows.append(row)
        print(json.dumps(row), flush=True)
    prec = [r["loss_precision_at_k"] for r in rows]
    return {
        "part": "planted",
        "k": 12,
        "n_hidden": 32,
        "seeds": rows,
        "loss_precision_mean": float(np.mean(prec)),
        "loss_precision_min": float(np.min(prec)),
        **{
            f"{name}_{kind}_mean": float(np.mean([r[f"{name}_{kind}"] for r in rows]))
            for name in ("loss_mean_ablation", "accuracy", "loss")
            for kind in ("precision_at_k", "abs_precision_at_k")
        },
        "goal": "precision at k = 1.0 (task-A loss score), every seed",
        "goal_met": bool(np.min(prec) == 1.0),
    }


def _decision_network(seed: int, epochs: int) -> Any:
    torch = _torch()
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import train_task_model
    from neurodl.models.task_rnn import build_task_model

    train = make_task_trials(TASK, 1000, dt=20.0, seed=10 * seed)
    torch.manual_seed(seed)
    model = build_task_model(
        "leaky_rnn",
        n_inputs=train.n_inputs,
        n_outputs=train.n_outputs,
        n_hidden=64,
        tau=100.0,
        dt=20.0,
        sigma_rec=0.05,
    )
    train_task_model(
        model,
        train,
        max_epochs=epochs,
        batch_size=32,
        lr=5e-3,
        random_state=seed,
        stop_at_accuracy=0.97,
    )
    return model


def gain(
    seeds: list[int], epochs: int, levels: list[float], noise_sd: float, lo: float, hi: float
) -> dict[str, Any]:
    from scipy.stats import spearmanr

    from neurodl.analyses.behaviour import psychometric_curve
    from neurodl.analyses.perturb import Noise, ScaleWeights, perturbed
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import predict_task

    test = make_task_trials(TASK, 2000, dt=20.0, seed=99)
    resp = int(test.trials["response_start"].iloc[0])
    coh = test.trials["coherence"].to_numpy()
    stim = [test.input_names.index(n) for n in test.input_names if n.startswith("stim")]
    rows = []
    for seed in seeds:
        model = _decision_network(seed, epochs)
        row: dict[str, Any] = {"seed": seed}
        for label, sd in (("noise_free", 0.0), ("internal_noise", noise_sd)):
            slopes = []
            for g in levels:
                specs = [ScaleWeights("cell.input.weight", g, cols=stim)]
                if sd > 0:
                    specs.append(Noise("cell", list(range(model.n_hidden)), sd=sd, seed=seed))
                with perturbed(model, *specs):
                    out, _ = predict_task(model, test)
                chose_1 = (out[:, resp:, 1].mean(1) > out[:, resp:, 2].mean(1)).astype(float)
                slopes.append(float(psychometric_curve(coh, chose_1).slope))
            inside = [s for g, s in zip(levels, slopes) if lo <= g <= hi]
            row[label] = {
                "slopes": dict(zip(map(str, levels), np.round(slopes, 3).tolist())),
                "spearman_rho": float(spearmanr(levels, slopes)[0]),
                "monotonic_in_range": bool(np.all(np.diff(inside) > 0)),
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r["internal_noise"]["monotonic_in_range"] for r in rows]
    return {
        "part": "gain",
        "levels": levels,
        "internal_noise_sd": noise_sd,
        "predicted_range": [lo, hi],
        "seeds": rows,
        "n_monotonic_internal_noise": int(sum(ok)),
        "n_monotonic_noise_free": int(sum(r["noise_free"]["monotonic_in_range"] for r in rows)),
        "goal": "slope rises monotonically with the sensory gain over the predicted range",
        "goal_met": bool(all(ok)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all", choices=["all", "planted", "gain"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--internal-noise", type=float, default=0.3)
    parser.add_argument("--predicted-range", type=float, nargs=2, default=[0.25, 1.0])
    parser.add_argument("--smoke", action="store_true", help="1 seed, 2 epochs, few trials")
    parser.add_argument("--out", default="runs/bench_lesions.json")
    args = parser.parse_args()
    seeds = [0] if args.smoke else list(range(args.seeds))
    epochs = 2 if args.smoke else args.epochs
    levels = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
    rows = []
    t0 = time.perf_counter()
    if args.part in ("all", "planted"):
        n_train, n_test = (64, 32) if args.smoke else (1000, 400)
        rows.append(planted(seeds, epochs, n_train, n_test))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "seeds"}), flush=True)
    if args.part in ("all", "gain"):
        lo, hi = args.predicted_range
        rows.append(gain(seeds, epochs, levels, args.internal_noise, lo, hi))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "seeds"}), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "total_s": time.perf_counter() - t0}, indent=1))


if __name__ == "__main__":
    main()
