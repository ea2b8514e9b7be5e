"""Benchmark of neurodl.analyses.dynamics (issue 7): real-data decoding floors and the simulated
latent-dynamics goal, with training time per epoch and inference latency per bin.

Run (from the repository root):

    NEURODL_DATA=../shared/data python benchmarks/bench_dynamics.py [--threads 2] [--quick]

Prints a Markdown table; paste it into benchmarks/results/dynamics.md with the machine details.
Nothing here is asserted: the numbers are recorded, not tested.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def chewie(rows: list, quick: bool, skip_rnn: bool = False) -> None:
    import scipy.io as sio

    from neurodl.analyses.dynamics import make_decoder, r2_per_dim

    root = Path(os.environ["NEURODL_DATA"]) / "spikes/dad_reaching_mihi_chewie/chewie_demo.mat"
    d = sio.loadmat(root)
    Xtr, ytr = d["Yte"].astype(float), d["Xte"]  # the 1818-bin split
    Xte, yte = d["Ytr"].astype(float), d["Xtr"]  # the 1200-bin split
    ep = 30 if quick else 100
    specs = {
        "ridge (current bin, inner-CV alpha)": ("ridge", {}, 0.59),
        "Wiener (10 bins, inner-CV alpha)": ("wiener", {"n_lags": 10}, 0.62),
        "Kalman": ("kalman", {}, None),
        "GRU (10 bins)": ("gru", {"n_lags": 10, "hidden_size": 32, "max_epochs": ep}, 0.59),
        "LSTM (10 bins)": ("lstm", {"n_lags": 10, "hidden_size": 32, "max_epochs": ep}, 0.57),
        "LSTM x5 ensemble": (
            "lstm",
            {"n_lags": 10, "hidden_size": 32, "max_epochs": ep, "n_ensemble": 5},
            0.65,
        ),
    }
    for label, (name, params, ref) in specs.items():
        if skip_rnn and name in ("gru", "lstm"):
            continue
        t0 = time.perf_counter()
        est = make_decoder(name, **params).fit(Xtr, ytr)
        fit = time.perf_counter() - t0
        t1 = time.perf_counter()
        pred = est.predict(Xte)
        lat = (time.perf_counter() - t1) / len(Xte)
        hist = getattr(est, "history_", None)
        per_epoch = float(np.mean([h["time_per_epoch_s"] for h in hist])) if hist else None
        rows.append(
            (
                "chewie velocity R^2",
                label,
                float(np.mean(r2_per_dim(yte, pred))),
                ref,
                fit,
                per_epoch,
                lat,
            )
        )


def simulated(rows: list, quick: bool, threads: int, n_train: int = 160) -> dict:
    from neurodl.analyses import dynamics as dyn
    from neurodl.data.simulate import simulate_latent_population

    n_test = 40
    pop = simulate_latent_population(n_neurons=50, n_trials=n_train + n_test, n_bins=50, seed=0)
    c = pop.counts.astype(float)
    true = pop.rates * pop.bin_size
    n_held, fwd = 40, 10
    T = c.shape[1] - fwd
    tr, te = np.arange(n_train), np.arange(n_train, n_train + n_test)
    true_co = dyn.co_bps(true[te][:, :T, n_held:], c[te][:, :T, n_held:])
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    m = dyn.LFADS(max_epochs=60 if quick else 300, patience=60, random_state=0).fit(
        c[tr][:, :T, :n_held], c[tr]
    )
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    out = m.predict(c[:, :T, :n_held])
    r = out["rates"]
    res = {
        "co_bps": dyn.co_bps(r[te][:, :T, n_held:], c[te][:, :T, n_held:]),
        "co_bps_true": true_co,
        "fp_bps": dyn.fp_bps(r[te][:, T:], c[te][:, T:]),
        "fp_bps_true": dyn.fp_bps(true[te][:, T:], c[te][:, T:]),
        "latent_r2": dyn.latent_r2(out["factors"], pop.latents, train=tr),
        "vel_r2": dyn.velocity_r2(r[:, :T], pop.behavior[:, :T]),
        "psth_r2": dyn.psth_r2(r[:, :T], true[:, :T], pop.conditions),
        "train_wall_s": wall,
        "train_cpu_s": cpu,
        "threads": threads,
        "n_train_trials": n_train,
        "epochs": m.history_["n_epochs"],
        "time_per_epoch_s": m.history_["time_per_epoch_s"],
        "latency_per_bin_s": out["latency_per_bin_s"],
    }
    res["co_bps_fraction"] = res["co_bps"] / true_co
    rows.append(
        (
            "sim co-bps",
            "LFADS",
            res["co_bps"],
            0.9 * true_co,
            wall,
            res["time_per_epoch_s"],
            res["latency_per_bin_s"],
        )
    )
    rows.append(("sim latent R^2", "LFADS", res["latent_r2"], 0.9, wall, None, None))
    feats = np.log(dyn.smooth_rates(c[:, :T, :n_held], 2.0) + 1e-3)
    ho = dyn.heldout_readout(feats[tr], c[tr][:, :T, n_held:], feats[te])
    rows.append(
        ("sim co-bps", "smoothing", dyn.co_bps(ho, c[te][:, :T, n_held:]), None, None, None, None)
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    ap.add_argument("--sim-train-trials", type=int, default=160, help="+ 40 test trials")
    ap.add_argument("--skip-rnn", action="store_true", help="chewie: linear decoders only")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows: list = []
    chewie(rows, args.quick, args.skip_rnn)
    sim = (
        None if args.skip_sim else simulated(rows, args.quick, args.threads, args.sim_train_trials)
    )
    print(
        "| benchmark | model | score | reference | fit time (s) | time/epoch (s) | latency/bin (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    fmt = lambda v: "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))  # noqa: E731
    for row in rows:
        print("| " + " | ".join(fmt(v) for v in row) + " |")
    if sim is not None:
        print("\n```json\n" + json.dumps(sim, indent=1) + "\n```")


if __name__ == "__main__":
    main()
