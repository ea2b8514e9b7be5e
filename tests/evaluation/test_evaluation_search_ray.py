"""The search on Ray Tune against a real two-node cluster on this machine (``ray start``):
the same trial scores and best parameters as the local backend on a deterministic grid."""

from __future__ import annotations

import sys

import pytest
from _search_data import PLANTED, Pick, planted_search_dataset

from neurodl.evaluation import cross_validate
from neurodl.evaluation.search import SearchCV, search_hyperparameters
from neurodl.execution import ExecutionConfig, LocalRayCluster, connect_ray, use_execution

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'neurodl[ray]'")
pytest.importorskip("ray.tune", reason="Ray Tune is not installed: pip install 'ray[tune]'")
# the estimator lives in a test module the Ray workers cannot import: ship it by value
ray.cloudpickle.register_pickle_by_value(sys.modules[Pick.__module__])

GRID = {"feature": {"grid": list(range(6))}}


@pytest.mark.slow  # one test: a cluster start (~10 s) and three Tune runs
def test_ray_tune_and_local_agree():
    ds = planted_search_dataset()
    with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
        cfg = ExecutionConfig(backend="ray", address=cluster.address)
        connect_ray(cfg)
        cluster.wait_for_nodes(ray)
        local = search_hyperparameters(Pick(), ds, GRID, scheduler="none", execution="local")
        remote = search_hyperparameters(Pick(), ds, GRID, scheduler="none", execution=cfg)
        assert remote.backend == "ray" and local.backend == "local"
        assert remote.best_params == local.best_params == {"feature": PLANTED}
        # every trial ran every inner fold, with bit-identical fold scores
        assert [t["fold_scores"] for t in remote.trials] == [t["fold_scores"] for t in local.trials]
        # Tune's asynchronous successive halving: bad trials stop early, same winner
        asha = search_hyperparameters(Pick(), ds, GRID, scheduler="asha", execution=cfg)
        assert asha.best_params == {"feature": PLANTED}
        assert asha.n_stopped >= 1 and not asha.trials[PLANTED]["stopped"]
        # nested: outer folds in this process, each fold's search on Tune (execution in force)
        small = planted_search_dataset(n_subjects=3)
        with use_execution(cfg):
            est = SearchCV(Pick(), GRID, metadata=small.metadata, scheduler="none")
            cv = cross_validate(est, small, "leave-one-subject-out", execution="local")
        assert [f["search"]["best_params"] for f in cv.fold_info] == [{"feature": PLANTED}] * 3
        assert all(f["search"]["backend"] == "ray" for f in cv.fold_info)
    assert not ray.is_initialized()
