from __future__ import annotations

import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import load_config, parse_config

BASE = {"data": {"source": "simulate", "simulator": "motor_imagery"}}


def test_defaults_fill_in():
    cfg = parse_config(BASE)
    assert cfg.evaluation.metric == "balanced_accuracy"
    assert cfg.model.name == "logistic_regression"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({**BASE, "evaluaton": {}}, r"unknown key 'evaluaton'\. Did you mean 'evaluation'\?"),
        (
            {"data": {**BASE["data"], "parms": {}}},
            r"unknown key 'data\.parms'\. Did you mean 'params'\?",
        ),
        ({**BASE, "model": {"name": "lda", "param": {}}}, r"'model\.param'.*Did you mean 'params'"),
        ({**BASE, "evaluation": {"n_permutations": -3}}, r"'evaluation\.n_permutations'.*got -3"),
        ({**BASE, "evaluation": {"ci": 1.5}}, r"'evaluation\.ci'.*got 1\.5"),
        ({"data": {"source": "dataset"}}, r"data\.dataset is required"),
        ({"data": {"source": "ftp", "path": "x"}}, r"'data\.source'.*got 'ftp'"),
        ({**BASE, "preprocessing": [{"bandpass": {}, "notch": {}}]}, r"exactly one key"),
        ({**BASE, "task": "dreaming"}, r"'task'.*got 'dreaming'"),
        ({}, r"missing required key 'data'"),
        ([1, 2], r"expected a mapping"),
    ],
)
def test_bad_configs_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(data, source="t.yaml")


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(empty)
    good = tmp_path / "good.yaml"
    good.write_text("data:\n  source: simulate\n  simulator: motor_imagery\nseed: 3\n")
    assert load_config(good).seed == 3


def test_shipped_demo_config_is_valid():
    import yaml

    from neurodl.cli.demo import demo_config_text

    cfg = parse_config(yaml.safe_load(demo_config_text()))
    assert cfg.data.simulator == "motor_imagery"
    assert cfg.evaluation.n_permutations > 0


def test_unknown_task_and_options_are_rejected():
    with pytest.raises(ConfigError, match=r"'task'.*unknown task\. Did you mean 'decoding'\?"):
        parse_config({**BASE, "task": "decodng"})
    with pytest.raises(ConfigError, match=r"unknown key 'options\.foo'"):
        parse_config({**BASE, "options": {"foo": 1}})


def test_to_samples_takes_one_sampler():
    with pytest.raises(ConfigError, match="exactly one sampler"):
        parse_config({"data": {**BASE["data"], "to_samples": {"windows": {}, "epochs": {}}}})


def test_rate_after_a_resample_step_reaches_later_steps():
    from neurodl.preprocessing import rate_after, split_preprocessing

    steps = [
        {"bandpass": {"l_freq": 1.0, "h_freq": 30.0}},
        {"resample": {"new_sfreq": 64.0}},
        {"standardize": {}},
    ]
    lead, rest = split_preprocessing(steps, 128.0)
    assert rate_after(lead, 128.0) == 64.0
    assert rest is not None and rate_after(None, 128.0) == 128.0


@pytest.mark.parametrize(
    ("task", "section"),
    [("decoding", "nope"), ("seizure", "evaluation"), ("rsa_fixed_models", "model")],
)
def test_sections_a_task_does_not_read_are_refused_centrally(task, section):
    from neurodl.workflows import TASKS

    if task not in TASKS:
        pytest.skip(f"task {task!r} not registered")
    spec = TASKS[task]
    if section == "nope":  # every section decoding reads is accepted
        assert spec.reads == {"data", "preprocessing", "model", "evaluation", "options"}
        return
    assert section not in spec.reads
    raw = {**BASE, "task": task, section: {}}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="t.yaml")
    msg = str(err.value)
    assert f"task {task!r} does not use the section(s) {section!r}" in msg
    assert "it reads: " + ", ".join(
        s for s in ("data", "preprocessing", "model", "evaluation", "options", "report")
        if s in spec.reads or s == "report"
    ) in msg


@pytest.mark.parametrize(
    ("section", "data", "hint", "allowed"),
    [
        ("evaluation", {"protocl": "within-session"}, "protocol", "protocol, protocol_params"),
        ("report", {"titel": "x"}, "title", "title, enabled"),
        ("model", {"nmae": "lda"}, "name", "name, params"),
    ],
)
@pytest.mark.parametrize("prefixed", [True, False])
def test_format_errors_of_a_section_alone_lists_the_sections_keys(
    section, data, hint, allowed, prefixed
):
    # A section validated on its own, format_errors not told its model: the hint and the
    # allowed keys are the section's, not RunConfig's top-level keys.
    from pydantic import ValidationError

    from neurodl.workflows.config import RunConfig, format_errors

    section_model = RunConfig.model_fields[section].annotation
    with pytest.raises(ValidationError) as info:
        section_model.model_validate(data)
    msg = format_errors(info.value, "run.yaml", prefix=section if prefixed else "")
    typo = next(iter(data))
    path = f"{section}.{typo}" if prefixed else typo
    assert f"unknown key {path!r}. Did you mean {hint!r}? Allowed here: {allowed}" in msg, msg
    assert "preprocessing" not in msg and "privacy" not in msg, msg
