"""Progress of long tasks: bars on a terminal, one log line per fold otherwise, none with -q."""

from __future__ import annotations

import logging
import re

import pytest
import yaml

from neurodl import config_context
from neurodl._progress_events import epoch_end
from neurodl.cli.main import main
from neurodl.workflows._progress import MAX_STEP_LINES, progress_bar, progress_steps

BEHAVIOUR = {
    "task": "behavior_decoding",
    "data": {
        "source": "simulate",
        "simulator": "latent_population",
        "params": {"n_neurons": 20, "n_trials": 12, "n_bins": 30, "mean_rate": 40.0},
    },
    "options": {
        "decoders": {"ridge": {"alpha": 1.0}, "gru": {"max_epochs": 8, "hidden_size": 8}},
        "n_splits": 3,
    },
}
DECODING = {
    "task": "decoding",
    "data": {
        "source": "simulate",
        "simulator": "motor_imagery",
        "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 40, "n_channels": 4},
    },
    "model": {"name": "lda"},
    "evaluation": {"protocol_params": {"n_splits": 4}, "n_permutations": 0, "n_boot": 50},
}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cli(tmp_path, name, cfg, *flags) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main([*flags, "run", str(path), "--out", str(tmp_path / name)]) == 0
    return path


def test_without_a_terminal_each_fold_is_one_log_line(tmp_path, capsys):
    _cli(tmp_path, "behaviour", BEHAVIOUR)
    _cli(tmp_path, "decoding", DECODING)
    err = capsys.readouterr().err
    for dec in ("ridge", "gru"):
        lines = re.findall(rf"INFO: {dec} cross-validation: fold (\d)/3 done", err)
        assert lines == ["1", "2", "3"], err
    # the GRU's epochs: every ceil(8 / 4) = 2 epochs, with the training and validation loss
    epochs = re.findall(r"gru cross-validation: fold 1, epoch (\d)/8 train_loss=\S+", err)
    assert epochs == ["2", "4", "6", "8"], err
    assert re.findall(r"INFO: cross-validation: fold (\d)/4 done", err) == list("1234"), err
    assert "\r" not in err  # no bar drawn


def test_quiet_silences_progress(tmp_path, capsys):
    _cli(tmp_path, "behaviour", BEHAVIOUR, "-q")
    _cli(tmp_path, "decoding", DECODING, "-q")
    captured = capsys.readouterr()
    assert "fold" not in captured.err and "epoch" not in captured.err, captured.err
    assert "report:" in captured.out  # the summary is still printed


def test_log_mode_throttles_long_loops_and_epochs(caplog):
    with config_context(progress="log"), caplog.at_level(logging.INFO, "neurodl.progress"):
        with progress_bar("permutation test (m)") as cb:
            for k in range(1, 101):
                epoch_end(0, 1, {"train_loss": 1.0})  # permutations: no epoch lines
                cb(k, 100)
        with progress_bar("folds") as cb:
            for e in range(10):
                epoch_end(e, 10, {"train_loss": 0.5, "valid_loss": 0.25})
            cb(1, 1)
        list(progress_steps("models", ["a", "b"], unit="model"))
    msgs = [r.getMessage() for r in caplog.records]
    perm = [m for m in msgs if m.startswith("permutation")]
    assert (
        len(perm) == MAX_STEP_LINES and perm[-1] == "permutation test (m): permutation 100/100 done"
    )
    assert [m for m in msgs if "epoch" in m] == [
        f"folds: fold 1, epoch {e}/10 train_loss=0.5 valid_loss=0.25" for e in (3, 6, 9, 10)
    ]
    assert msgs[-2:] == ["models: model 1/2 done", "models: model 2/2 done"]


def test_bar_mode_draws_folds_and_epochs_with_losses(capsys):
    with config_context(progress="bar"), progress_bar("cross-validation") as cb:
        for e in range(3):
            epoch_end(e, 3, {"train_loss": 0.75, "valid_loss": 0.5})
        cb(1, 2)
    err = capsys.readouterr().err
    assert "cross-validation" in err and "1/2" in err
    assert "epoch" in err and "3/3" in err and "train_loss=0.75" in err and "valid_loss=0.5" in err


def test_silent_without_the_setting(capsys, caplog):
    with config_context(progress=False), caplog.at_level(logging.INFO, "neurodl.progress"):
        with progress_bar("cross-validation") as cb:
            epoch_end(0, 1, {"train_loss": 1.0})
            assert cb is None
    assert not caplog.records and capsys.readouterr().err == ""


def test_a_task_without_folds_shows_its_steps_and_epochs(tmp_path, caplog):
    from neurodl.workflows import parse_config, run_config

    data = {
        "task": "forecasting",
        "data": {
            "source": "simulate",
            "simulator": "latent_population",
            "params": {"n_neurons": 20, "n_trials": 30, "n_bins": 20, "mean_rate": 30.0},
        },
        "options": {
            "horizons": [1, 3],
            "forecasters": {"persistence": {}, "rnn": {"max_epochs": 4, "hidden_size": 8}},
            "t_min": 5,
        },
    }
    with config_context(progress="log"), caplog.at_level(logging.INFO, "neurodl.progress"):
        run_config(parse_config(data), tmp_path / "out")
    msgs = [r.getMessage() for r in caplog.records if r.name == "neurodl.progress"]
    assert [m for m in msgs if m.endswith("done")] == [
        "forecasters: model 1/2 done",
        "forecasters: model 2/2 done",
    ]
    epochs = [m for m in msgs if "epoch" in m]
    assert [m.split(" train_loss")[0] for m in epochs] == [
        f"forecasters: model 2, epoch {e}/4" for e in (1, 2, 3, 4)
    ]


def test_task_level_epochs_outside_any_loop(caplog):
    from neurodl.workflows._progress import task_progress

    with config_context(progress="log"), caplog.at_level(logging.INFO, "neurodl.progress"):
        with task_progress("task_model"):
            for e in range(8):
                epoch_end(e, 8, {"train_loss": 0.125})
    assert [r.getMessage() for r in caplog.records] == [
        f"task_model: epoch {e}/8 train_loss=0.125" for e in (2, 4, 6, 8)
    ]
