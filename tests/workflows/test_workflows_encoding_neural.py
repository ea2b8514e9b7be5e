"""The encoding task's neural encoder (``encoder: mlp``) and feature files (``features: file``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodl.exceptions import ConfigError, DataFormatError, DatasetError
from neurodl.privacy import redact_paths
from neurodl.workflows import load_config, parse_config, run_config
from neurodl.workflows.data import load_data
from neurodl.workflows.tasks.encoding import EncodingResult
from neurodl.workflows.validate import task_options

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haxby_encoding_mlp.yaml"
SIM_FMRI = {
    "source": "simulate",
    "simulator": "fmri",
    "params": {"n_runs": 4, "n_categories": 2, "shape": [6, 6, 3], "n_blocks_per_category": 2},
}
BASE = {"n_delays": 4, "test_runs": [4], "segment_length": 8, "cv_folds": 3}
FAST_MLP = {"encoder": "mlp", "n_hidden": 16, "max_epochs": 40, "lr": 0.005, "patience": 10}


def _cfg(options: dict, data: dict | None = None):
    return parse_config({"task": "encoding", "data": data or SIM_FMRI, "options": options})


def _fir(n_delays: int = 4) -> np.ndarray:
    """The FIR design the task builds, computed independently from the simulated volumes."""
    from neurodl.analyses.encoding.fir import fir_design
    from neurodl.analyses.fmri.glm import _runs_of, _volume_labels

    vs, _ = load_data(parse_config({"data": SIM_FMRI}).data, seed=0)
    X, _ = fir_design(_volume_labels(vs), n_delays, runs=_runs_of(vs))
    return X


def test_mlp_encoder_beside_ridge(tmp_path):
    run = run_config(_cfg({**BASE, **FAST_MLP}), tmp_path / "out")
    res = run.results
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert EncodingResult.from_dict(saved) == run.result
    # each encoder's own statistics, the chosen (main) one first
    assert list(res["models"]) == ["mlp", "ridge"]
    assert res["models"]["ridge"]["role"] == "baseline" and res["models"]["mlp"]["role"] == "main"
    assert res["models"]["ridge"]["score_mean"] == res["encoders"]["ridge"]["heldout_r_median"]
    assert res["score_mean"] == res["heldout_r_median"]
    ridge_only = run_config(_cfg(BASE), None).results
    assert res["encoder"] == "mlp" and set(res["encoders"]) == {"ridge", "mlp"}
    # the ridge beside the MLP is the plain ridge run (same train/test runs)
    assert res["encoders"]["ridge"]["heldout_r_median"] == pytest.approx(
        ridge_only["heldout_r_median"]
    )
    assert res["heldout_r_median"] == res["encoders"]["mlp"]["heldout_r_median"]
    assert res["encoders"]["mlp"]["heldout_r_max"] > 0.5
    assert saved["encoders"]["mlp"]["n_epochs"] >= 1
    assert 0.0 <= saved["comparison"]["fraction_voxels_better_than_ridge"] <= 1.0
    for name in ("encoding_r.nii.gz", "encoding_r_ridge.nii.gz", "normalized_r_ridge.nii.gz"):
        assert (tmp_path / "out" / name).is_file()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "mlp vs ridge" in html and "Encoding map: ridge" in html


@pytest.mark.parametrize("fmt", ["npy", "csv", "npz"])
def test_features_file_equals_fir_design(tmp_path, fmt):
    X = _fir()
    path = tmp_path / f"feats.{fmt}"
    {"npy": lambda: np.save(path, X),
     "csv": lambda: np.savetxt(path, X, delimiter=",", fmt="%.1f"),
     "npz": lambda: np.savez(path, feats=X, other=np.zeros(3))}[fmt]()  # fmt: skip
    opts = {**BASE, "features": "file", "features_path": str(path)}
    if fmt == "npz":
        opts["features_key"] = "feats"
    res = run_config(_cfg(opts), None).results
    fir = run_config(_cfg(BASE), None).results
    assert res["features"] == "file" and res["n_features"] == X.shape[1]
    assert res["heldout_r_median"] == pytest.approx(fir["heldout_r_median"], abs=1e-6)
    assert res["features_path"] == redact_paths(str(path))  # no machine path in results


def test_features_path_relative_to_data_root_and_cwd(tmp_path, monkeypatch):
    np.save(tmp_path / "feats.npy", _fir())
    opts = {**BASE, "features": "file", "features_path": "feats.npy"}
    res = run_config(_cfg(opts, {**SIM_FMRI, "data_root": str(tmp_path)}), None).results
    assert res["features_path"] == redact_paths(str(tmp_path / "feats.npy"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEURODL_DATA", raising=False)
    assert run_config(_cfg(opts), None).results["n_features"] == 8


def test_features_file_row_count_checked(tmp_path):
    X = _fir()
    np.save(tmp_path / "short.npy", X[:-5])
    cfg = _cfg({**BASE, "features": "file", "features_path": str(tmp_path / "short.npy")})
    with pytest.raises(
        DataFormatError, match=rf"{len(X) - 5} rows\) but the data has {len(X)} vol"
    ):
        run_config(cfg, None)


def test_features_file_missing(tmp_path):
    cfg = _cfg({**BASE, "features": "file", "features_path": "nope/feats.npy"})
    with pytest.raises(DatasetError, match=r"'nope/feats.npy': no such file"):
        run_config(cfg, None)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"encoder": "cnn"}, r"options.encoder.*'ridge' or 'mlp'"),
        ({"features": "bold"}, r"options.features.*'fir' or 'file'"),
        ({"features": "file"}, r"features_path is required"),
        ({"features_path": "x.npy"}, r"only used with features: file; got features='fir'"),
        ({"n_hidden": 0}, r"options.n_hidden"),
        ({"weight_decay": -0.1}, r"options.weight_decay"),
        ({"max_epochs": 0}, r"options.max_epochs"),
        ({"hidden": 8}, r"unknown key 'options.hidden'"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        task_options(_cfg(options))


def test_example_config_fast_copy(tmp_path):
    """examples/haxby_encoding_mlp.yaml with simulated data and few epochs runs end to end."""
    raw = yaml.safe_load(EXAMPLE.read_text())
    assert raw["options"]["encoder"] == "mlp" and raw["options"]["features"] == "fir"
    raw["data"] = SIM_FMRI
    raw["options"].update({"train_runs": [0, 1, 2, 3], "test_runs": [4], "max_epochs": 5,
                           "segment_length": 8, "cv_folds": 3})  # fmt: skip
    res = run_config(parse_config(raw), tmp_path / "out").results
    assert res["encoders"]["mlp"]["n_epochs"] <= 5 and res["n_voxels"] > 0


@pytest.mark.realdata
def test_haxby_encoding_mlp_example(shared_data, tmp_path):
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["data"]["data_root"] = str(shared_data("."))
    cfg = parse_config(raw)
    assert task_options(cfg) == task_options(load_config(EXAMPLE))
    res = run_config(cfg, None).results
    # issue floors for FIR encoding (ridge: median 0.139, max 0.756 on these files)
    assert res["encoders"]["ridge"]["heldout_r_median"] >= 0.13
    assert res["heldout_r_median"] >= 0.13 and res["heldout_r_max"] >= 0.72
    assert res["encoders"]["mlp"]["stopped_reason"] in ("early_stopping", "max_epochs")


def test_features_path_relative_to_config_folder(tmp_path, monkeypatch):
    # a config read from a file resolves a relative features_path next to itself first,
    # whatever the working folder
    cdir = tmp_path / "study"
    cdir.mkdir()
    np.save(cdir / "feats.npy", _fir())
    (cdir / "enc.yaml").write_text(
        yaml.safe_dump(
            {
                "task": "encoding",
                "data": SIM_FMRI,
                "options": {**BASE, "features": "file", "features_path": "feats.npy"},
            }
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("NEURODL_DATA", raising=False)
    cfg = load_config(cdir / "enc.yaml")
    assert cfg.config_dir == cdir.resolve()
    res = run_config(cfg, None).results
    assert res["features_path"] == redact_paths(str(cdir.resolve() / "feats.npy"))
