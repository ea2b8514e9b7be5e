"""Beyond one machine: Ray fan-out vs the local backend, the chunked store vs memory, peak RSS.

Three measurements, each side by side in one run (issue 17's goals):

1. **fan-out**: a label-permutation test (``--permutations``, default 200; leave-one-subject-out
   logistic regression on a simulated 4-subject data set) on the local backend (in process) and
   on a 2-node Ray cluster started here (:class:`neurodl.execution.LocalRayCluster`: a head and a
   worker node, 1 CPU each, separate ``ray start`` processes on 127.0.0.1): same p-value and
   null distribution? Then the scheduling overhead per unit: ``--units`` units that each keep a
   CPU busy for ``--unit-seconds`` (wall clock) run on the cluster; overhead per unit =
   (wall x CPUs - sum of unit times) / units, as a share of the unit time.
2. **store**: ShallowConvNet trained by the engine (:func:`neurodl.estimators.torch_engine.train`)
   on 288 x 22 x 1125 simulated windows, from memory and from a chunked zarr store
   (:meth:`ChunkedStore.torch_view`), epochs alternating; throughput ratio and whether the
   weights are identical.
3. **memory**: a subprocess writes a corpus ``--memory-factor`` times a memory budget, one
   recording at a time, and trains on it from the store; its peak RSS (``VmHWM``) above the
   warmed-up baseline is compared with the budget.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale.py            # full
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale.py --smoke    # ~1-2 min
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neurodl.data import EpochsDataset


def planted(n_subjects: int = 4, n_per_subject: int = 120, n_features: int = 200, seed: int = 0):
    """Binary labels, class 1 shifted by 0.15 on every feature; subjects as groups."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.repeat([0, 1], n_per_subject // 2), n_subjects)
    X = rng.normal(size=(len(y), n_features)) + 0.15 * y[:, None]
    md = pd.DataFrame({"subject": np.repeat(np.arange(n_subjects), n_per_subject).astype(str)})
    return EpochsDataset(X, y=y, metadata=md)


def burn(seconds: float, unit: int) -> tuple[int, float]:
    """Keep one CPU busy for ``seconds`` of wall time; return (unit, measured seconds)."""
    t0 = time.perf_counter()
    a = np.random.default_rng(unit).normal(size=(64, 64))
    while time.perf_counter() - t0 < seconds:
        a = np.tanh(a @ a.T / 64.0)
    return unit, time.perf_counter() - t0


def bench_fanout(
    n_permutations: int, n_units: int, unit_seconds: float, network: bool = False
) -> dict:
    from sklearn.linear_model import LogisticRegression

    from neurodl.estimators import make_estimator
    from neurodl.evaluation import permutation_test
    from neurodl.execution import ExecutionConfig, LocalRayCluster, connect_ray, run_units

    ds = planted()
    est = (
        make_estimator(  # a network refitted on every permutation: seeded, one thread
            "mlp", n_hidden=16, max_epochs=5, validation_fraction=0.0, num_threads=1, seed=0
        )
        if network
        else LogisticRegression(max_iter=500)
    )
    proto = "leave-one-subject-out"
    out: dict = {
        "model": "mlp (16 hidden, 5 epochs)" if network else "logistic regression",
        "n_permutations": n_permutations,
        "n_samples": ds.n_samples,
    }
    t0 = time.perf_counter()
    local = permutation_test(est, ds, proto, n_permutations=n_permutations, seed=0)
    out["local_wall_s"] = time.perf_counter() - t0
    out["local_unit_s"] = out["local_wall_s"] / (n_permutations + 1)
    t_start = time.perf_counter()
    with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
        import ray

        exe = ExecutionConfig(backend="ray", address=cluster.address)
        connect_ray(exe)
        cluster.wait_for_nodes(ray)
        out["cluster_start_s"] = time.perf_counter() - t_start
        run_units(burn, [0, 1, 2, 3], shared=0.5, execution=exe)  # worker processes up
        t0 = time.perf_counter()
        remote = permutation_test(
            est, ds, proto, n_permutations=n_permutations, seed=0, execution=exe
        )
        out["ray_wall_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        units = run_units(burn, list(range(n_units)), shared=unit_seconds, execution=exe)
        wall = time.perf_counter() - t0
    busy = sum(s for _, s in units)
    out.update(
        p_local=local.p_value,
        p_ray=remote.p_value,
        null_identical=bool(np.array_equal(local.null_distribution, remote.null_distribution)),
        score_identical=local.score == remote.score,
        overhead_units=n_units,
        overhead_unit_s=unit_seconds,
        overhead_wall_s=wall,
        overhead_ideal_s=busy / 2,
        overhead_per_unit_s=(wall * 2 - busy) / n_units,
    )
    out["overhead_share"] = out["overhead_per_unit_s"] / unit_seconds
    return out


def bench_store(n_samples: int, n_pairs: int, tmp: Path) -> dict:
    import torch

    from neurodl.estimators.torch_engine import TrainConfig, train
    from neurodl.io.chunked_store import write_store
    from neurodl.models.shallow import ShallowConvNet

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n_samples)
    X = rng.normal(size=(n_samples, 22, 1125)).astype(np.float32)
    recs = [EpochsDataset(X[i : i + 48], y=y[i : i + 48]) for i in range(0, n_samples, 48)]
    t0 = time.perf_counter()
    store = write_store(tmp / "bci.zarr", recs, provenance={"simulated": True})
    write_s = time.perf_counter() - t0
    cfg = TrainConfig(task="classification", max_epochs=1, batch_size=64, early_stopping=False)

    def epoch(source) -> tuple[float, dict]:
        torch.manual_seed(0)
        net = ShallowConvNet(n_chans=22, n_times=1125, n_outputs=4)
        t0 = time.perf_counter()
        train(net, source, y, None, None, cfg)
        return time.perf_counter() - t0, net.state_dict()

    epoch(X)  # warm-up: kernels, allocator, the optimiser's lazy imports
    times_mem, times_store = [], []
    identical = True
    for _ in range(n_pairs):
        tm, wm = epoch(X)
        ts, ws = epoch(store.torch_view())
        times_mem.append(tm)
        times_store.append(ts)
        identical &= all(torch.equal(wm[k], ws[k]) for k in wm)
    ratios = [m / s for m, s in zip(times_mem, times_store, strict=True)]
    return {
        "n_samples": n_samples,
        "store_mb": store.nbytes() / 2**20,
        "write_s": write_s,
        "epoch_memory_s": times_mem,
        "epoch_store_s": times_store,
        "throughput_ratio_median": statistics.median(ratios),
        "weights_identical": bool(identical),
    }


MEMORY_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from neurodl.data import EpochsDataset
    from neurodl.estimators.torch_engine import TrainConfig, train
    from neurodl.io.chunked_store import write_store
    from neurodl.models.shallow import ShallowConvNet

    def status(key):
        text = open("/proc/self/status").read()
        return int(text.split(key + ":")[1].split()[0]) * 1024

    torch.set_num_threads(1)
    n_rec, per_rec, C, T = int(sys.argv[2]), 16, 22, 1000
    def recordings():
        for k in range(n_rec):
            rng = np.random.default_rng(k)
            y = rng.integers(0, 2, per_rec)
            X = rng.normal(size=(per_rec, C, T)).astype(np.float32)
            X[:, 0] += 2 * y[:, None]
            yield EpochsDataset(X, y=y)
    cfg = TrainConfig(task="classification", max_epochs=1, batch_size=32, early_stopping=False)
    net = ShallowConvNet(n_chans=C, n_times=T, n_outputs=2, n_filters_time=8, n_filters_spat=8)
    warm = write_store(sys.argv[1] + ".warm", [EpochsDataset(np.zeros((64, C, T), np.float32),
                       y=np.arange(64) % 2)], provenance={})
    train(net, warm.torch_view(), warm.y, None, None, cfg)   # warm up torch, zarr, the engine
    base = status("VmRSS")
    store = write_store(sys.argv[1], recordings(), provenance={"sim": 1})
    after_write = status("VmHWM")
    train(net, store.torch_view(), store.y, None, None, cfg)
    print(json.dumps({"base": base, "write_peak": after_write, "train_peak": status("VmHWM"),
                      "store_bytes": store.nbytes()}))
    """
)


def bench_memory(budget_mb: int, factor: float, tmp: Path) -> dict:
    per_rec = 16 * 22 * 1000 * 4
    n_rec = int(np.ceil(factor * budget_mb * 2**20 / per_rec))
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(tmp / "corpus.zarr"), str(n_rec)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    r = json.loads(res.stdout)
    mb = 2**20
    return {
        "budget_mb": budget_mb,
        "store_mb": r["store_bytes"] / mb,
        "store_over_budget": r["store_bytes"] / (budget_mb * mb),
        "baseline_mb": r["base"] / mb,
        "peak_above_baseline_mb": (r["train_peak"] - r["base"]) / mb,
        "write_peak_above_baseline_mb": (r["write_peak"] - r["base"]) / mb,
        "within_budget": r["train_peak"] - r["base"] < budget_mb * mb,
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, ~1-2 min")
    parser.add_argument("--permutations", type=int, default=200)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--unit-seconds", type=float, default=1.0)
    parser.add_argument("--store-pairs", type=int, default=2)
    parser.add_argument("--budget-mb", type=int, default=64)
    parser.add_argument("--memory-factor", type=float, default=4.2)
    parser.add_argument("--only", choices=["fanout", "store", "memory"], action="append")
    parser.add_argument("--network", action="store_true", help="fan-out test of an MLP")
    args = parser.parse_args(argv)
    if args.smoke:
        args.permutations, args.units, args.store_pairs, args.budget_mb = 20, 8, 1, 32
    parts = args.only or ["fanout", "store", "memory"]
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, nproc {os.cpu_count()}, python "
        f"{platform.python_version()}",
        "load_before": os.getloadavg(),
        "smoke": args.smoke,
        "peer_braindecode": Path("~/.cache/neurodl-peers/bin/python").expanduser().exists(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        if "fanout" in parts:
            results["fanout"] = bench_fanout(
                args.permutations, args.units, args.unit_seconds, network=args.network
            )
            print(json.dumps({"fanout": results["fanout"]}), flush=True)
        if "store" in parts:
            results["store"] = bench_store(96 if args.smoke else 288, args.store_pairs, Path(tmp))
            print(json.dumps({"store": results["store"]}), flush=True)
        if "memory" in parts:
            results["memory"] = bench_memory(args.budget_mb, args.memory_factor, Path(tmp))
            print(json.dumps({"memory": results["memory"]}), flush=True)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
