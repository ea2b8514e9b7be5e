"""Training throughput of EEGNet, ShallowConvNet and Deep4: neurodl vs braindecode (CPU).

Setting (issue 4, section 5): 288 trials x 22 channels x 1125 samples (250 Hz), 4 classes,
batch 64 (shuffled, last partial batch kept), AdamW (lr 1e-3), cross-entropy, 2 CPU threads;
median wall time (and CPU time of the process) of one training epoch over ``--epochs`` epochs
after one warm-up epoch; the two libraries' epochs alternate and the speed-up is the median of
the per-pair ratios, because absolute times on shared machines swing several-fold with load.

Runs in either environment:

* the project venv: times neurodl's models only;
* the peer venv built by ``../shared/tools/peer-venv.sh`` (braindecode 1.8.1): adds
  ``--neurodl-src`` (default: the ``src`` folder next to this script) to ``sys.path`` and times
  braindecode's ``EEGNet``, ``ShallowFBCSPNet`` and ``Deep4Net`` and neurodl's models side by
  side in one process, interleaved, with parameter counts compared directly.

Usage::

    ~/.cache/neurodl-peers/bin/python benchmarks/bench_training_speed.py [--epochs 5]
    .venv/bin/python benchmarks/bench_training_speed.py
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

#: (label, neurodl registry name, braindecode class name, extra neurodl kwargs). EEGNet's
#: kernels are pinned to 64/16 samples as in braindecode (neurodl would scale them with sfreq).
PAIRS = [
    ("EEGNet", "eegnet", "EEGNet", {"kernel_length": 64, "separable_kernel_length": 16}),
    ("ShallowConvNet", "shallow", "ShallowFBCSPNet", {}),
    ("Deep4", "deep4", "Deep4Net", {}),
]
N_TRIALS, N_CHANS, N_TIMES, N_CLASSES, SFREQ, BATCH = 288, 22, 1125, 4, 250.0, 64


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _braindecode(cls_name: str):
    try:
        import braindecode.models as bdm
    except ImportError:
        return None, None
    cls = getattr(bdm, cls_name)
    kwargs = {"n_chans": N_CHANS, "n_outputs": N_CLASSES, "n_times": N_TIMES}
    if cls_name == "EEGNet":
        kwargs["sfreq"] = SFREQ
    else:
        kwargs["final_conv_length"] = "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**kwargs), __import__("braindecode").__version__


def _trainer(model, X, y, seed: int):
    """Return a function that trains ``model`` for one epoch and returns (wall s, CPU s)."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def epoch() -> tuple[float, float]:
        perm = torch.randperm(len(X), generator=gen)
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(X), BATCH):
            idx = perm[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - t0, time.process_time() - c0

    return epoch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--neurodl-src", type=Path, default=Path(__file__).resolve().parents[1] / "src"
    )
    args = parser.parse_args(argv)
    if str(args.neurodl_src) not in sys.path:
        sys.path.insert(0, str(args.neurodl_src))
    from neurodl.models import build_model, count_parameters

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.standard_normal((N_TRIALS, N_CHANS, N_TIMES)), dtype=torch.float32)
    y = torch.as_tensor(rng.integers(0, N_CLASSES, N_TRIALS))

    print(
        f"# python {platform.python_version()}, torch {torch.__version__}, "
        f"{args.threads} threads, CPU: {_cpu_model()} (nproc {__import__('os').cpu_count()})"
    )
    rows = []
    for label, name, bd_name, extra in PAIRS:
        torch.manual_seed(0)
        ours = build_model(
            name, n_chans=N_CHANS, n_times=N_TIMES, n_outputs=N_CLASSES, sfreq=SFREQ, **extra
        )
        torch.manual_seed(0)
        theirs, bd_version = _braindecode(bd_name)
        # Epochs alternate (ours, theirs, ours, ...) so both see the same machine load; the
        # first epoch of each is a warm-up. Ratios are taken per pair, then the median.
        run_ours = _trainer(ours, X, y, seed=0)
        run_theirs = _trainer(theirs, X, y, seed=0) if theirs is not None else None
        wall_o, cpu_o, wall_t, cpu_t = [], [], [], []
        for i in range(args.epochs + 1):
            w, c = run_ours()
            if i:
                wall_o.append(w)
                cpu_o.append(c)
            if run_theirs is not None:
                w, c = run_theirs()
                if i:
                    wall_t.append(w)
                    cpu_t.append(c)
        row = {
            "model": label,
            "params_ours": count_parameters(ours),
            "median_ours": statistics.median(wall_o),
            "cpu_ours": statistics.median(cpu_o),
        }
        if theirs is not None:
            row.update(
                params_bd=count_parameters(theirs),
                median_bd=statistics.median(wall_t),
                cpu_bd=statistics.median(cpu_t),
                ratio=statistics.median(t / o for t, o in zip(wall_t, wall_o, strict=True)),
                cpu_ratio=statistics.median(t / o for t, o in zip(cpu_t, cpu_o, strict=True)),
                bd=f"braindecode {bd_version} {bd_name}",
            )
        rows.append(row)

    header = "| model | params neurodl | neurodl epoch wall (s) | neurodl epoch CPU (s) |"
    sep = "|---|---:|---:|---:|"
    if any("median_bd" in r for r in rows):
        header += (
            " params braindecode | braindecode epoch wall (s) | braindecode epoch CPU (s) |"
            " speed-up wall | speed-up CPU |"
        )
        sep += "---:|---:|---:|---:|---:|"
    print(header)
    print(sep)
    for r in rows:
        line = f"| {r['model']} | {r['params_ours']:,} | {r['median_ours']:.3f} | {r['cpu_ours']:.3f} |"
        if "median_bd" in r:
            line += (
                f" {r['params_bd']:,} | {r['median_bd']:.3f} | {r['cpu_bd']:.3f} |"
                f" {r['ratio']:.2f}x | {r['cpu_ratio']:.2f}x |"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
