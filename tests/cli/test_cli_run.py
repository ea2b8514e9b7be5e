"""End-to-end: `neurodl demo` and `neurodl run CONFIG --out DIR` (the main job's public surface)."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import CHROMIUM, chromium_image_probe
from neurodl.cli.main import main
from neurodl.report import check_report_offline

REQUIRED = (
    "task",
    "dataset",
    "protocol",
    "metric",
    "score_mean",
    "score_ci",
    "chance_level",
    "p_value",
    "n_splits",
    "seed",
    "versions",
    "data_hash",
)


def _config(tmp_path, **overrides):
    cfg = {
        "name": "small",
        "seed": 1,
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {
                "n_subjects": 2,
                "n_sessions": 1,
                "n_trials": 40,
                "n_channels": 8,
                "effect_size": 0.6,
            },
        },
        "preprocessing": [
            {"bandpass": {"l_freq": 6.0, "h_freq": 32.0}},
            {"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}},
        ],
        "model": {"name": "lda"},
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 4},
            "n_permutations": 19,
            "n_boot": 200,
        },
    }
    for key, value in overrides.items():
        cfg[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo") / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["-q", "demo", "--out", str(out), "--n-permutations", "9"])
    assert code == 0
    (out.parent / "stdout.txt").write_text(stdout.getvalue())
    return out


def test_demo_writes_results_and_report(demo_run):
    res = json.loads((demo_run / "results.json").read_text())
    for key in REQUIRED:
        assert key in res, key
    assert res["dataset"] == "simulated:motor_imagery"
    assert res["chance_level"] == 0.5
    # the planted effect is found: above chance, CI excludes chance, smallest possible p
    assert res["score_mean"] > 0.6
    assert res["score_ci"][0] > 0.5
    # a convolutional network on the signals beside the classical CSP baseline; the baseline has
    # its own permutation test, the network is judged by the paired comparison on the same splits
    assert res["model"] == "shallow" and res["model_kind"] == "neural"
    assert res["baseline"] == "csp_lda"
    assert list(res["models"]) == ["shallow", "csp_lda"]
    base = res["models"]["csp_lda"]
    assert base["p_value"] == pytest.approx(1 / 10)  # smallest possible with 9 permutations
    assert base["n_permutations"] == 9 and len(base["null_scores"]) == 9
    assert base["permuted_within"] == "subject/session"
    # the network's own p-value: its held-out predictions against permuted test labels (no
    # refit); the top-level p-value is the main model's
    net = res["models"]["shallow"]
    assert net["permutation_method"] == "held_out" and base["permutation_method"] == "refit"
    assert net["n_permutations"] == 1000 and net["permuted_within"].startswith("fold test set")
    assert res["p_value"] == net["p_value"] < 0.01
    assert res["score_mean"] == res["models"]["shallow"]["score_mean"]
    comp = res["comparison"]
    assert (comp["model_a"], comp["model_b"]) == ("shallow", "csp_lda")
    assert comp["ci"][0] < comp["difference"] < comp["ci"][1]
    assert comp["verdict"].startswith("'shallow' ")
    assert res["warnings"] == []  # the network learned: no failed-fit flag
    assert res["learning_curves"] and len(res["learning_curves"]) == 8
    assert res["schema_version"] == 2
    assert res["n_splits"] == 8  # 4 subjects x 2 sessions: train on one, test on the other
    assert len(res["data_hash"]) == 64
    assert "numpy" in res["versions"]
    html = (demo_run / "report.html").read_text()
    assert check_report_offline(html, allow_links=False) == []
    for section in (
        "Data summary",
        "Per-split scores",
        "Confusion matrix",
        "Null distribution (csp_lda)",
        "Model comparison",
        "Saliency",
        "Library versions",
    ):
        assert section in html
    from html import escape

    assert escape(comp["verdict"]).replace("&#x27;", "&#39;") in html


def test_demo_cli_prints_each_models_own_p_value_and_the_comparison(demo_run):
    lines = (demo_run.parent / "stdout.txt").read_text().splitlines()
    net = next(line for line in lines if line.startswith("shallow: "))
    base = next(line for line in lines if line.startswith("csp_lda: "))
    assert "held-out permutation p = " in net and "not refitted" in net
    assert "[baseline]" not in net
    assert "permutation p = 0.1000" in base and base.endswith("[baseline]")
    assert any(line.startswith("'shallow' ") and "on the same splits" in line for line in lines)


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found; apt-get install chromium"
)
def test_demo_report_figures_render_in_chromium(demo_run, tmp_path):
    images = chromium_image_probe(demo_run / "report.html", tmp_path)
    figures = [img for img in images if img["id"] != "negative-control"]
    # data, per-split scores, confusion, learning curves, the baseline's null, saliency figures
    assert len(figures) >= 6
    assert all(img["complete"] and img["w"] > 100 and img["h"] > 100 for img in figures), figures
    assert [img["w"] for img in images if img["id"] == "negative-control"] == [0]


def test_existing_output_is_refused_and_kept(demo_run, capsys):
    before = (demo_run / "results.json").read_text()
    code = main(["-q", "demo", "--out", str(demo_run), "--n-permutations", "5"])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--overwrite" in err[0]
    assert (demo_run / "results.json").read_text() == before


def test_run_config_and_overwrite(tmp_path, capsys):
    cfg = _config(tmp_path)
    out = tmp_path / "out"
    assert main(["-q", "run", str(cfg), "--out", str(out)]) == 0
    first = json.loads((out / "results.json").read_text())
    assert first["n_splits"] == 8 and first["seed"] == 1
    assert first["p_value"] is not None and 0 < first["p_value"] <= 1
    # same config + seed -> same numbers; --overwrite replaces the folder
    assert main(["-q", "run", str(cfg), "--out", str(out), "--overwrite"]) == 0
    second = json.loads((out / "results.json").read_text())
    assert second["score_mean"] == first["score_mean"]
    assert second["p_value"] == first["p_value"]
    assert second["data_hash"] == first["data_hash"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temp leftovers


def test_null_data_is_not_significant(tmp_path):
    cfg = _config(
        tmp_path,
        data={
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {
                "n_subjects": 2,
                "n_sessions": 1,
                "n_trials": 40,
                "n_channels": 8,
                "effect_size": 0.0,
            },
        },
    )
    out = tmp_path / "null"
    assert main(["-q", "run", str(cfg), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["p_value"] > 0.05
    assert res["score_ci"][0] < 0.5 < res["score_ci"][1] or abs(res["score_mean"] - 0.5) < 0.1


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"modle": {"name": "lda"}}, "unknown key 'modle'. Did you mean 'model'?"),
        ({"model": {"name": "svmm"}}, "Unknown model 'svmm'"),
        ({"evaluation": {"protocol": "leave-one-subjet-out"}}, "leave-one-subjet-out"),
        ({"preprocessing": [{"bandpas": {}}]}, "bandpas"),
        ({"data": {"source": "simulate", "simulator": "nope"}}, "unknown simulator 'nope'"),
    ],
)
def test_bad_config_exits_nonzero_with_one_line(tmp_path, capsys, overrides, match):
    cfg = _config(tmp_path, **overrides)
    out = tmp_path / "out"
    assert main(["-q", "run", str(cfg), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurodl: error: ")
    assert match in err[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for cmd in ("demo", "run", "info", "datasets"):
        assert cmd in text


def test_amplitude_rejection_is_reported(tmp_path):
    data = {
        "source": "simulate",
        "simulator": "motor_imagery",
        "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 40, "n_channels": 8},
        "reject": {"peak_to_peak": 7e-5},
    }
    cfg = _config(
        tmp_path,
        data=data,
        evaluation={"n_permutations": 0, "n_boot": 100, "protocol_params": {"n_splits": 3}},
    )
    out = tmp_path / "rej"
    assert main(["-q", "run", str(cfg), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    rej = res["rejection"]
    assert rej["n_total"] == 80 and 0 < rej["n_dropped"] < 80
    assert res["n_samples"] == 80 - rej["n_dropped"]
    assert len(rej["dropped"]) == rej["n_dropped"]


def test_no_permutations_no_bootstrap_still_reports(tmp_path):
    cfg = _config(
        tmp_path,
        evaluation={
            "protocol": "within-session",
            "n_permutations": 0,
            "n_boot": 0,
            "protocol_params": {"n_splits": 3},
        },
    )
    out = tmp_path / "plain"
    assert main(["-q", "run", str(cfg), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["p_value"] is None
    assert res["score_ci"][0] < res["score_mean"] < res["score_ci"][1]
    assert res["ci_method"].startswith("t-interval over fold scores")
    assert "no CI" not in (out / "report.html").read_text()
