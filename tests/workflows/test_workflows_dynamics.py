"""The dynamics tasks end to end: every example config runs (fast settings) and writes results."""

from __future__ import annotations

import html
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.tasks.behavior_decoding import BehaviorDecodingResult
from neurodl.workflows.tasks.latents import LatentsResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _example(name: str, **overrides) -> dict:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return data


def _run(data: dict, out: Path) -> dict:
    cfg = parse_config(data)
    res = run_config(cfg, out, config_text=yaml.safe_dump(data))
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["task"] == data.get("task", "decoding")
    # The typed result follows its schema and round-trips through results.json.
    jsonschema.validate(on_disk, type(res.result).json_schema())
    assert type(res.result).from_dict(on_disk) == res.result
    assert type(res.result).from_dict(res.result.to_dict()) == res.result
    return res.results


def test_latents_simulated_example_fast(tmp_path):
    data = _example(
        "latents_simulated",
        **{
            "data.params": {"n_neurons": 20, "n_trials": 30, "n_bins": 20, "mean_rate": 30.0},
            "options.model_params": {
                "max_epochs": 3,
                "enc_size": 16,
                "gen_size": 16,
                "g0_size": 8,
                "n_factors": 3,
            },
            "options.forward_bins": 4,
            "options.torch_threads": 1,
            "options.baselines": ["smoothing", "gpfa"],
            "options.forecast": {
                "horizons": [1, 3],
                "models": ["persistence", "linear_ar", "rnn"],
                "rnn": {"max_epochs": 2},
            },
        },
    )
    r = _run(data, tmp_path / "out")
    for key in ("co_bps", "fp_bps", "vel_r2", "psth_r2", "latent_r2", "co_bps_true_rates"):
        assert r[key] is not None and np.isfinite(r[key]), key
    assert r["co_bps_true_rates"] > 0
    assert r["n_heldout"] == 4 and r["n_test_trials"] == 6
    assert set(r["forecast"]) == {"persistence", "linear_ar", "rnn"}
    assert [row["horizon"] for row in r["forecast"]["linear_ar"]] == [1, 3]
    assert r["model_scores"]["time_per_epoch_s"] > 0
    assert set(r["baselines"]) == {"smoothing", "gpfa"}
    assert r["score_mean"] == r["co_bps"] and r["models"]["lfads"]["role"] == "main"
    html = (tmp_path / "out" / "report.html").read_text()
    for title in (
        "Latent trajectories",
        "Raster with inferred rates",
        "Predicted vs true",
        "forecast horizon",
    ):
        assert title in html


def test_latents_rejects_unknown_option():
    data = _example("latents_simulated", **{"options.modle": "lfads"})
    with pytest.raises(ConfigError, match="modle"):
        parse_config(data)


def test_behavior_decoding_simulated(tmp_path):
    data = {
        "task": "behavior_decoding",
        "data": {
            "source": "simulate",
            "simulator": "latent_population",
            "params": {"n_neurons": 30, "n_trials": 20, "n_bins": 30, "mean_rate": 40.0},
        },
        "options": {"decoders": {"ridge": {"alpha": 1.0}, "kalman": {}}, "n_splits": 3},
    }
    r = _run(data, tmp_path / "out")
    assert r["evaluation"].startswith("contiguous-block CV")
    assert r["decoders"]["ridge"]["r2_mean"] > 0.3
    assert len(r["decoders"]["kalman"]["fold_r2"]) == 3
    # The top-level score is the main decoder's (default: the last listed); each decoder has
    # its own statistics in models, the main one first.
    assert r["task"] == "behavior_decoding" and r["metric"] == "r2" and r["n_splits"] == 3
    assert r["main_decoder"] == "kalman" and list(r["models"]) == ["kalman", "ridge"]
    assert r["score_mean"] == r["decoders"]["kalman"]["r2_mean"]
    assert r["models"]["ridge"]["role"] == "baseline"
    assert r["models"]["ridge"]["score_mean"] == r["decoders"]["ridge"]["r2_mean"]
    assert r["models"]["kalman"]["fold_scores"] == r["decoders"]["kalman"]["fold_r2"]
    assert r["best_r2"] == max(v["r2_mean"] for v in r["decoders"].values())
    assert r["data_hash"] and r["versions"]["numpy"]


def test_behavior_decoding_main_option_and_sections(tmp_path):
    data = {
        "task": "behavior_decoding",
        "data": {
            "source": "simulate",
            "simulator": "latent_population",
            "params": {"n_neurons": 10, "n_trials": 10, "n_bins": 20},
        },
        "options": {"decoders": {"ridge": {}, "kalman": {}}, "n_splits": 2, "main": "ridge"},
    }
    res = run_config(parse_config(data), None)
    r = res.results
    assert r["main_decoder"] == "ridge" and r["score_mean"] == r["decoders"]["ridge"]["r2_mean"]
    assert r["models"]["ridge"]["role"] == "main"
    lines = res.result.summary_lines()
    assert any(line.startswith("ridge: r2 = ") and "[main]" in line for line in lines)
    assert BehaviorDecodingResult.from_dict(res.result.to_dict()) == res.result
    data["options"]["main"] = "gru"
    with pytest.raises(ConfigError, match=r"options\.main"):
        run_config(parse_config(data), None)
    data["options"]["main"] = "ridge"
    for section in ({"model": {"name": "lda"}}, {"evaluation": {"n_permutations": 0}}):
        with pytest.raises(ConfigError, match="does not use"):
            parse_config({**data, **section})


def test_latents_result_round_trips_and_sections(tmp_path):
    data = _example(
        "latents_simulated",
        **{
            "data.params": {"n_neurons": 10, "n_trials": 12, "n_bins": 12},
            "options.model": "autoencoder",
            "options.model_params": {"max_epochs": 1, "enc_size": 4, "gen_size": 4, "g0_size": 4},
            "options.forward_bins": 2,
            "options.baselines": ["pca"],
            "options.forecast": None,
        },
    )
    res = run_config(parse_config(data), None)
    assert isinstance(res.result, LatentsResult)
    assert LatentsResult.from_dict(res.result.to_dict()) == res.result
    r = res.results
    assert r["metric"] == "co_bps" and r["score_mean"] == r["co_bps"] == r["model_scores"]["co_bps"]
    assert list(r["models"]) == ["autoencoder", "pca"] and r["models"]["pca"]["role"] == "baseline"
    assert r["models"]["pca"]["score_mean"] == r["baselines"]["pca"]["co_bps"]
    assert r["forecast"] == {} and r["model"] == "autoencoder"
    assert r["co_bps_note"] is None  # held-out neurons: co-bps is there, nothing to explain
    with pytest.raises(ConfigError, match="does not use"):
        parse_config({**data, "model": {"name": "lfads"}})


@pytest.mark.realdata
def test_chewie_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("spikes").parent))
    data = _example(
        "chewie_velocity",
        **{
            "options.decoders": {
                "ridge": {"alpha": 1000.0},
                "wiener": {"n_lags": 10},
                "gru": {"n_lags": 5, "hidden_size": 8, "max_epochs": 2},
            }
        },
    )
    r = _run(data, tmp_path / "out")
    assert r["n_train_bins"] == 1818 and r["n_test_bins"] == 1200
    # Measured floors: ridge on the current bin 0.59, Wiener filter with 10 bins 0.62 (its
    # penalty chosen by inner contiguous-block CV on the training split only).
    assert r["decoders"]["ridge"]["r2_mean"] == pytest.approx(0.59, abs=0.02)
    assert r["decoders"]["wiener"]["r2_mean"] >= 0.62
    assert r["decoders"]["gru"]["time_per_epoch_s"] > 0


@pytest.mark.realdata
def test_ca1_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("spikes").parent))
    data = _example(
        "ca1_calcium_position", **{"options.decoders": {"ridge": {"alpha": 100.0}, "kalman": {}}}
    )
    r = _run(data, tmp_path / "out")
    assert r["n_behavior_dims"] == 2 and r["n_train_bins"] == 420
    assert r["decoders"]["ridge"]["r2_mean"] > 0.7
    assert r["best_r2"] >= 0.76  # floor (5-fold ridge)


@pytest.mark.realdata
def test_centerout_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("spikes").parent))
    data = _example(
        "centerout_direction", **{"evaluation.n_permutations": 5, "evaluation.n_boot": 50}
    )
    r = _run(data, tmp_path / "out")
    assert r["score_mean"] >= 0.77  # floor, chance 0.125


@pytest.mark.realdata
def test_mtl_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("spikes").parent))
    data = _example(
        "mtl_nwb_recognition", **{"evaluation.n_permutations": 5, "evaluation.n_boot": 100}
    )
    r = _run(data, tmp_path / "out")
    # Recognition trials only; the 4 unanswered ones (old_new 0) are dropped from the response.
    assert r["n_trials"] == 176 and r["n_units"] == 35 and r["classes"] == ["new", "old"]
    assert r["class_counts"] == [82, 94] and r["window_s"] == [0.2, 1.7]
    assert 1 / 6 <= r["p_value"] <= 1.0
    assert r["score_ci"][0] <= r["score_mean"] <= r["score_ci"][1]
    assert r["latency_per_trial_s"] > 0
    extra = r["extra_targets"]
    assert extra["ground_truth"]["class_counts"] == [90, 90]
    assert extra["correct"]["class_counts"] == [17, 163]
    assert extra["high_confidence"]["class_counts"] == [105, 71]


def _small_latents(fraction: float) -> dict:
    """A tiny latents config: 10 neurons, 12 trials of 12 bins, ``fraction`` held out."""
    return _example(
        "latents_simulated",
        **{
            "data.params": {"n_neurons": 10, "n_trials": 12, "n_bins": 12},
            "options.heldout_fraction": fraction,
            "options.model_params": {"max_epochs": 1, "enc_size": 4, "gen_size": 4, "g0_size": 4},
            "options.forward_bins": 2,
            "options.baselines": ["smoothing"],
            "options.forecast": None,
        },
    )


@pytest.mark.parametrize(
    ("fraction", "words"),
    [(0.0, "options.heldout_fraction is 0"), (0.04, "rounds to 0 of 10 neurons")],
)
def test_latents_says_why_co_bps_is_not_available(tmp_path, fraction, words):
    # No held-out neuron (fraction 0, or 0.04 of 10 neurons rounding to 0): co-bps is n/a, and
    # the result, its summary and the report say why, naming the option that enables it.
    data = _small_latents(fraction)
    r = _run(data, tmp_path / "out")
    assert r["n_heldout"] == 0 and r["co_bps"] is None and r["score_mean"] is None
    note = r["co_bps_note"]
    assert note.startswith("co-bps needs held-out neurons") and words in note, note
    assert "options.heldout_fraction" in note
    assert note in r["summary"]
    page = html.unescape((tmp_path / "out" / "report.html").read_text())
    assert "n/a" in page and note in page


@pytest.mark.parametrize("fraction", [0.95, 0.99])
def test_latents_refuses_a_heldout_fraction_leaving_no_heldin_neuron(tmp_path, fraction):
    # round(0.95 x 10) = 10 (and round(0.99 x 10) = 10): every neuron held out, none left for
    # the model. One line naming the option, the neuron count and the largest allowed fraction,
    # at --check time (check_samples) and before anything is fitted in a run, not the network's
    # "n_input ... got 0" from deep inside.
    from neurodl.workflows.precheck import check_samples

    cfg = parse_config(_small_latents(fraction))
    with pytest.raises(ConfigError) as at_check:
        check_samples(cfg)
    with pytest.raises(ConfigError) as at_run:
        run_config(cfg, tmp_path / "out")
    for err in (at_check, at_run):
        msg = str(err.value)
        assert "\n" not in msg and "n_input" not in msg, msg
        assert f"options.heldout_fraction {fraction:g} holds out all 10 neurons" in msg, msg
        assert "set it to at most 0.9 (9 of 10 held out, 1 held in)" in msg, msg
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("fraction", "n_out"), [(0.9, 9), (0.94, 9), (0.2, 2)])
def test_latents_check_accepts_a_fraction_leaving_a_heldin_neuron(fraction, n_out):
    # The refusal is exact: 0.94 of 10 rounds to 9 held out, 1 held in, and is accepted.
    from neurodl.workflows.precheck import check_samples

    lines = check_samples(parse_config(_small_latents(fraction)))
    assert lines == [
        "data: simulated:latent_population: 12 trials x 12 bins x 10 neurons",
        f"held out: {n_out} of 10 neurons, last 2 of 12 bins",
    ]
