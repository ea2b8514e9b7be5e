"""Hyper-parameter search: successive halving vs every fold, local vs Ray Tune, same winner?

One search, the one an outer training fold of ``examples/search_simulated_motor_imagery.yaml``
runs: simulated motor imagery (3 training subjects x 2 sessions x 60 trials, 16 channels,
128 Hz, 8-30 Hz band-pass), CSP + LDA, ``n_trials`` configurations (``n_components`` drawn in
2..10, ``reg`` among Ledoit-Wolf, OAS, 0.1), 3-fold inner CV grouped by subject. Measured:

1. local backend, ``scheduler: none`` (every trial on every inner fold) vs ``asha`` (synchronous
   successive halving, reduction factor 2): inner fits, wall and CPU time, best configuration;
2. Ray Tune on a 2-node cluster started here (``LocalRayCluster``, 1 CPU per node), same two
   schedulers: wall time and best configuration (``none`` must give the local trial scores).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_search.py [--n-trials 8] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _data():
    from neurodl.data import EpochsDataset
    from neurodl.data.simulate import simulate_motor_imagery
    from neurodl.preprocessing import split_preprocessing

    ds = simulate_motor_imagery(n_subjects=4, n_sessions=2, n_trials=60, seed=0)
    lead, _ = split_preprocessing([{"bandpass": {"l_freq": 8.0, "h_freq": 30.0}}], ds.sfreq)
    X = lead.fit_transform(ds.X)  # per-sample filtering: applied once, before any split
    ds = EpochsDataset(X, y=ds.y, metadata=ds.metadata, sfreq=ds.sfreq)
    keep = ds.metadata["subject"].astype(str) != str(ds.metadata["subject"].iloc[0])
    return ds.subset(np.flatnonzero(keep.to_numpy()))  # one outer training fold


def _csp_lda(params):
    """CSP + LDA with ``params`` (the factory the search calls for each configuration)."""
    from neurodl.analyses.decoding import make_decoder

    return make_decoder("csp_lda", params, sfreq=128.0)


def _search(ds, n_trials, scheduler, execution):
    from neurodl.evaluation import search_hyperparameters

    space = {"n_components": {"randint": [2, 11]}, "reg": {"choice": ["ledoit_wolf", "oas", 0.1]}}
    t0, c0 = time.perf_counter(), time.process_time()
    res = search_hyperparameters(
        _csp_lda,
        ds,
        space,
        n_trials=n_trials,
        scheduler=scheduler,
        execution=execution,
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    fits = sum(t["n_folds"] for t in res.trials)
    return res, wall, cpu, fits


def _row(name, res, wall, cpu, fits):
    return (
        f"| {name} | {fits} | {wall:.1f} | {cpu:.1f} | {res.best_params} | {res.best_score:.3f} |"
    )


def main() -> None:
    """Run the measurements and print a markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-trials", type=int, default=8)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()}")
    ds = _data()
    print(f"searched samples: {ds.n_samples} x {ds.X.shape[1:]}")
    rows = [
        "| run | inner fits | wall s | driver CPU s | best | inner score |",
        "|---|---:|---:|---:|---|---:|",
    ]
    out = {}
    for sched in ("none", "asha"):
        out[("local", sched)] = _search(ds, args.n_trials, sched, "local")
        rows.append(_row(f"local, {sched}", *out[("local", sched)]))
    if not args.no_ray:
        from neurodl.execution import ExecutionConfig, LocalRayCluster, connect_ray

        t0 = time.perf_counter()
        with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
            import ray

            cfg = ExecutionConfig(backend="ray", address=cluster.address)
            connect_ray(cfg)
            cluster.wait_for_nodes(ray)
            print(f"cluster start: {time.perf_counter() - t0:.1f} s")
            for sched in ("none", "asha"):
                out[("ray", sched)] = _search(ds, args.n_trials, sched, cfg)
                rows.append(_row(f"Ray Tune 2x1 CPU, {sched}", *out[("ray", sched)]))
        same = [t["fold_scores"] for t in out[("ray", "none")][0].trials] == [
            t["fold_scores"] for t in out[("local", "none")][0].trials
        ]
        print(f"Ray Tune 'none' trial fold scores identical to local: {same}")
    print("\n".join(rows))
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
