"""Per-target ridge CV speed: neurodl vs scikit-learn RidgeCV(alpha_per_target=True) [vs himalaya].

Issue reference (2-core CPU): n=2000, p=1000, 5000 targets, 17 penalties, 5 folds:
scikit-learn 14.4 s, himalaya 12.1 s. Run side by side on one machine; only ratios count.

    .venv/bin/python benchmarks/bench_ridge.py [--n 2000 --p 1000 --t 5000] [--himalaya PYTHON]

scikit-learn's RidgeCV with alpha_per_target uses efficient leave-one-out (it refuses cv=5 with
alpha_per_target), so its penalties differ from a 5-fold choice; the equality check compares
neurodl (5-fold) with a direct per-penalty Ridge loop on a small problem (see
tests/analyses/test_analyses_encoding_ridge.py) and here reports prediction agreement with
scikit-learn for information.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--p", type=int, default=1000)
    ap.add_argument("--t", type=int, default=5000)
    ap.add_argument("--himalaya", default=None, help="python of a venv with himalaya installed")
    args = ap.parse_args()
    from sklearn.linear_model import RidgeCV

    from neurodl.analyses.encoding.ridge import RidgeCVPerTarget

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.p))
    W = rng.standard_normal((args.p, args.t)) * rng.random(args.t) * 0.1
    Y = X @ W + rng.standard_normal((args.n, args.t))
    alphas = np.logspace(-3, 5, 17)
    Xte = rng.standard_normal((200, args.p))
    out = {}
    for dtype in ("float32", "float64"):
        t0 = time.perf_counter()
        m = RidgeCVPerTarget(alphas, cv=5, dtype=dtype).fit(X, Y)
        out[f"neurodl_{dtype}_s"] = time.perf_counter() - t0
        pred = m.predict(Xte)
    t0 = time.perf_counter()
    sk = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y)
    out["sklearn_s"] = time.perf_counter() - t0
    skp = sk.predict(Xte)
    out["same_alpha_fraction_vs_sklearn_loo"] = float(np.mean(sk.alpha_ == m.best_alphas_))
    out["pred_corr_vs_sklearn"] = float(np.corrcoef(pred.ravel(), skp.ravel())[0, 1])
    if args.himalaya:
        np.save("/tmp/_bench_X.npy", X)
        np.save("/tmp/_bench_Y.npy", Y)
        code = (
            "import numpy as np,time;from himalaya.ridge import RidgeCV;"
            "X=np.load('/tmp/_bench_X.npy');Y=np.load('/tmp/_bench_Y.npy');t=time.perf_counter();"
            "RidgeCV(alphas=np.logspace(-3,5,17),cv=5).fit(X,Y);print(time.perf_counter()-t)"
        )
        res = subprocess.run([args.himalaya, "-c", code], capture_output=True, text=True)
        out["himalaya_s"] = float(res.stdout.strip()) if res.returncode == 0 else res.stderr[-300:]
    json.dump(
        {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()},
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
