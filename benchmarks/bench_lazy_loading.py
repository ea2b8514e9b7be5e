"""Lazy loading of windows: neurodl's chunked store against braindecode's lazy windows.

Issue 17's goal: training data read from the chunked store at >= 2x braindecode's lazy-loading
windows per second on the same corpus. One run, side by side:

1. A corpus of ``--recordings`` raw FIF files (22 EEG channels, 250 Hz, ``--seconds`` each) is
   written to a temporary folder (MNE).
2. **neurodl**: the files are read one at a time (:func:`neurodl.io.read`), cut into
   non-overlapping windows of 1125 samples (:func:`neurodl.preprocessing.make_windows`) and
   streamed into a zarr store (:class:`~neurodl.io.chunked_store.ChunkedStoreWriter`, timed);
   then epochs of a ``torch`` DataLoader over :meth:`ChunkedStore.torch_dataset` (batch 64,
   shuffled, seeded, no worker processes) are timed.
3. **braindecode** (the peer venv that ``../shared/tools/peer-venv.sh`` builds; a subprocess):
   the same FIF files opened with ``preload=False``, ``create_fixed_length_windows(...,
   preload=False)`` with the same window and stride, the same DataLoader settings.

Throughput = windows per second over an epoch (median of ``--epochs`` epochs after a warm-up
epoch; the page cache holds the files for both). Both read float32 windows of 22 x 1125.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lazy_loading.py \\
        --peer-python ~/.cache/neurodl-peers/bin/python --out benchmarks/results/lazy_loading.json
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

N_CHANS, SFREQ, WINDOW, BATCH = 22, 250.0, 1125, 64

PEER = textwrap.dedent(
    """
    import json, statistics, sys, time
    from pathlib import Path
    import torch
    from torch.utils.data import DataLoader
    import mne
    import braindecode
    from braindecode.datasets import BaseConcatDataset
    try:
        from braindecode.datasets import RawDataset as Base
    except ImportError:
        from braindecode.datasets import BaseDataset as Base
    from braindecode.preprocessing import create_fixed_length_windows

    torch.set_num_threads(1)
    files, window, batch, epochs = sorted(Path(sys.argv[1]).glob("*_raw.fif")), *map(int, sys.argv[2:5])
    parts = []
    for i, f in enumerate(files):
        raw = mne.io.read_raw_fif(f, preload=False, verbose="error")
        parts.append(Base(raw, {"subject": i}, target_name=None))
    concat = BaseConcatDataset(parts)
    t0 = time.perf_counter()
    windows = create_fixed_length_windows(
        concat, start_offset_samples=0, stop_offset_samples=None,
        window_size_samples=window, window_stride_samples=window, drop_last_window=True,
        preload=False,
    )
    setup_s = time.perf_counter() - t0
    loader = DataLoader(windows, batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(0), num_workers=0)
    def epoch():
        n, t0 = 0, time.perf_counter()
        for X, *_ in loader:
            n += len(X)
        return n, time.perf_counter() - t0
    epoch()  # warm-up
    runs = [epoch() for _ in range(epochs)]
    print(json.dumps({"braindecode": braindecode.__version__, "n_windows": runs[0][0],
                      "shape": list(windows[0][0].shape), "setup_s": setup_s,
                      "epoch_s": [t for _, t in runs],
                      "windows_per_s": statistics.median(n / t for n, t in runs)}))
    """
)


def write_corpus(folder: Path, n_recordings: int, seconds: float) -> list[Path]:
    """Raw FIF files of simulated EEG (volts), one per recording."""
    import mne

    info = mne.create_info([f"EEG{i:02d}" for i in range(N_CHANS)], SFREQ, "eeg")
    paths = []
    for k in range(n_recordings):
        data = np.random.default_rng(k).normal(scale=1e-5, size=(N_CHANS, int(seconds * SFREQ)))
        path = folder / f"rec{k:03d}_raw.fif"
        mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
        paths.append(path)
    return paths


def neurodl_side(paths: list[Path], store_path: Path, n_epochs: int) -> dict:
    """Stream the files into a store, then time DataLoader epochs over it."""
    import torch
    from torch.utils.data import DataLoader

    from neurodl.io import read
    from neurodl.io.chunked_store import ChunkedStoreWriter, open_store
    from neurodl.preprocessing import make_windows

    torch.set_num_threads(1)
    window_s = WINDOW / SFREQ
    t0 = time.perf_counter()
    with ChunkedStoreWriter(store_path, provenance={"windows": window_s}) as writer:
        for path in paths:  # one recording in memory at a time
            writer.append(make_windows(read(path), window=window_s, stride=window_s))
    write_s = time.perf_counter() - t0
    store = open_store(store_path)
    loader = DataLoader(
        store.torch_dataset(),
        batch_size=BATCH,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        num_workers=0,
    )

    def epoch() -> tuple[int, float]:
        n, t0 = 0, time.perf_counter()
        for X, _ in loader:
            n += len(X)
        return n, time.perf_counter() - t0

    epoch()  # warm-up
    runs = [epoch() for _ in range(n_epochs)]
    return {
        "n_windows": runs[0][0],
        "shape": list(store.X[[0]].shape[1:]),
        "write_s": write_s,
        "store_mb": store.nbytes() / 2**20,
        "epoch_s": [t for _, t in runs],
        "windows_per_s": statistics.median(n / t for n, t in runs),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sides on one corpus and print (and optionally save) the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument(
        "--peer-python", default=str(Path("~/.cache/neurodl-peers/bin/python").expanduser())
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = write_corpus(tmp, args.recordings, args.seconds)
        ours = neurodl_side(paths, tmp / "windows.zarr", args.epochs)
        peer = None
        if Path(args.peer_python).exists():
            out = subprocess.run(
                [args.peer_python, "-c", PEER, str(tmp), str(WINDOW), str(BATCH), str(args.epochs)],
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                check=False,
            )
            if out.returncode != 0:
                raise SystemExit(f"braindecode side failed:\n{out.stderr[-3000:]}")
            peer = json.loads(out.stdout.strip().splitlines()[-1])
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_avg": os.getloadavg(),
        "corpus": {"recordings": args.recordings, "seconds": args.seconds, "window": WINDOW},
        "neurodl": ours,
        "braindecode": peer,
        "ratio_windows_per_s": None
        if peer is None
        else ours["windows_per_s"] / peer["windows_per_s"],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
