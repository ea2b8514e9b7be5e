"""The ``spike_trial_decoding`` task on a synthetic NWB file with a planted, time-locked effect."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone

import jsonschema
import numpy as np
import pytest

from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.tasks.spike_trial_decoding import SpikeTrialDecodingResult

N_TRIALS, N_UNITS = 60, 8


@pytest.fixture(scope="module")
def nwb_path(tmp_path_factory):
    """Units fire 5 Hz; for label 2, units 0-3 add ~8 spikes in 0.3-0.8 s after trial onset."""
    pynwb = pytest.importorskip("pynwb")
    rng = np.random.default_rng(0)
    starts = 3.0 * np.arange(N_TRIALS) + 2.0
    cond = rng.permutation(np.repeat([1, 2], N_TRIALS // 2))
    code = cond.copy()
    code[[3, 17, 40, 51]] = 0  # "no response": dropped by label.keep
    duration = starts[-1] + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = pynwb.NWBFile("synthetic", "syn-1", datetime(2020, 1, 1, tzinfo=timezone.utc))
        nwb.add_trial_column("cond", "planted label")
        nwb.add_trial_column("code", "label with no-response code 0")
        nwb.add_trial_column("noise", "unrelated label")
        nwb.add_trial_column("shift", "seconds added to start_time (pre-stimulus alignment)")
        noise = rng.integers(1, 3, N_TRIALS)
        for s, c, k, z in zip(starts, cond, code, noise, strict=True):
            nwb.add_trial(
                start_time=s, stop_time=s + 1.5, cond=int(c), code=int(k), noise=int(z), shift=-1.0
            )
        for u in range(N_UNITS):
            t = list(rng.uniform(0, duration, rng.poisson(5 * duration)))
            if u < 4:
                for s in starts[cond == 2]:
                    t += list(s + rng.uniform(0.3, 0.8, rng.poisson(8)))
            nwb.add_unit(spike_times=np.sort(t))
        path = tmp_path_factory.mktemp("nwb") / "syn.nwb"
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def _config(path, **options) -> dict:
    opts = {
        "label": {"column": "code", "keep": [1, 2], "names": ["a", "b"]},
        "t_start": 0.2,
        "t_after": 1.0,
        **options,
    }
    return {
        "task": "spike_trial_decoding",
        "data": {"source": "file", "path": str(path)},
        "model": {"name": "lda"},
        "evaluation": {"protocol_params": {"n_splits": 5}, "n_permutations": 19, "n_boot": 200},
        "options": opts,
    }


def test_planted_effect_in_window_not_before(nwb_path, tmp_path):
    data = _config(
        nwb_path,
        extra_labels={
            "planted_all": {"column": "cond"},
            "pre_stimulus": {"column": "code", "keep": [1, 2]},
        },
    )
    r = run_config(parse_config(data), tmp_path / "out").results
    assert r["n_trials"] == N_TRIALS - 4 and r["classes"] == ["a", "b"]
    assert r["window_s"] == [0.2, 1.0] and r["n_splits"] == 5
    assert r["score_mean"] > 0.9 and r["p_value"] == pytest.approx(1 / 20)
    assert r["score_ci"][0] <= r["score_mean"] <= r["score_ci"][1]
    assert r["latency_per_trial_s"] > 0 and r["fit_time_s"] > 0
    assert r["extra_targets"]["planted_all"]["n_trials"] == N_TRIALS
    assert r["extra_targets"]["planted_all"]["score_mean"] > 0.9
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Targets" in html and "Permutation null" in html
    # The main label's statistics are the model's own; the typed result round-trips.
    assert r["models"]["lda"]["score_mean"] == r["score_mean"]
    assert r["models"]["lda"]["p_value"] == r["p_value"]
    assert len(r["models"]["lda"]["null_scores"]) == 19
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    jsonschema.validate(on_disk, SpikeTrialDecodingResult.json_schema())
    assert SpikeTrialDecodingResult.from_dict(on_disk).to_dict() == on_disk


def test_align_shift_moves_the_window_before_onset(nwb_path, tmp_path):
    # shift = -1 s: the window 0.2-1.0 s after (onset - 1 s) ends before the planted response.
    data = _config(nwb_path, align_shift="shift", t_start=0.0, t_after=0.9)
    r = run_config(parse_config(data), None).results
    assert r["aligned_to"] == "start_time + shift"
    assert r["score_mean"] < 0.75  # no planted signal there


def test_inner_search_selects_a_grid_value(nwb_path):
    data = _config(nwb_path, inner_search={"param": "C", "values": [0.01, 1.0], "n_splits": 3})
    data["model"] = {"name": "logistic_regression"}
    data["evaluation"]["n_permutations"] = 0
    r = run_config(parse_config(data), None).results
    assert r["inner_selected"] in (0.01, 1.0)
    assert r["score_mean"] > 0.9 and r["p_value"] is None


def test_network_model_through_the_estimator_factory(nwb_path):
    # Any name of make_estimator: here a registered network (formerly "unknown model").
    data = _config(nwb_path)
    data["model"] = {"name": "mlp", "params": {"max_epochs": 2, "batch_size": 16}}
    data["evaluation"].update({"n_permutations": 0, "n_boot": 0})
    res = run_config(parse_config(data), None)
    r = res.results
    assert r["model"] == "mlp" and r["models"]["mlp"]["kind"] == "neural"
    assert r["n_splits"] == 5 and 0.0 <= r["score_mean"] <= 1.0
    assert SpikeTrialDecodingResult.from_dict(res.result.to_dict()) == res.result
    data["model"] = {"name": "no_such_model"}
    with pytest.raises(ConfigError, match="Unknown model"):
        run_config(parse_config(data), None)


def test_sections_not_read_are_refused(nwb_path):
    with pytest.raises(ConfigError, match="does not use"):
        parse_config({**_config(nwb_path), "preprocessing": [{"zscore": {}}]})


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"label": {"column": "nope"}}, ConfigError, "label.column"),
        ({"label": {"column": "cond", "names": ["x"]}}, ConfigError, "label.names"),
        ({"label": {"column": "code", "keep": [9]}}, DataFormatError, "Only 0 trials"),
        ({"extra_labels": {"z": {"column": "nope"}}}, ConfigError, "extra_labels.z.column"),
        ({"t_start": 1.0, "t_after": 0.5}, ConfigError, "window must end after"),
        ({"align_shift": "nope"}, ConfigError, "align_shift"),
        ({"inner_search": {"param": "gamma", "values": [1, 2]}}, ConfigError, "inner_search"),
        ({"inner_search": {"param": "C", "values": [1.0]}}, ConfigError, "values"),
        ({"labell": {"column": "cond"}}, ConfigError, "labell"),
    ],
)
def test_bad_options(nwb_path, options, error, match):
    data = _config(nwb_path, **options)
    data["evaluation"]["n_permutations"] = 0
    with pytest.raises(error, match=match):
        run_config(parse_config(data), None)
