"""Training throughput of EEGNet, ShallowConvNet and Deep4: neurodl vs braindecode (CPU).

Setting (issue 4, section 5): 288 trials x 22 channels x 1125 samples (250 Hz), 4 classes,
batch 64 (shuffled, last partial batch kept), AdamW (lr 1e-3), cross-entropy, 2 CPU threads;
median wall time of one training epoch over ``--epochs`` epochs after one warm-up epoch.

Runs in either environment:

* the project venv: times neurodl's models only;
* the peer venv built by ``/work/shared/tools/peer-venv.sh`` (braindecode 1.8.1): adds
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


def _epoch_times(model, X, y, n_epochs: int, seed: int) -> list[float]:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(n_epochs + 1):  # first epoch = warm-up
        perm = torch.randperm(len(X), generator=gen)
        t0 = time.perf_counter()
        for start in range(0, len(X), BATCH):
            idx = perm[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per model")
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
        t_ours, t_theirs = [], []
        for r in range(args.rounds):  # interleave so both see the same machine load
            t_ours += _epoch_times(ours, X, y, args.epochs, seed=r)
            if theirs is not None:
                t_theirs += _epoch_times(theirs, X, y, args.epochs, seed=r)
        row = {
            "model": label,
            "params_ours": count_parameters(ours),
            "median_ours": statistics.median(t_ours),
        }
        if theirs is not None:
            row.update(
                params_bd=count_parameters(theirs),
                median_bd=statistics.median(t_theirs),
                bd=f"braindecode {bd_version} {bd_name}",
            )
        rows.append(row)

    header = "| model | params neurodl | median epoch neurodl (s) |"
    sep = "|---|---:|---:|"
    if any("median_bd" in r for r in rows):
        header += " params braindecode | median epoch braindecode (s) | speed-up |"
        sep += "---:|---:|---:|"
    print(header)
    print(sep)
    for r in rows:
        line = f"| {r['model']} | {r['params_ours']:,} | {r['median_ours']:.3f} |"
        if "median_bd" in r:
            line += (
                f" {r['params_bd']:,} | {r['median_bd']:.3f} | "
                f"{r['median_bd'] / r['median_ours']:.2f}x |"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
