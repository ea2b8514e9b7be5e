"""EEG decoding accuracy on real data: classical baselines beside the networks (issue 4, section 5).

Every row calls the library directly (:func:`neurodl.datasets.load_dataset`,
:func:`neurodl.preprocessing.preprocess_before_split`, :func:`neurodl.analyses.decoding.make_decoder`
and :func:`neurodl.analyses.decoding.decode`), exactly as the ``decoding`` task of ``neurodl run``
composes them, on the example configs' data and protocol:

* Bonn (sets A vs E, E vs ABCD, 5 classes), 1024-sample windows within segments, 5 folds grouped
  by segment;
* EEGMMIDB S001 imagined left vs right fist and imagined fists vs feet (7-30 Hz, 0.5-2.5 s),
  5-fold stratified within the one session, repeated over ``--seeds`` CV seeds.

Reported per row: balanced accuracy (mean over folds; EEGMMIDB: mean +/- SD over CV seeds), the
95% bootstrap CI and the permutation p-value of the first seed, and the wall time.

Usage::

    NEURODL_DATA=../shared/data python benchmarks/bench_eeg_decoding.py --out results.json
    python benchmarks/bench_eeg_decoding.py --only bonn_5class --models logbandpower_lr --quick
    python benchmarks/bench_eeg_decoding.py --smoke --out eeg_smoke.json   # one tiny row, end to end

Write the table into ``benchmarks/results/eeg_decoding.md`` by hand (numbers from the JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurodl.analyses.decoding import decode, make_decoder
from neurodl.data import EpochsDataset
from neurodl.datasets import load_dataset
from neurodl.evaluation import get_protocol
from neurodl.preprocessing import preprocess_before_split

BONN_TASKS = {
    "bonn_a_vs_e": ["A", "E"],
    "bonn_e_vs_abcd": ["E", "ABCD"],
    "bonn_5class": ["A", "B", "C", "D", "E"],
}
EEGMMIDB_TASKS = {
    "eegmmidb_imagery_lr": "imagery_lr",
    "eegmmidb_imagery_fists_feet": "imagery_fists_feet",
}

#: name -> (registry model, params, applies to "bonn"/"eegmmidb"/both).
#: CSP, MDM and tangent space on spatial covariances need >= 2 channels: on single-channel Bonn
#: the Riemannian models use time-delay covariances instead (lags 0-16 samples).
DELAYS = [1, 2, 3, 4, 6, 8, 12, 16]
#: 15 narrower bands, 0.5-85 Hz (the default log-bandpower uses 7).
FINE_BANDS = [[0.5, 2], [2, 4], [4, 6], [6, 8], [8, 10], [10, 13], [13, 16], [16, 20]]
FINE_BANDS += [[20, 25], [25, 30], [30, 40], [40, 50], [50, 60], [60, 70], [70, 85]]
NETWORK_FIT = {
    "max_epochs": 30,
    "batch_size": 64,
    "lr": 1e-3,
    "early_stopping": False,
    "validation_fraction": None,
}
MODELS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "logbandpower_lr": ("logbandpower_lr", {}, ("bonn",)),
    "logbandpower_lr_fine": ("logbandpower_lr", {"bands": FINE_BANDS}, ("bonn",)),
    "logbandpower_lr_mu_beta": ("logbandpower_lr", {"bands": [[8, 13], [13, 30]]}, ("eegmmidb",)),
    "tangent_space_lr": ("tangent_space_lr", {}, ("eegmmidb",)),
    "tangent_space_lr_delays": ("tangent_space_lr", {"delays": DELAYS}, ("bonn",)),
    "mdm": ("mdm", {}, ("eegmmidb",)),
    "mdm_delays": ("mdm", {"delays": DELAYS}, ("bonn",)),
    "csp_lda": ("csp_lda", {}, ("eegmmidb",)),
    "fbcsp": ("fbcsp", {"bands": [[8, 12], [12, 16], [16, 20], [20, 24], [24, 30]]}, ("eegmmidb",)),
    "shallow": ("shallow", dict(NETWORK_FIT), ("bonn", "eegmmidb")),
    "eegnet": ("eegnet", dict(NETWORK_FIT), ("bonn", "eegmmidb")),
    "deep4": ("deep4", dict(NETWORK_FIT), ("bonn", "eegmmidb")),
    # log-spectrogram front end (Hann 256 samples, hop 64) + residual 1-D CNN, 3 jointly trained
    # members, class-balanced loss, 40 epochs, as in
    # examples/bonn_5class_net.yaml and examples/bonn_e_vs_abcd_net.yaml
    "stftnet": (
        "stftnet",
        {**NETWORK_FIT, "max_epochs": 40, "n_fft": 256, "n_members": 3, "class_weight": "balanced"},
        ("bonn",),
    ),
}
NETWORKS = {"shallow", "eegnet", "deep4", "stftnet"}


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python and torch versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        # `nproc` alone honours OMP_NUM_THREADS; --all gives the machine's CPUs
        "nproc": int(subprocess.run(["nproc", "--all"], capture_output=True, text=True).stdout),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_1min_at_start": round(load, 1),
    }


def task_data(task: str) -> tuple[str, dict[str, Any]]:
    """(dataset name, loader parameters) of one task, as in the example configs."""
    if task in BONN_TASKS:
        return "bonn", {"sets": BONN_TASKS[task], "window": 1024}
    return "eegmmidb-s001", {
        "task": EEGMMIDB_TASKS[task],
        "tmin": 0.5,
        "tmax": 2.5,
        "l_freq": 7.0,
        "h_freq": 30.0,
    }


def task_protocol(task: str, seed: int) -> Any:
    """The evaluation protocol of one (task, CV seed)."""
    if task in BONN_TASKS:
        return get_protocol("grouped-kfold", n_splits=5, group_by="segment", seed=seed)
    return get_protocol("within-session", n_splits=5, seed=seed)


def load_task(task: str) -> EpochsDataset:
    """The labelled samples of one task (``NEURODL_DATA`` or the default data root)."""
    name, params = task_data(task)
    return load_dataset(name, **params)


def evaluate(
    ds: EpochsDataset,
    task: str,
    model: str,
    params: dict[str, Any],
    seed: int,
    n_perm: int,
    preprocessing: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score, CI, p-value and chance level of one (task, model, CV seed).

    The same composition as the ``decoding`` task of ``neurodl run``: the leading per-sample
    preprocessing steps applied once to all samples, the rest fitted inside each training fold,
    the model built by :func:`make_decoder` and cross-validated by :func:`decode` (balanced
    accuracy, 1000 bootstrap resamples, 95% CI, ``n_perm`` permutations, seed ``seed``).
    """
    ds_eval, _, fold_steps = preprocess_before_split(ds, list(preprocessing or []))
    estimator = make_decoder(
        model,
        params,
        preprocessing=fold_steps,
        seed=seed,
        sfreq=ds_eval.sfreq,
        data_info=ds_eval.info,
    )
    res = decode(
        estimator,
        ds_eval,
        task_protocol(task, seed),
        "balanced_accuracy",
        name=model,
        seed=seed,
        n_permutations=n_perm,
        n_boot=1000,
        ci=0.95,
        n_jobs=1,
    )
    main = res.models[model]
    return {
        "score_mean": float(main.score),
        "score_ci": [float(main.ci[0]), float(main.ci[1])],
        "p_value": None if main.p_value is None else float(main.p_value),
        "n_permutations": n_perm if main.permutation is not None else 0,
        "chance_level": float(res.chance_level),
        "n_samples": int(ds.n_samples),
    }


def run_row(task: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one benchmark row (all CV seeds for EEGMMIDB, seed 0 for Bonn)."""
    name, params, _ = MODELS[label]
    is_net = label in NETWORKS
    params = dict(params)
    if is_net and args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    n_seeds = args.seeds if task in EEGMMIDB_TASKS else 1
    n_perm = args.n_permutations_net if is_net else args.n_permutations
    # EEGMMIDB is in volts (~1e-5): without scaling the networks' batch norm (eps 1e-5) sees
    # near-zero variance and every prediction is one class (balanced accuracy 0.500)
    pre = [{"standardize": {}}] if is_net and args.standardize_networks else []
    scores, first = [], None
    t0 = time.perf_counter()
    ds = load_task(task)
    for seed in range(n_seeds):
        res = evaluate(ds, task, name, params, seed, n_perm if seed == 0 else 0, pre)
        scores.append(res["score_mean"])
        first = first or res
        print(f"  {task} {label} seed {seed}: {res['score_mean']:.3f}", flush=True)
    assert first is not None
    return {
        "task": task,
        "row": label,
        "model": name,
        "params": params,
        "preprocessing": pre,
        "n_cv_seeds": n_seeds,
        "score_mean": float(np.mean(scores)),
        "score_sd_over_seeds": float(np.std(scores)) if n_seeds > 1 else None,
        "scores_per_seed": scores,
        "seed0_score": first["score_mean"],
        "seed0_ci": first["score_ci"],
        "seed0_p_value": first["p_value"],
        "n_permutations": first["n_permutations"],
        "chance_level": first["chance_level"],
        "n_samples": first["n_samples"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


#: Reference balanced accuracies from issue 4 / ANCHORS.md (same files and protocols).
REFERENCE: dict[tuple[str, str], str] = {
    ("bonn_a_vs_e", "logbandpower_lr"): "0.997",
    ("bonn_e_vs_abcd", "logbandpower_lr"): "0.95-0.97 (README: 0.972)",
    ("bonn_5class", "logbandpower_lr"): "0.75-0.77 (README: 0.770)",
    ("bonn_e_vs_abcd", "shallow"): "braindecode ShallowFBCSPNet 0.94",
    ("bonn_5class", "shallow"): "braindecode ShallowFBCSPNet 0.80 (20 epochs)",
    ("bonn_e_vs_abcd", "eegnet"): "braindecode EEGNet 0.89",
    ("bonn_5class", "eegnet"): "braindecode EEGNet 0.77 (40 epochs)",
    ("bonn_e_vs_abcd", "deep4"): "braindecode Deep4Net, dropout off, 0.961",
    ("bonn_5class", "deep4"): "braindecode Deep4Net 0.34 (default dropout) / 0.878 (off)",
    ("bonn_e_vs_abcd", "stftnet"): "goal >= 0.99; best baseline 0.970; best peer Deep4 0.961",
    ("bonn_5class", "stftnet"): "goal >= 0.90; best baseline 0.831; best peer Deep4 0.878",
    ("eegmmidb_imagery_lr", "tangent_space_lr"): "0.664 +/- 0.063 (10 seeds; 0.73 one seed)",
    ("eegmmidb_imagery_lr", "csp_lda"): "0.660 (10 seeds; 0.71 one seed)",
    ("eegmmidb_imagery_lr", "shallow"): "braindecode ShallowFBCSPNet 0.56 (one seed)",
    ("eegmmidb_imagery_lr", "eegnet"): "braindecode EEGNet 0.51 (one seed)",
}


def render_table(paths: list[Path]) -> str:
    """Markdown rows (task, row, ours, CI, p, reference, seconds) from result JSON files."""
    rows = [r for p in paths for r in json.loads(Path(p).read_text())["rows"]]
    order = [*BONN_TASKS, *EEGMMIDB_TASKS]
    rows.sort(key=lambda r: (order.index(r["task"]), list(MODELS).index(r["row"])))
    lines = [
        "| task | model (row) | balanced acc. (ours) | 95% CI (seed 0) | p (perms) | reference "
        "| seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sd = r["score_sd_over_seeds"]
        ours = f"{r['score_mean']:.3f}" + (
            f" +/- {sd:.3f} ({r['n_cv_seeds']} seeds; seed 0: {r['seed0_score']:.3f})"
            if sd is not None
            else ""
        )
        p = "not run" if r["seed0_p_value"] is None else f"{r['seed0_p_value']:.3f}"
        p += f" ({r['n_permutations']})" if r["n_permutations"] else ""
        ci = "{:.3f}-{:.3f}".format(*r["seed0_ci"])
        ref = REFERENCE.get((r["task"], r["row"]), "")
        label = r["row"] + (" (standardize)" if r.get("preprocessing") else "")
        lines.append(
            f"| {r['task']} | {label} | {ours} | {ci} | {p} | {ref} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="tasks to run (default: all)")
    parser.add_argument("--models", nargs="*", default=None, help="rows to run (default: all)")
    parser.add_argument("--no-networks", action="store_true", help="skip the network rows")
    parser.add_argument("--seeds", type=int, default=10, help="CV seeds for EEGMMIDB")
    parser.add_argument("--n-permutations", type=int, default=100)
    parser.add_argument("--n-permutations-net", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=None, help="override network epochs")
    parser.add_argument(
        "--standardize-networks",
        action="store_true",
        help="network rows: per-channel standardisation fitted on each training fold",
    )
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10 permutations")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny row end to end (bonn_a_vs_e, logbandpower_lr, 5 permutations)",
    )
    parser.add_argument("--out", type=Path, default=Path("eeg_decoding_results.json"))
    parser.add_argument("--table", nargs="*", type=Path, help="print a markdown table; no runs")
    args = parser.parse_args(argv)
    if args.table:
        print(render_table(args.table))
        return
    if args.quick:
        args.seeds, args.n_permutations = 2, 10
    if args.smoke:
        args.only, args.models, args.seeds, args.n_permutations = (
            ["bonn_a_vs_e"],
            ["logbandpower_lr"],
            1,
            5,
        )
    try:
        import torch

        torch.set_num_threads(int(os.environ.get("NEURODL_BENCH_THREADS", "2")))
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    tasks = args.only or [*BONN_TASKS, *EEGMMIDB_TASKS]
    rows = args.models or list(MODELS)
    if args.no_networks:
        rows = [r for r in rows if r not in NETWORKS]
    out: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python benchmarks/bench_eeg_decoding.py " + " ".join(argv or []),
        "rows": [],
    }
    if args.out.exists():  # keep rows of earlier partial runs
        previous = json.loads(args.out.read_text())
        out["rows"] = previous.get("rows", [])
    for task in tasks:
        kind = "bonn" if task in BONN_TASKS else "eegmmidb"
        for label in rows:
            if kind not in MODELS[label][2]:
                continue
            print(f"{task} / {label}", flush=True)
            row = run_row(task, label, args)
            row["date"] = out["date"]
            out["rows"] = [r for r in out["rows"] if (r["task"], r["row"]) != (task, label)] + [row]
            args.out.write_text(json.dumps(out, indent=2))
            sd = row["score_sd_over_seeds"]
            print(
                f"== {task:28s} {label:24s} {row['score_mean']:.3f}"
                + (f" +/- {sd:.3f}" if sd is not None else "")
                + f"  CI {row['seed0_ci'][0]:.3f}-{row['seed0_ci'][1]:.3f}"
                + f"  p {row['seed0_p_value']}  {row['seconds']} s",
                flush=True,
            )


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
