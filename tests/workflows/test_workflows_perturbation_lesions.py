"""``perturbation_decoder`` (EEG networks per fold) and ``perturbation_rsa`` (the RSA CNN)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config
from neurodl.workflows.tasks import perturbation_decoder, perturbation_rsa

SHALLOW = {
    "max_epochs": 2,
    "batch_size": 16,
    "num_threads": 1,
    "validation_fraction": None,
    "early_stopping": False,
    "n_filters_time": 6,
    "n_filters_spat": 6,
    "filter_time_length": 10,
    "pool_time_length": 30,
    "pool_time_stride": 10,
}


def _decoder_config(**options):
    base = {
        "layer": "pool_nonlin",
        "mode": "mean",
        "fractions": [0.5, 0.34],
        "targeting": ["selectivity", "importance"],
        "n_random": 2,
        "n_clusters": 2,
        "n_reference": 40,
        "gain": {"layer": "bnorm", "top": 2, "levels": [0.0, 1.0]},
    }
    base.update(options)
    return {
        "task": "perturbation_decoder",
        "name": "tiny",
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 60, "n_channels": 4},
        },
        "model": {"name": "shallow", "params": dict(SHALLOW)},
        "evaluation": {"protocol": "within-session", "protocol_params": {"n_splits": 3}},
        "options": base,
    }


def _spy(monkeypatch, module, name, seen):
    """Record each trained network and a copy of its state_dict when the task first sees it."""
    original = getattr(module, name)

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        net = out if name == "_network" else out[0]
        seen.append((net, {k: v.detach().clone() for k, v in net.state_dict().items()}))
        return out

    monkeypatch.setattr(module, name, spy)


@pytest.fixture(scope="module")
def decoder_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesion_decoder") / "out"
    seen: list = []
    mp = pytest.MonkeyPatch()
    _spy(mp, perturbation_decoder, "_network", seen)
    try:
        run = run_config(parse_config(_decoder_config()), out)
    finally:
        mp.undo()
    return run, out, seen


def test_decoder_lesions_follow_the_schema_and_leave_every_network_unchanged(decoder_run):
    run, out, seen = decoder_run
    on_disk = json.loads((out / "results.json").read_text())
    cls = TASKS["perturbation_decoder"].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert cls.from_dict(on_disk) == run.result
    assert (out / "report.html").is_file()
    res = run.result
    assert res.n_units == 6 and len(res.repeats) == 3 and res.state_dict_unchanged
    assert len(seen) == 3
    for net, state in seen:  # the trained weights, bit for bit, after the whole study
        for key, value in net.state_dict().items():
            assert value.dtype == state[key].dtype and bool((value == state[key]).all()), key
    assert [r.fraction for r in res.curve if r.strategy == "random"] == [0.34, 0.5]
    assert {r.strategy for r in res.curve} == {"selectivity", "importance", "random"}
    assert [r.size for r in res.curve if r.strategy == "random"] == [2, 3]
    for row in res.curve:
        assert row.n == 3 and len(row.values) == 3
        assert row.score == pytest.approx(sum(row.values) / 3)
        if row.strategy != "random":
            assert row.vs_random is not None and row.drop is not None
    intact = [r.intact for r in res.repeats]
    assert res.score_mean == pytest.approx(sum(intact) / 3)
    gain_one = next(r for r in res.gain if r.level == 1.0)  # gain 1 is the intact network
    assert gain_one.values == pytest.approx(intact)
    assert sorted(r.channel for r in res.channels) == list(range(6))
    assert {r.cluster for r in res.clusters} <= {0, 1} and len(res.clusters) >= 3
    assert any("lesioned" in line for line in res.summary_lines())


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"layer": "pool_nonlinn"}, r"no layer 'pool_nonlinn'.*Close matches: 'pool_nonlin'"),
        (
            {"gain": {"layer": "bnorm", "channels": [9]}},
            r"'gain.channels'.*6 channels.*got channel 9",
        ),
        ({"gain": {"levels": [1.0, -0.5]}}, r"gain.levels.*got -0.5"),
        ({"gain": {"levels": [float("nan")]}}, r"gain.levels.*got nan"),
        ({"fractions": [0.5, 1.5]}, r"fractions.*got 1.5"),
    ],
)
def test_decoder_bad_options_fail_before_training_naming_the_value(options, match, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the options")

    monkeypatch.setattr(perturbation_decoder, "_fold_study", no_training)
    with pytest.raises((ConfigError, ValueError), match=match):
        run_config(parse_config(_decoder_config(**options)))


def test_decoder_refuses_a_classical_model():
    raw = _decoder_config()
    raw["model"] = {"name": "lda", "params": {}}
    with pytest.raises(ConfigError, match=r"needs a neural model.*got 'lda'"):
        run_config(parse_config(raw))


def _rsa_config(**options):
    base = {
        "architecture_params": {"channels": [4, 8]},
        "image_size": 16,
        "train": {"n_per_class": 6, "n_test_per_class": 3, "epochs": 1},
        "fractions": [0.5],
        "targeting": ["random", "selectivity"],
        "n_random": 2,
        "seeds": [0, 1],
    }
    base.update(options)
    return {
        "task": "perturbation_rsa",
        "name": "tiny-rsa",
        "data": {"source": "dataset", "dataset": "kriegeskorte92"},
        "options": base,
    }


@pytest.mark.realdata
def test_rsa_lesions_follow_the_schema_and_leave_the_cnn_unchanged(
    shared_data, tmp_path, monkeypatch
):
    shared_data("fmri/kriegeskorte92")
    seen: list = []
    _spy(monkeypatch, perturbation_rsa, "_trained", seen)
    out = tmp_path / "out"
    run = run_config(parse_config(_rsa_config()), out)
    on_disk = json.loads((out / "results.json").read_text())
    cls = TASKS["perturbation_rsa"].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert cls.from_dict(on_disk) == run.result
    res = run.result
    assert res.layers == ["conv1", "conv2"] and res.seeds == [0, 1] and res.state_dict_unchanged
    assert len(seen) == 2
    for net, state in seen:
        for key, value in net.state_dict().items():
            assert bool((value == state[key]).all()), key
    for s in res.per_seed:  # the readout is each network's best intact layer
        assert s.intact == max(v for v in s.per_layer.values())
    assert {d.layer for d in res.damage} == {"conv1", "conv2"}
    assert sorted(d.rank for d in res.damage) == [1, 2]
    random = [r for r in res.curve if r.strategy == "random"]
    assert all(r.spread_low is not None and r.ci_low is not None for r in random)
    assert res.most_damaging in ("conv1", "conv2")


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"layers": ["conv1", "conv7"]}, r"'options.layers'.*no layer 'conv7'"),
        ({"readout": "fc2"}, r"'options.readout'.*no layer 'fc2'"),
    ],
)
def test_rsa_unknown_layers_are_named(options, match, shared_data, monkeypatch):
    shared_data("fmri/kriegeskorte92")
    monkeypatch.setattr(perturbation_rsa, "_seed_study", lambda *a: pytest.fail("lesioned"))
    with pytest.raises(ConfigError, match=match):
        run_config(parse_config(_rsa_config(seeds=[0], **options)))
