"""The ``forecasting`` task: scores by horizon with timing, on simulated trials and binned counts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

from neurodl.analyses.dynamics import LinearARForecaster, PersistenceForecaster, forecast_scores
from neurodl.data.simulate import simulate_latent_population
from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.tasks.forecasting import ForecastingResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIM = {"n_neurons": 20, "n_trials": 30, "n_bins": 20, "mean_rate": 30.0}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _config(**options) -> dict:
    data = yaml.safe_load((EXAMPLES / "forecast_simulated.yaml").read_text())
    data["data"]["params"] = dict(SIM)
    data["options"].update(
        {
            "horizons": [1, 3],
            "forecasters": {"persistence": {}, "linear_ar": {}, "rnn": {"max_epochs": 2}},
            **options,
        }
    )
    return data


def _run(data: dict, out: Path) -> dict:
    res = run_config(parse_config(data), out, config_text=yaml.safe_dump(data))
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["task"] == "forecasting"
    assert isinstance(res.result, ForecastingResult)
    jsonschema.validate(on_disk, ForecastingResult.json_schema())
    assert ForecastingResult.from_dict(on_disk) == res.result
    assert ForecastingResult.from_dict(res.result.to_dict()) == res.result
    return res.results


def test_forecast_example_fast_matches_direct_scores(tmp_path):
    data = _config()
    r = _run(data, tmp_path / "out")
    assert r["n_test_trials"] == 6 and r["n_train_trials"] == 24 and r["horizons"] == [1, 3]
    for name, entry in r["forecasters"].items():
        assert [row["horizon"] for row in entry["by_horizon"]] == [1, 3], name
        assert entry["fit_time_s"] >= 0 and entry["latency_per_bin_s"] > 0, name
        assert all(np.isfinite(row["r2_true_rates"]) for row in entry["by_horizon"])
    assert r["forecasters"]["rnn"]["time_per_epoch_s"] > 0
    assert r["forecasters"]["persistence"]["time_per_epoch_s"] is None
    # The top-level score is the main forecaster's (the GRU): bits/spike at the first horizon.
    assert r["metric"] == "bits_per_spike" and r["main_forecaster"] == "rnn"
    assert r["score_mean"] == r["forecasters"]["rnn"]["by_horizon"][0]["bits_per_spike"]
    assert list(r["models"]) == ["rnn", "persistence", "linear_ar"]
    for name, m in r["models"].items():
        assert m["role"] == ("main" if name == "rnn" else "baseline")
        assert m["score_mean"] == r["forecasters"][name]["by_horizon"][0]["bits_per_spike"]
    assert r["forecasters"]["rnn"]["params"]["random_state"] == data["seed"]
    # Oracle: the same random trial split and forecasters called directly.
    pop = simulate_latent_population(**SIM, seed=data["seed"])
    order = np.random.default_rng(data["seed"]).permutation(30)
    te, tr = np.sort(order[:6]), np.sort(order[6:])
    c = pop.counts.astype(float)
    for name, cls in (("persistence", PersistenceForecaster), ("linear_ar", LinearARForecaster)):
        f = cls(horizons=[1, 3]).fit(c[tr])
        expected = forecast_scores(
            f.predict(c[te]), c[te], [1, 3], true_rates=pop.rates[te] * pop.bin_size, t_min=5
        )
        got = r["forecasters"][name]["by_horizon"]
        for e, g in zip(expected, got, strict=True):
            assert g["bits_per_spike"] == pytest.approx(e["bits_per_spike"], rel=1e-9)
            assert g["r2_true_rates"] == pytest.approx(e["r2_true_rates"], rel=1e-9)
    html = (tmp_path / "out" / "report.html").read_text()
    for title in ("Scores by forecast horizon", "Predicted vs true activity", "latency/bin"):
        assert title in html


def test_forecast_on_binned_counts_uses_contiguous_segments(tmp_path):
    rng = np.random.default_rng(0)
    # Planted slow rate fluctuations: AR on the past bins beats the global-mean shrinkage.
    rate = 20.0 + 15.0 * np.sin(np.arange(600)[:, None] / 15.0 + np.arange(8)[None, :])
    path = tmp_path / "counts.npy"
    np.save(path, rng.poisson(rate).astype(float))
    data = {
        "task": "forecasting",
        "data": {"source": "file", "path": str(path), "params": {"axis_order": "epochs_features"}},
        "options": {
            "horizons": [1, 5],
            "forecasters": {"persistence": {}, "linear_ar": {"n_lags": 5}},
            "segment_bins": 50,
            "test_fraction": 0.25,
        },
    }
    r = _run(data, tmp_path / "out")
    assert r["n_train_trials"] == 9 and r["n_test_trials"] == 3 and r["n_units"] == 8
    assert "contiguous" in r["evaluation"]
    ar = r["forecasters"]["linear_ar"]["by_horizon"]
    assert ar[0]["bits_per_spike"] > 0.05, ar  # predictable: the rates are slow sinusoids
    assert "r2_true_rates" not in ar[0]
    assert r["main_forecaster"] == "linear_ar" and r["score_mean"] == ar[0]["bits_per_spike"]


def test_forecast_main_option_summary_and_sections():
    data = _config(forecasters={"persistence": {}, "linear_ar": {}}, main="persistence")
    res = run_config(parse_config(data), None)
    r = res.results
    assert r["main_forecaster"] == "persistence"
    assert r["score_mean"] == r["forecasters"]["persistence"]["by_horizon"][0]["bits_per_spike"]
    lines = res.result.summary_lines()
    assert "forecasting" in lines[0] and any("persistence" in ln and "[main]" in ln for ln in lines)
    data["options"]["main"] = "rnn"
    with pytest.raises(ConfigError, match=r"options\.main"):
        run_config(parse_config(data), None)
    with pytest.raises(ConfigError, match="does not use"):
        parse_config({**_config(), "evaluation": {"n_permutations": 0}})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"forecasters": {"kalman": {}}}, "kalman"),
        ({"horizons": [0]}, "horizons"),
        ({"horizons": [30]}, "horizons"),
        ({"segment_bins": 2}, "segment_bins"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"horizon": [1]}, "horizon"),
    ],
)
def test_forecast_bad_options(tmp_path, options, match):
    data = _config(**options)
    with pytest.raises(ConfigError, match=match):
        run_config(parse_config(data), None)


def test_forecast_example_parses():
    cfg = parse_config(yaml.safe_load((EXAMPLES / "forecast_simulated.yaml").read_text()))
    assert cfg.task == "forecasting"
    assert set(cfg.task_options().forecasters) == {"persistence", "linear_ar", "rnn"}


@pytest.mark.realdata
def test_forecast_chewie_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("spikes").parent))
    data = yaml.safe_load((EXAMPLES / "forecast_chewie.yaml").read_text())
    data["options"]["forecasters"]["rnn"] = {"max_epochs": 2, "hidden_size": 8}
    r = _run(data, tmp_path / "out")
    assert r["n_units"] == 71 and r["n_train_trials"] == 29 and r["n_test_trials"] == 7
    persistence = r["forecasters"]["persistence"]["by_horizon"]
    # Measured: 0.446 bits/spike one bin ahead, decaying with the horizon (no training involved).
    assert persistence[0]["bits_per_spike"] == pytest.approx(0.446, abs=0.01)
    assert persistence[-1]["bits_per_spike"] < persistence[0]["bits_per_spike"]
    assert "r2_true_rates" not in persistence[0]
