"""The Ray backend against a real cluster on this machine: a head and a worker node started as
separate processes (``ray start``), connected by address; same numbers as the local backend,
a killed worker retried, a killed node survived, an address that does not answer refused."""

from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np
import pytest
from _planted import planted_dataset
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from neurodl.evaluation import cross_validate, permutation_test
from neurodl.execution import (
    ExecutionConfig,
    LocalRayCluster,
    RayUnreachableError,
    connect_ray,
    run_units,
)

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'neurodl[ray]'")
# the unit functions below live in this test module, which the Ray workers cannot import:
# ship them by value
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.mark.slow  # one test: pytest-xdist would otherwise start a cluster per worker
def test_on_a_two_node_cluster(tmp_path):
    """Start a head and a worker node, run every check, kill the worker node, shut down."""
    with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
        connect_ray(ExecutionConfig(backend="ray", address=cluster.address))
        cluster.wait_for_nodes(ray)
        _warm_up(cluster)
        _units_run_on_both_nodes_in_unit_order(cluster)
        _cv_and_permutations_identical_to_local(cluster)
        _killed_worker_is_retried(cluster, tmp_path)
        _killed_node_work_finishes_on_the_survivor(cluster)  # last: the cluster loses a node
    assert not ray.is_initialized()


def _warm_up(cluster, timeout=60.0):
    """Run units until each node has a worker process up (the first one starts in seconds)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < cluster.n_nodes and time.monotonic() < deadline:
        out = run_units(_where, [0, 1], shared=0.3, execution=_ray(cluster))
        seen |= {node for _, node in out}
    assert len(seen) == cluster.n_nodes, f"only {len(seen)} node(s) ran work in {timeout} s"


def _ray(cluster, **kw):
    return ExecutionConfig(backend="ray", address=cluster.address, **kw)


def _where(shared, unit):
    time.sleep(shared)
    return unit, ray.get_runtime_context().get_node_id()


def _units_run_on_both_nodes_in_unit_order(cluster):
    out = run_units(_where, list(range(8)), shared=0.2, execution=_ray(cluster))
    assert [u for u, _ in out] == list(range(8))
    assert len({node for _, node in out}) == 2  # both nodes did work


def _cv_and_permutations_identical_to_local(cluster):
    ds = planted_dataset()
    proto = "leave-one-subject-out"
    local = permutation_test(LinearDiscriminantAnalysis(), ds, proto, n_permutations=20, seed=2)
    puts = []
    real_put = ray.put
    ray.put = lambda obj: puts.append(1) or real_put(obj)
    try:
        remote = permutation_test(
            LinearDiscriminantAnalysis(),
            ds,
            proto,
            n_permutations=20,
            seed=2,
            execution=_ray(cluster),
        )
    finally:
        ray.put = real_put
    assert len(puts) == 2  # the shared inputs went once for the folds, once for 20 permutations
    assert remote.score == local.score
    np.testing.assert_array_equal(remote.null_distribution, local.null_distribution)
    assert remote.p_value == local.p_value < 0.1
    cv_local = cross_validate(LinearDiscriminantAnalysis(), ds, proto)
    cv_ray = cross_validate(LinearDiscriminantAnalysis(), ds, proto, execution=_ray(cluster))
    np.testing.assert_array_equal(cv_ray.scores, cv_local.scores)
    np.testing.assert_array_equal(cv_ray.y_score, cv_local.y_score)


def _die_once(marker_dir, unit):
    """Kill this worker process the first time ``unit`` runs; answer on the retry."""
    marker = os.path.join(marker_dir, f"{unit}.started")
    if unit == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return unit * 10


def _killed_worker_is_retried(cluster, tmp_path):
    out = run_units(_die_once, [0, 1, 2], shared=str(tmp_path), execution=_ray(cluster))
    assert out == [0, 10, 20]
    assert (tmp_path / "1.started").exists()  # the first attempt did die
    (tmp_path / "1.started").unlink()
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        run_units(_die_once, [1], shared=str(tmp_path), execution=_ray(cluster, max_retries=0))


def test_unanswering_address_fails_fast():
    from neurodl.execution.local_cluster import _free_port

    dead = f"127.0.0.1:{_free_port()}"
    cfg = ExecutionConfig(backend="ray", address=dead, connect_timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(RayUnreachableError, match=rf"'{dead}' did not answer within 1 s"):
        run_units(_where, [0], shared=0.0, execution=cfg)
    assert time.monotonic() - t0 < 5


def _killed_node_work_finishes_on_the_survivor(cluster):
    """The worker node is SIGKILLed while its units run."""
    killed = []

    def kill_after_first(n_done, n):
        if not killed:
            killed.append(n_done)
            cluster.kill_node(1)

    units = list(range(6))
    out = run_units(_where, units, shared=0.5, execution=_ray(cluster), progress=kill_after_first)
    assert [u for u, _ in out] == units
    assert killed
    assert sum(n["Alive"] for n in ray.nodes()) == 1  # the node really died during the run
