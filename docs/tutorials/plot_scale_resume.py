"""
Bigger jobs: fan-out, and a killed run that resumes
===================================================

The independent units of an analysis (cross-validation folds, permutations) go through one
function, :func:`~neurodl.execution.run_units`, to the backend in force: this process, a joblib
pool, or a Ray cluster (``execution: {backend: ray, address: ...}`` in a config). With a
``cache_dir``, every finished unit is stored on disk under a key of its inputs and the code
version, so a run that is killed (or repeated) recomputes only what is missing. Here the same
permutation test runs twice; the second run reads every unit from the cache and gives the same
numbers.
"""

# %%
import tempfile
import time

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

from neurodl.analyses.decoding import decode
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.execution import use_execution
from neurodl.preprocessing import LogBandPower

ds = simulate_motor_imagery(n_subjects=2, n_sessions=1, n_trials=40, seed=0)
model = make_pipeline(
    LogBandPower(sfreq=ds.sfreq, bands=[(8.0, 13.0), (13.0, 30.0)]),
    LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
)

with tempfile.TemporaryDirectory() as cache, use_execution({"cache_dir": cache}):
    for attempt in ("first run", "second run (cached)"):
        t0 = time.perf_counter()
        res = decode(model, ds, "within-session", n_permutations=40, n_boot=0)
        seconds = time.perf_counter() - t0
        print(f"{attempt}: score {res.score:.3f}, p = {res.p_value:.4f}, {seconds:.1f} s")
