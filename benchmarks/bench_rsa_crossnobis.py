"""Speed benchmark: crossnobis RDM and bootstrap model evaluation, neurodl vs rsatoolbox.

Usage::

    NEURODL_DATA=../shared/data python benchmarks/bench_rsa_crossnobis.py \
        [--peer-python ~/.cache/neurodl-peers/bin/python] [--repeats 3] [--out FILE.md]

Task 1: crossnobis RDM for 92 conditions x 10,000 voxels x 8 runs (synthetic Gaussian patterns,
seed 0; identity noise precision, as rsatoolbox's default ``noise=None``).
Task 2: 1,000 condition-bootstrap evaluations of the 8 fixed model RDMs of the 92-image data
against the 4 subjects' session-averaged hIT RDMs (Pearson), noise ceiling included
(rsatoolbox: ``eval_bootstrap_pattern(models, data, method='corr', N=1000)``).

The peer runs in a separate interpreter (``../shared/tools/peer-venv.sh`` builds it) on the
same arrays, in the same run; the script prints a Markdown table with times and the maximum
absolute difference of the crossnobis RDMs and of the point scores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_COND, N_VOX, N_RUNS, N_BOOT = 92, 10_000, 8, 1000

PEER_CODE = r"""
import json, sys, time
import numpy as np
import rsatoolbox
from rsatoolbox.data import Dataset
from rsatoolbox.rdm import calc_rdm, RDMs
from rsatoolbox.model import ModelFixed
from rsatoolbox.inference import eval_bootstrap_pattern, eval_fixed
d = np.load(sys.argv[1])
repeats = int(sys.argv[2])
P = d["patterns"]  # (runs, cond, vox)
n_runs, n_cond, n_vox = P.shape
ds = Dataset(P.reshape(-1, n_vox), obs_descriptors={
    "conds": np.tile(np.arange(n_cond), n_runs), "runs": np.repeat(np.arange(n_runs), n_cond)})
times = []
for _ in range(repeats):
    t = time.perf_counter()
    rdm = calc_rdm(ds, method="crossnobis", descriptor="conds", cv_descriptor="runs")
    times.append(time.perf_counter() - t)
np.save(sys.argv[3], rdm.get_vectors()[0])
models = [ModelFixed(f"m{i}", RDMs(v[None])) for i, v in enumerate(d["models"])]
data = RDMs(d["data"])
point = np.asarray(eval_fixed(models, data, method="corr").evaluations).reshape(len(models), -1).mean(-1)
bt = []
for _ in range(repeats):
    t = time.perf_counter()
    res = eval_bootstrap_pattern(models, data, method="corr", N=1000)
    bt.append(time.perf_counter() - t)
print(json.dumps({"crossnobis_s": min(times), "bootstrap_s": min(bt), "point": point.tolist(),
                  "boot_sd": np.nanstd(res.evaluations, axis=0).reshape(len(models), -1).mean(-1).tolist(),
                  "version": __import__("importlib.metadata").metadata.version("rsatoolbox")}))
"""


def _time(func, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    from neurodl import get_data_root
    from neurodl.analyses.rsa import compute_rdm, evaluate_models, read_kriegeskorte92

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    patterns = rng.standard_normal((N_RUNS, N_COND, N_VOX))
    k92 = read_kriegeskorte92(Path(get_data_root()) / "fmri" / "kriegeskorte92")
    models, data = k92["models"], k92["hIT"].average_by("subject")

    t_cn, rdm = _time(lambda: compute_rdm(patterns, metric="crossnobis"), args.repeats)
    t_bs, res = _time(
        lambda: evaluate_models(models, data, bootstrap="conditions", n_bootstrap=N_BOOT, seed=0),
        args.repeats,
    )
    rows = {"neurodl": {"crossnobis_s": t_cn, "bootstrap_s": t_bs}}
    checks = {}
    if args.peer_python:
        with tempfile.TemporaryDirectory() as tmp:
            inp = Path(tmp) / "in.npz"
            np.savez(
                inp, patterns=patterns, models=models.dissimilarities, data=data.dissimilarities
            )
            code = Path(tmp) / "peer.py"
            code.write_text(PEER_CODE)
            rdm_path = Path(tmp) / "peer_rdm.npy"
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            proc = subprocess.run(
                [args.peer_python, str(code), str(inp), str(args.repeats), str(rdm_path)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode:
                raise RuntimeError(f"peer run failed:\n{proc.stderr[-3000:]}")
            peer = json.loads(proc.stdout.strip().splitlines()[-1])
            peer_rdm = np.load(rdm_path)
        rows[f"rsatoolbox {peer['version']}"] = peer
        checks["max |crossnobis difference|"] = float(
            np.max(np.abs(peer_rdm - rdm.dissimilarities[0]))
        )
        checks["max |point score difference|"] = float(
            np.max(np.abs(np.array(peer["point"]) - res.scores))
        )
        checks["bootstrap SD (neurodl)"] = np.round(
            np.nanstd(res.bootstrap_scores, axis=0), 4
        ).tolist()
        checks["bootstrap SD (rsatoolbox)"] = np.round(peer["boot_sd"], 4).tolist()

    lines = [
        "| implementation | crossnobis 92 x 10,000 x 8 (s) | 1,000 bootstrap evaluations (s) |",
        "|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['crossnobis_s']:.3f} | {r['bootstrap_s']:.3f} |")
    if len(rows) > 1:
        peer_row = list(rows.values())[1]
        lines.append(
            f"| speed-up | {peer_row['crossnobis_s'] / t_cn:.1f}x | {peer_row['bootstrap_s'] / t_bs:.1f}x |"
        )
    lines.append("")
    lines.append(
        "Reference from the issue (rsatoolbox 0.3.2, 2-core CI-like CPU): crossnobis 13.2 s, "
        "bootstrap 11.8 s."
    )
    for k, v in checks.items():
        lines.append(f"- {k}: {v}")
    lines.append(
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}; best of {args.repeats} runs"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
