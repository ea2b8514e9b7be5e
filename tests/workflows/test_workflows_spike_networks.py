"""``spike_trial_decoding`` with networks (MLP, GRU on binned counts), interval tables, labels."""

from __future__ import annotations

import json
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from neurodl.analyses.dynamics.trials import label_values
from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config

N_TRIALS, N_UNITS = 80, 8


@pytest.fixture(scope="module")
def nwb_path(tmp_path_factory):
    """Two interval tables, no trials table: ``task`` (80 trials) and ``rest`` (10).

    Units fire 5 Hz; in ``task`` trials with ``cond`` 2.0 (a float code) / ``stim`` "house",
    units 0-3 add ~10 spikes 0.3-0.8 s after onset. The GRU needs the timing, the MLP not.
    """
    pynwb = pytest.importorskip("pynwb")
    from pynwb.epoch import TimeIntervals

    rng = np.random.default_rng(1)
    starts = 3.0 * np.arange(N_TRIALS) + 2.0
    cond = rng.permutation(np.repeat([1.0, 2.0], N_TRIALS // 2))
    duration = starts[-1] + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = pynwb.NWBFile("synthetic", "syn-net", datetime(2020, 1, 1, tzinfo=timezone.utc))
        task = TimeIntervals(name="task", description="trials")
        task.add_column("cond", "float-coded planted label")
        task.add_column("stim", "the same label as strings")
        task.add_column("noise", "a label unrelated to the spikes")
        noise = rng.integers(1, 3, N_TRIALS)
        for s, c, z in zip(starts, cond, noise, strict=True):
            stim = "house" if c == 2 else "face"
            task.add_interval(start_time=s, stop_time=s + 1.5, cond=float(c), stim=stim, noise=z)
        rest = TimeIntervals(name="rest", description="rest periods")
        for s in np.linspace(1.0, duration - 2.0, 10):
            rest.add_interval(start_time=s, stop_time=s + 0.5)
        nwb.add_time_intervals(task)
        nwb.add_time_intervals(rest)
        for u in range(N_UNITS):
            t = list(rng.uniform(0, duration, rng.poisson(5 * duration)))
            if u < 4:
                for s in starts[cond == 2]:
                    t += list(s + rng.uniform(0.3, 0.8, rng.poisson(10)))
            nwb.add_unit(spike_times=np.sort(t))
        path = tmp_path_factory.mktemp("nwb") / "syn_net.nwb"
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def _config(path, model="lda", params=None, **options) -> dict:
    opts = {"label": {"column": "cond"}, "t_start": 0.0, "t_after": 1.0, **options}
    return {
        "task": "spike_trial_decoding",
        "data": {"source": "file", "path": str(path)},
        "model": {"name": model, "params": params or {}},
        "evaluation": {"protocol_params": {"n_splits": 5}, "n_permutations": 0, "n_boot": 100},
        "options": opts,
    }


def _run(data, out: Path) -> dict:
    run_config(parse_config(data), out)
    return json.loads((out / "results.json").read_text())


def test_label_values_keep_types():
    classes, y = label_values(np.array([2.0, 1.0, 2.0, 10.0]))
    assert classes == [1, 2, 10] and all(type(c) is int for c in classes)
    assert y.tolist() == [1, 0, 1, 2]  # by value, not as strings ('10' < '2')
    assert label_values([0.5, 1.5])[0] == [0.5, 1.5]
    classes, y = label_values(["house", "face", "house"])
    assert classes == ["face", "house"] and y.tolist() == [1, 0, 1]


def test_several_interval_tables_need_a_name(nwb_path, tmp_path):
    with pytest.raises(ConfigError, match=r"2 interval tables.*rest \(10\), task \(80\)"):
        run_config(parse_config(_config(nwb_path)), tmp_path / "a")
    with pytest.raises(ConfigError, match=r"options.intervals.*rest \(10\), task \(80\).*'tsk'"):
        run_config(parse_config(_config(nwb_path, intervals="tsk")), tmp_path / "b")


def test_mlp_decodes_planted_effect_and_keeps_label_names(nwb_path, tmp_path):
    params = {"max_epochs": 30, "n_hidden": 16, "lr": 0.01}
    extra = {"noise": {"column": "noise"}}
    data = _config(nwb_path, "mlp", params, intervals="task", extra_labels=extra)
    r = _run(data, tmp_path / "mlp")
    assert r["model"] == "mlp" and r["n_trials"] == N_TRIALS
    assert r["classes"] == ["1", "2"] and r["class_values"] == [1, 2]  # not '1.0', '2.0'
    assert r["score_mean"] > 0.85, r["score_mean"]  # chance 0.5, 80 trials
    noise = r["extra_targets"]["noise"]  # negative control: same model, unrelated label
    assert noise["score_mean"] < 0.7 and noise["class_values"] == [1, 2]


def test_gru_on_binned_counts_with_string_labels(nwb_path, tmp_path):
    data = _config(
        nwb_path,
        "gru",
        {"max_epochs": 30, "hidden_size": 16, "lr": 0.01},
        intervals="task",
        label={"column": "stim"},
        bin_size=0.1,
    )
    r = _run(data, tmp_path / "gru")
    assert r["classes"] == ["face", "house"] and r["class_values"] == ["face", "house"]
    assert r["score_mean"] > 0.85, r["score_mean"]


@pytest.mark.realdata
def test_real_nwb_with_network(tmp_path):
    root = Path(os.environ.get("NEURODL_DATA", "../shared/data"))
    nwb = root / "spikes" / "pynapple_nwb" / "sub-4_ses-4_ecephys+image.nwb"
    if not nwb.exists():
        pytest.skip(f"{nwb} not found (set NEURODL_DATA)")
    data = _config(
        nwb, "mlp", {"max_epochs": 5}, label={"column": "stimuli_type"}, t_start=0.2, t_after=1.7
    )
    with pytest.raises(ConfigError, match=r"recognition_table \(180\)"):
        run_config(parse_config(data), tmp_path / "amb")
    data["options"]["intervals"] = "recognition_table"
    r = _run(data, tmp_path / "real")
    assert r["n_trials"] == 180 and r["n_units"] == 35
    assert r["classes"] == ["0", "1"] and r["class_values"] == [0, 1]  # a float64 column
    assert 0.0 <= r["score_mean"] <= 1.0 and len(r["fold_scores"]) == 5


def test_model_checked_before_any_data(tmp_path):
    # the file does not exist: the model is refused first, by the estimator factory's names
    missing = tmp_path / "missing.nwb"
    with pytest.raises(ConfigError, match=r"Unknown model 'mpl'.*mlp"):
        parse_config(_config(missing, "mpl"))
    with pytest.raises(ConfigError, match=r"'hiden_size'.*Did you mean 'hidden_size'"):
        parse_config(_config(missing, "gru", {"hiden_size": 8}))
    assert parse_config(_config(missing, "gru", {"hidden_size": 8})).model.name == "gru"


def test_confusion_matrix_feeds_the_failed_fit_check(nwb_path, tmp_path):
    from neurodl.workflows.fit_checks import finish_warnings
    from neurodl.workflows.tasks.spike_trial_decoding import SpikeTrialDecodingResult

    res = _run(_config(nwb_path, intervals="task"), tmp_path / "lda")
    cm = np.asarray(res["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == N_TRIALS and res["warnings"] == []
    collapsed = SpikeTrialDecodingResult.from_dict({**res, "confusion_matrix": [[40, 0], [40, 0]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flagged = finish_warnings(collapsed)
    assert any("predicted one class" in w for w in flagged.warnings)
