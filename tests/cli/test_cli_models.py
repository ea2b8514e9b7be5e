"""``neurodl models`` (run in-process)."""

from __future__ import annotations

import re

import pytest

from neurodl.cli.main import main
from neurodl.models import build_model, count_parameters, list_models


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()[2:] if line.strip()}


def test_lists_every_model_with_counts_for_the_stated_shape(capsys):
    assert (
        main(
            ["models", "--n-chans", "22", "--n-times", "1125", "--n-outputs", "4", "--sfreq", "250"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "(batch, 22, 1125), 4 outputs, sfreq 250 Hz" in out
    rows = _rows(out)
    assert set(rows) == set(list_models())
    # Published counts (see tests/models/test_models_architectures.py for their sources).
    assert rows["shallow"][2:] == ["47,364", "99"]
    assert rows["deep4"][2:] == ["284,479", "441"]
    assert rows["eegnet"][3] == "32"
    # connectivity models take square matrices only: listed, not built for a signal shape
    assert rows["brainnetcnn"][2:4] == ["square", "only"]
    for name, cols in rows.items():
        if name == "brainnetcnn":
            continue
        expected = count_parameters(
            build_model(name, n_chans=22, n_times=1125, n_outputs=4, sfreq=250.0)
        )
        assert int(cols[2].replace(",", "")) == expected


def test_too_short_input_is_reported_per_model(capsys):
    assert main(["models", "--n-chans", "1", "--n-times", "100"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["deep4"][2:] == ["too", "short", "441"]
    assert re.fullmatch(r"[\d,]+", rows["shallow"][2])  # 100 >= 99: built, one channel


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--n-chans", "0"], "'--n-chans'.*>= 1.*got 0"),
        (["--n-outputs", "-2"], "'--n-outputs'.*got -2"),
    ],
)
def test_bad_shapes_fail_with_one_line(argv, match, capsys):
    assert main(["models", *argv]) == 1
    err = capsys.readouterr().err
    assert re.search(match, err) and err.count("\n") == 1
