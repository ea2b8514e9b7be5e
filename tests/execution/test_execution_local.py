"""Local execution backend: unit order, joblib == serial bit for bit, the unit cache, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from _planted import planted_dataset
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from neurodl.evaluation import cross_validate, permutation_test
from neurodl.exceptions import ConfigError
from neurodl.execution import (
    ExecutionConfig,
    UnitCache,
    get_execution,
    run_units,
    use_execution,
)

CALLS: list[int] = []


def _square(shared, unit):
    CALLS.append(unit)
    return shared * unit * unit


def test_run_units_keeps_unit_order_on_every_local_pool():
    units = list(range(7))
    serial = run_units(_square, units, shared=2)
    pooled = run_units(_square, units, shared=2, n_jobs=2)
    assert serial == pooled == [2 * u * u for u in units]


def test_permutation_test_identical_serial_and_joblib():
    ds = planted_dataset()
    kw = {"n_permutations": 12, "seed": 3}
    serial = permutation_test(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out", **kw)
    pooled = permutation_test(
        LinearDiscriminantAnalysis(), ds, "leave-one-subject-out", n_jobs=2, **kw
    )
    assert serial.score == pooled.score
    np.testing.assert_array_equal(serial.null_distribution, pooled.null_distribution)
    assert serial.p_value == pooled.p_value
    assert serial.p_value < 0.1  # the planted effect is found
    cv1 = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    cv2 = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out", n_jobs=2)
    np.testing.assert_array_equal(cv1.scores, cv2.scores)
    np.testing.assert_array_equal(cv1.y_pred, cv2.y_pred)


def test_use_execution_sets_and_restores_the_backend(tmp_path):
    assert get_execution() == ExecutionConfig()
    with use_execution({"cache_dir": str(tmp_path)}) as cfg:
        assert get_execution() is cfg
        assert cfg.cache_dir == str(tmp_path)
    assert get_execution().cache_dir is None


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"backend": "spark"}, r"'execution.backend'.*Allowed: 'local', 'ray'; got 'spark'"),
        ({"address": "1.2.3.4:6379"}, r"'execution.address'.*needs backend 'ray'"),
        ({"resources": {"num_cpus": -1}}, r"'execution.resources'.*got \{'num_cpus': -1\}"),
        ({"max_retries": 1.5}, r"'execution.max_retries'.*got 1.5"),
        ({"connect_timeout": 0}, r"'execution.connect_timeout'.*got 0"),
        ({"backend": "ray", "adress": "x"}, r"Invalid key\(s\) \['adress'\] in 'execution'"),
        (3, r"Allowed: an ExecutionConfig, a mapping or a backend name; got int"),
    ],
)
def test_bad_execution_settings_are_refused(value, match):
    with pytest.raises(ConfigError, match=match):
        ExecutionConfig.from_value(value)


def test_cache_skips_finished_units_and_recomputes_unreadable_ones(tmp_path):
    exe = ExecutionConfig(cache_dir=str(tmp_path))
    CALLS.clear()
    first = run_units(_square, [1, 2, 3], shared=5, execution=exe)
    assert CALLS == [1, 2, 3]
    CALLS.clear()
    assert run_units(_square, [1, 2, 3, 4], shared=5, execution=exe) == [*first, 80]
    assert CALLS == [4]  # only the new unit ran
    CALLS.clear()
    run_units(_square, [1, 2], shared=6, execution=exe)  # other shared data: other keys
    assert CALLS == [1, 2]
    cache = UnitCache(tmp_path, _square, 5)
    (tmp_path / f"{cache.key(2)}.pkl").write_bytes(b"\x80\x05truncated")
    CALLS.clear()
    assert run_units(_square, [1, 2], shared=5, execution=exe) == [5, 20]
    assert CALLS == [2]


DRIVER = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    sys.path.insert(0, {tests!r})
    from _planted import planted_dataset
    from neurodl.evaluation import permutation_test

    class SlowLDA(LinearDiscriminantAnalysis):
        def fit(self, X, y):
            with open({fits!r}, "a") as f:
                f.write("x")
            time.sleep({sleep})
            return super().fit(X, y)

    res = permutation_test(SlowLDA(), planted_dataset(), "leave-one-subject-out", n_permutations=16, seed=1,
                           execution={{"cache_dir": {cache!r}}})
    print(json.dumps({{"null": res.null_distribution.tolist(), "p": res.p_value}}))
    """
)


def _driver(tmp_path, cache, fits, sleep):
    script = tmp_path / f"driver_{sleep}.py"
    script.write_text(
        DRIVER.format(
            tests=str(Path(__file__).parent), cache=str(cache), fits=str(fits), sleep=sleep
        )
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return [sys.executable, str(script)], env


def test_driver_killed_mid_run_resumes_from_finished_units(tmp_path):
    import json

    n_folds = 4  # loso on 4 subjects
    # reference: an uninterrupted run in this process (SlowLDA only adds a sleep to LDA)
    ref_res = permutation_test(
        LinearDiscriminantAnalysis(),
        planted_dataset(),
        "leave-one-subject-out",
        n_permutations=16,
        seed=1,
    )
    ref = {"null": ref_res.null_distribution.tolist(), "p": ref_res.p_value}

    cache, fits = tmp_path / "cache", tmp_path / "fits"
    cmd, env = _driver(tmp_path, cache, fits, 0.02)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    # 1 unit per fold of the observed score, then 1 per permutation: kill after 5 permutations
    while len(list(cache.glob("*.pkl"))) < n_folds + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    n_cached = len(list(cache.glob("*.pkl")))
    assert n_folds + 5 <= n_cached < n_folds + 16  # killed part way

    fits.unlink()
    cmd, env = _driver(tmp_path, cache, fits, 0)
    out = json.loads(subprocess.run(cmd, env=env, capture_output=True, check=True).stdout)
    assert out == ref  # the same null distribution and p-value, bit for bit
    n_permutations_left = n_folds + 16 - n_cached
    assert len(fits.read_text()) == n_permutations_left * n_folds  # finished units not refitted
