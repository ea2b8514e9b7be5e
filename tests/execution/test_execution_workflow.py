"""The ``execution:`` section of a run config: validated strictly, in force during the run."""

from __future__ import annotations

import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config
from neurodl.workflows.run import run_config

RAW = {
    "task": "decoding",
    "data": {
        "source": "simulate",
        "simulator": "motor_imagery",
        "params": {
            "n_subjects": 1,
            "n_sessions": 1,
            "n_trials": 30,
            "n_channels": 6,
            "sfreq": 64.0,
            "trial_duration": 1.0,
            "effect_size": 0.9,
        },
    },
    "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [13.0, 30.0]]}}],
    "model": {"name": "lda"},
    "evaluation": {
        "protocol": "within-session",
        "protocol_params": {"n_splits": 3},
        "n_permutations": 5,
        "n_boot": 50,
    },
}


def test_run_uses_the_execution_section_and_resumes_from_its_cache(tmp_path):
    raw = dict(RAW, execution={"backend": "local", "cache_dir": str(tmp_path / "units")})
    first = run_config(parse_config(raw)).result
    entries = sorted(p.name for p in (tmp_path / "units").glob("*.pkl"))
    assert entries  # folds and permutations were cached
    again = run_config(parse_config(raw)).result
    assert sorted(p.name for p in (tmp_path / "units").glob("*.pkl")) == entries  # nothing new
    plain = run_config(parse_config(RAW)).result
    assert first.score_mean == again.score_mean == plain.score_mean
    assert first.p_value == again.p_value == plain.p_value


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"backend": "dask"}, r"execution.backend.*'local' or 'ray'.*got 'dask'"),
        ({"adress": "x:1"}, r"unknown key 'execution.adress'. Did you mean 'address'\?"),
        ({"address": "10.0.0.1:6379"}, r"an address needs backend 'ray'"),
        ({"max_retries": -1}, r"execution.max_retries"),
    ],
)
def test_bad_execution_section_is_refused(section, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(dict(RAW, execution=section))
