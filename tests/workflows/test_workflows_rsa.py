"""The rsa_fixed_models and rsa_network tasks on the 92-image data (real data)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodl.exceptions import ConfigError
from neurodl.report.figures.rsa import category_order
from neurodl.workflows import TASKS, load_config, parse_config, run_config
from neurodl.workflows.tasks.rsa_fixed_models import RSAFixedModelsResult
from neurodl.workflows.tasks.rsa_network import RSANetworkResult
from neurodl.workflows.validate import task_options

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = {"source": "dataset", "dataset": "kriegeskorte92"}


def _example(name: str, **options):
    raw = yaml.safe_load((EXAMPLES / name).read_text())
    raw["options"].update(options)
    return raw


def test_example_configs_are_valid():
    assert load_config(EXAMPLES / "rsa92_fixed_models.yaml").task == "rsa_fixed_models"
    cfg = load_config(EXAMPLES / "rsa92_trained_cnn.yaml")
    assert cfg.task == "rsa_network" and task_options(cfg).train.epochs >= 1


@pytest.mark.parametrize("task", ["rsa_fixed_models", "rsa_network"])
@pytest.mark.parametrize(
    "extra", [{"model": {"name": "lda"}}, {"evaluation": {"metric": "accuracy"}}]
)
def test_unused_sections_are_refused(task, extra):
    assert TASKS[task].reads == {"data", "options"}
    (section,) = extra
    with pytest.raises(ConfigError) as err:
        parse_config({"task": task, "data": DATA, **extra})
    msg = str(err.value)
    assert f"task {task!r}" in msg and f"'{section}'" in msg
    assert "it reads: data, options, report" in msg


def _fixed_result() -> RSAFixedModelsResult:
    model = {
        "name": "EVA",
        "role": "candidate",
        "kind": "fixed RDM",
        "score_mean": 0.259,
        "score_ci": [0.2, 0.3],
        "block_scores": {"BE": 0.3, "KO": float("nan")},
        "p_value": None,
    }
    return RSAFixedModelsResult.create(
        task="rsa_fixed_models",
        dataset="kriegeskorte92",
        metric="pearson",
        score_mean=0.259,
        score_ci=np.array([0.2, 0.3]),
        versions={"numpy": "2"},
        data_hash="ab",
        models={"EVA": model},
        comparison_method="pearson",
        data_hash_method="sha256",
        conventions={"score": "mean over subjects"},
        category_order=["human body"],
        n_subjects=2,
        subjects=["BE", "KO"],
        n_conditions=92,
        model_names=["EVA"],
        scores={"EVA": np.float64(0.259)},
        best_model="EVA",
        n_degenerate={"EVA": np.int64(0)},
        noise_ceiling={"lower": 0.39, "upper": 0.68, "ci": None},
        bootstrap="conditions",
        n_bootstrap=10,
        confidence=0.95,
        n_permutations=0,
        pairwise_test=None,
        pairwise_p_fdr=np.array([[np.nan]]),
        hit_vs_mit_fig1={"pearson": 0.491, "spearman": np.nan},
        score_convention="mean over subjects",
        summary="best model EVA: pearson r = 0.259",
    )


def _network_result() -> RSANetworkResult:
    per = {"conv1": {"score": 0.1, "ci": [0.0, 0.2]}, "fc": {"score": np.nan, "ci": None}}
    net = {"scores": [0.1, np.nan], "per_layer": per, "best_layer": "conv1", "best_score": 0.1}
    return RSANetworkResult.create(
        task="rsa_network",
        dataset="kriegeskorte92",
        metric="pearson",
        score_mean=0.1,
        score_ci=[0.0, 0.2],
        comparison_method={"hIT": "pearson", "mIT": "spearman"},
        data_hash_method="sha256",
        conventions={"mIT": "single RDM"},
        category_order=["human body"],
        architecture="small_cnn",
        weights=None,
        layers=["conv1", "fc"],
        networks=["trained"],
        areas={"hIT": {"method": "pearson", "networks": {"trained": net}}},
        training={"losses": [2.0], "test_accuracy": 0.5, "chance": 0.125, "n_train": 8},
        model_brain_settings={"rdm_metric": "correlation"},
    )


@pytest.mark.parametrize("make", [_fixed_result, _network_result])
def test_results_round_trip(make):
    result = make()
    data = result.to_dict()
    again = type(result).from_dict(json.loads(json.dumps(data)))
    assert again == result and again.to_dict() == data
    assert type(result).json_schema()["properties"]["task"]
    lines = result.summary_lines()
    assert 2 <= len(lines) <= 4 and result.task in lines[0]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"task": "rsa_fixed_models", "options": {"methd": "x"}}, r"'options\.methd'.*'method'"),
        ({"task": "rsa_fixed_models", "options": {"method": "pearsn"}}, r"options\.method"),
        ({"task": "rsa_fixed_models", "options": {"bootstrap": "images"}}, r"options\.bootstrap"),
        ({"task": "rsa_network", "options": {"train": {"epoch": 2}}}, r"options\.train\.epoch"),
        ({"task": "rsa_network", "options": {"image_size": 2}}, r"options\.image_size"),
        ({"task": "rsa_network", "options": {"reduction": "svd"}}, r"options\.reduction"),
    ],
)
def test_bad_options_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({"data": DATA, **data})


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            {"data": {"source": "dataset", "dataset": "bonn"}},
            "Allowed: 'kriegeskorte92'; got 'bonn'",
        ),
        ({"data": {"source": "simulate", "simulator": "fmri"}}, "Allowed: 'dataset', 'file'"),
        ({"options": {"models": ["animacy", "V4"]}}, r"options\.models'.*got \['animacy', 'V4'\]"),
    ],
)
def test_bad_runs_fail_clearly(extra, match, tmp_path):
    cfg = parse_config({"task": "rsa_fixed_models", "data": DATA, **extra})
    with pytest.raises(ConfigError, match=match):
        run_config(cfg, None)


def test_category_order_groups_conditions():
    desc = {
        "is_human": np.array([0, 1, 1, 0, 0, 0], bool),
        "is_nonhumani": np.array([1, 0, 0, 0, 0, 0], bool),
        "is_body": np.array([0, 0, 1, 0, 0, 0], bool),
        "is_face": np.array([1, 1, 0, 0, 0, 0], bool),
        "is_natObj": np.array([0, 0, 0, 1, 0, 0], bool),
        "is_artiObj": np.array([0, 0, 0, 0, 1, 0], bool),
    }
    order, group = category_order(desc)
    assert order.tolist() == [2, 1, 0, 3, 4, 5]
    assert group.tolist() == [
        "animal face",
        "human face",
        "human body",
        "natural object",
        "artificial object",
        "other",
    ]


@pytest.mark.realdata
def test_fixed_models_run_golden_numbers_and_report(shared_data, tmp_path):
    from neurodl.analyses.rsa import read_kriegeskorte92

    root = shared_data("fmri/kriegeskorte92")
    raw = _example("rsa92_fixed_models.yaml", n_bootstrap=200, n_permutations=100)
    raw["data"]["data_root"] = str(root.parents[1])
    run = run_config(parse_config(raw), tmp_path / "out", config_text="task: rsa_fixed_models\n")
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved == json.loads(json.dumps(run.results))
    for key in ("task", "dataset", "metric", "seed", "versions", "data_hash", "conventions"):
        assert key in saved, key
    assert saved["task"] == "rsa_fixed_models" and saved["metric"] == "pearson"
    golden = {"animacy": 0.387, "monkeyIT": 0.334, "EVA": 0.259, "HMAX": 0.152, "V1": 0.025}
    for name, value in golden.items():
        model = saved["models"][name]
        assert model["score_mean"] == pytest.approx(value, abs=5e-4), name
        assert saved["scores"][name] == model["score_mean"]
        lo, hi = model["score_ci"]
        assert lo <= model["score_mean"] <= hi
        assert list(model["block_scores"]) == ["BE", "KO", "SN", "TI"]
        assert model["n_permutations"] == 100 and 0 < model["p_value"] <= 1
    assert saved["best_model"] == "animacy" and saved["score_mean"] == saved["scores"]["animacy"]
    assert saved["p_value"] == saved["models"]["animacy"]["p_value"] and saved["n_splits"] is None
    assert RSAFixedModelsResult.from_dict(saved) == run.result
    nc = saved["noise_ceiling"]
    assert nc["lower"] == pytest.approx(0.394, abs=5e-4)
    assert nc["upper"] == pytest.approx(0.680, abs=5e-4)
    assert nc["ci"][0][0] < nc["lower"] < nc["ci"][0][1]
    assert saved["hit_vs_mit_fig1"]["pearson"] == pytest.approx(0.491, abs=5e-4)
    assert saved["hit_vs_mit_fig1"]["spearman"] == pytest.approx(0.439, abs=5e-4)
    assert np.asarray(saved["pairwise_p_fdr"], float).shape == (8, 8)
    # data hash: sha256 of the (shape-tagged) session-averaged hIT and model RDM arrays
    k92 = read_kriegeskorte92(root)
    h = hashlib.sha256()
    for arr in (k92["hIT"].average_by("subject").dissimilarities, k92["models"].dissimilarities):
        h.update(f"{arr.shape}{arr.dtype}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    assert saved["data_hash"] == h.hexdigest()
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    for text in ("RDMs ordered by category", "MDS", "Model comparison", "noise ceiling"):
        assert text in html


@pytest.mark.realdata
def test_cli_runs_the_fixed_example(shared_data, tmp_path, capsys):
    from neurodl.cli.main import main

    shared_data("fmri/kriegeskorte92")
    raw = _example(
        "rsa92_fixed_models.yaml", n_bootstrap=20, n_permutations=0, models=["V1", "EVA"]
    )
    cfg_path = tmp_path / "fixed.yaml"
    cfg_path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(cfg_path), "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "rsa_fixed_models" in out and "best model EVA" in out and "noise ceiling" in out
    saved = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert saved["model_names"] == ["V1", "EVA"]


@pytest.mark.realdata
def test_trained_cnn_example_tiny(shared_data, tmp_path):
    shared_data("fmri/kriegeskorte92")
    raw = _example(
        "rsa92_trained_cnn.yaml",
        image_size=16,
        architecture_params={"channels": [4, 8]},
        train={"n_per_class": 4, "n_test_per_class": 4, "epochs": 1, "batch_size": 16},
        n_bootstrap=30,
    )
    run = run_config(parse_config(raw), tmp_path / "net")
    res = json.loads((tmp_path / "net" / "results.json").read_text())
    assert res == json.loads(json.dumps(run.results))
    assert res["task"] == "rsa_network" and res["layers"] == ["conv1", "conv2", "fc"]
    assert res["networks"] == ["trained", "untrained"]
    for area, n_subj in (("hIT", 4), ("mIT", 1)):
        a = res["areas"][area]
        assert a["n_subjects"] == n_subj
        for net in ("trained", "untrained"):
            scores = a["networks"][net]["scores"]
            assert len(scores) == 3 and all(-1 <= s <= 1 for s in scores)
            assert list(a["networks"][net]["per_layer"]) == res["layers"]
            assert all(lo <= s <= hi for s, (lo, hi) in zip(scores, a["networks"][net]["ci"]))
        assert set(a["trained_vs_untrained"]) == {"diff", "p", "p_fdr"}
    assert res["areas"]["hIT"]["noise_ceiling"]["lower"] == pytest.approx(0.394, abs=5e-4)
    assert res["areas"]["mIT"]["noise_ceiling"]["lower"] is None
    assert res["training"]["n_train"] == 32 and len(res["training"]["losses"]) == 1
    for key in ("seed", "versions", "data_hash", "conventions", "comparison_method"):
        assert key in res
    best = res["areas"]["hIT"]["networks"]["trained"]
    assert res["score_mean"] == best["best_score"] and res["metric"] == "pearson"
    assert res["score_ci"] == best["per_layer"][best["best_layer"]]["ci"]
    assert RSANetworkResult.from_dict(res) == run.result
    html = (tmp_path / "net" / "report.html").read_text()
    assert "Layer RDMs vs IT: trained and untrained" in html
    assert html.count("data:image/png;base64,") >= 6


@pytest.mark.realdata
def test_network_with_user_weights_skips_training(shared_data, tmp_path):
    import torch

    from neurodl.models.vision import build_vision_model

    shared_data("fmri/kriegeskorte92")
    net = build_vision_model("small_cnn", n_classes=8, image_size=16, seed=3, channels=[4, 8])
    torch.save(net.state_dict(), tmp_path / "w.pt")
    raw = _example(
        "rsa92_trained_cnn.yaml",
        image_size=16,
        architecture_params={"channels": [4, 8]},
        weights=str(tmp_path / "w.pt"),
        layers=["conv2", "fc"],
        control=False,
        bootstrap=None,
    )
    res = run_config(parse_config(raw), None).results
    assert res["training"] is None and res["networks"] == ["trained"]
    assert res["layers"] == ["conv2", "fc"]
    bad = {**raw, "options": {**raw["options"], "layers": ["conv7"]}}
    with pytest.raises(ConfigError, match=r"'layers'. Allowed: .*got \['conv7'\]"):
        run_config(parse_config(bad), None)
