"""neurodl's own fMRI steps beside nilearn on the Haxby slice: equal outputs, times side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fmri_vs_nilearn.py \
        [--data ../shared/data] [--radius 6] [--repeats 3] [--out benchmarks/results/fmri_vs_nilearn.md]

Compared (all on ``fmri/haxby2001_pymvpa``: 40x20x1x1452, 530 mask voxels, 12 runs):

1. masking: :func:`neurodl.io.read_nifti` with ``mask=`` vs ``NiftiMasker.fit_transform``;
2. per-run cleaning (linear detrend + z-score): :func:`neurodl.analyses.fmri.glm.clean_runs`
   vs ``nilearn.signal.clean`` run by run (neurodl divides by the population SD, nilearn by the
   sample SD: compared after the factor ``sqrt(n / (n - 1))`` per run);
3. searchlight, face vs house, leave-one-run-out, the same estimator (standardise + shrinkage
   LDA) and scorer (balanced accuracy): :func:`neurodl.analyses.fmri.searchlight.searchlight`
   with :func:`~neurodl.analyses.fmri.searchlight.sphere_neighbors` vs
   ``nilearn.decoding.SearchLight`` (``n_jobs=1`` both).

Each step runs neurodl's version ``--repeats`` times, then nilearn's; medians. On a shared
machine the load changes between the two, so read the times as an order of magnitude.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def _median_time(func, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NEURODL_DATA", "../shared/data"))
    parser.add_argument("--radius", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import nibabel as nib
    import nilearn
    from nilearn import signal
    from nilearn.decoding import SearchLight
    from nilearn.maskers import NiftiMasker
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import LeaveOneGroupOut
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import neurodl
    from neurodl.analyses.fmri.glm import clean_runs
    from neurodl.analyses.fmri.searchlight import searchlight, sphere_neighbors
    from neurodl.io.fmri import read_nifti

    root = Path(args.data) / "fmri" / "haxby2001_pymvpa"
    bold, mask_path = root / "bold.nii.gz", root / "mask.nii.gz"
    events = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                         names=["label", "run"])  # fmt: skip
    runs = events["run"].to_numpy()
    rows = []

    # 1. masking
    t_ours, vs = _median_time(lambda: read_nifti(bold, mask=mask_path), args.repeats)
    t_nl, x_nl = _median_time(
        lambda: NiftiMasker(mask_img=str(mask_path), standardize=None).fit_transform(str(bold)),
        args.repeats,
    )
    diff = float(np.abs(vs.masked().T - x_nl).max())
    rows.append(
        ("masking (read_nifti mask= / NiftiMasker)", t_ours, t_nl, f"max abs diff {diff:g}")
    )

    # 2. cleaning
    x = x_nl.astype(np.float64)
    t_ours, ours = _median_time(
        lambda: clean_runs(x.T, runs, detrend="linear", standardize=True).T, args.repeats
    )
    t_nl, ref = _median_time(
        lambda: signal.clean(x, runs=runs, detrend=True, standardize="zscore_sample", t_r=2.5),
        args.repeats,
    )
    n_run = np.bincount(runs)[runs][:, None]
    diff = float(np.abs(ours - ref * np.sqrt(n_run / (n_run - 1))).max())
    rows.append(("per-run detrend + z-score (clean_runs / signal.clean)", t_ours, t_nl,
                 f"max abs diff {diff:.1e} (after the ddof factor)"))  # fmt: skip

    # 3. searchlight, face vs house
    keep = events["label"].isin(["face", "house"]).to_numpy()
    xs, ys, gs = ref[keep], (events["label"][keep] == "house").to_numpy().astype(int), runs[keep]
    mask_img = nib.load(str(mask_path))
    mask = np.asarray(mask_img.dataobj).astype(bool)
    est = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr",
                                                                     shrinkage="auto"))  # fmt: skip

    def ours_sl():
        nb = sphere_neighbors(mask, args.radius, affine=mask_img.affine)
        return searchlight(xs, ys, nb, estimator=est, groups=gs, n_jobs=1), nb

    masker = NiftiMasker(mask_img=mask_img, standardize=None).fit()
    imgs = masker.inverse_transform(xs)

    def nilearn_sl():
        sl = SearchLight(mask_img, process_mask_img=mask_img, radius=args.radius, estimator=est,
                         cv=LeaveOneGroupOut(), scoring="balanced_accuracy", n_jobs=1,
                         verbose=0)  # fmt: skip
        with warnings.catch_warnings():  # "custom estimator at your own risk": intended here
            warnings.simplefilter("ignore", UserWarning)
            sl.fit(imgs, ys, groups=gs)
        return sl.scores_

    t_ours, (scores, nb) = _median_time(ours_sl, args.repeats)
    t_nl, nl_map = _median_time(nilearn_sl, args.repeats)
    nl_scores = np.asarray(nl_map)[mask]
    diff = np.abs(scores - nl_scores)
    rows.append((f"searchlight r={args.radius:g} mm, {mask.sum()} centres x 12 folds", t_ours, t_nl,
                 f"max abs diff {diff.max():.1e}, identical at {np.mean(diff < 1e-12):.1%} of "
                 f"voxels; mean neighbourhood {np.mean([len(n) for n in nb]):.1f} voxels; "
                 f"max accuracy {scores.max():.3f} / {nl_scores.max():.3f}"))  # fmt: skip

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# neurodl's own fMRI steps beside nilearn (Haxby 2001 slice)",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fmri_vs_nilearn.py "
        f"--radius {args.radius:g} --repeats {args.repeats}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the "
        f"end (shared machine); {now}; neurodl {neurodl.__version__}, nilearn {nilearn.__version__}.",
        f"Data: `{Path('..') / 'shared' / 'data' / 'fmri' / 'haxby2001_pymvpa'}`. Median of "
        f"{args.repeats} repeat(s) each (neurodl's first, then nilearn's).",
        "",
        "| step | neurodl (s) | nilearn (s) | equality |",
        "|---|---|---|---|",
        *[f"| {name} | {a:.3f} | {b:.3f} | {eq} |" for name, a, b, eq in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
