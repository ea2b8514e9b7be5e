"""Broken configs end in one clear line and a non-zero exit, never a traceback (issue 13, item 2).

Each case is driven through the CLI twice: ``neurodl run CONFIG --check`` (validation, nothing
fitted) and ``neurodl run CONFIG --out DIR`` (a real run). Both must fail with exit code 1 and
one ``neurodl: error:`` line naming the problem.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import yaml

from neurodl.cli.main import main

SIM = {
    "source": "simulate",
    "simulator": "motor_imagery",
    "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 20, "n_channels": 4},
}


def _base(**overrides):
    cfg = {
        "name": "broken",
        "data": SIM,
        "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}}],
        "model": {"name": "lda"},
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 0,
            "n_boot": 0,
        },
    }
    cfg.update(overrides)
    return cfg


def _npz(folder, name, y, n=30, features=4, seed=0):
    rng = np.random.default_rng(seed)
    path = folder / name
    np.savez(path, X=rng.normal(size=(n, features)), y=np.asarray(y))
    return str(path)


def _file_data(path, **params):
    return {
        "source": "file",
        "path": path,
        "params": {"axis_order": "epochs_features", "key": "X", **params},
    }


def _features_cfg(data, **evaluation):
    ev = {"protocol": "within-session", "protocol_params": {"n_splits": 3}, "n_permutations": 0}
    ev.update(evaluation)
    return {
        "name": "broken",
        "data": data,
        "model": {"name": "lda"},
        "evaluation": {**ev, "n_boot": 0},
    }


def _cases(tmp):
    two = _npz(tmp, "two.npz", np.repeat([0, 1], 15))
    return {
        # (config mapping or raw YAML text, words the error line must contain)
        "duplicate key": (
            "name: a\nname: b\ndata: {source: simulate, simulator: motor_imagery}\n",
            ["duplicate key 'name'"],
        ),
        "yaml syntax": ("name: [a\n", ["not valid YAML"]),
        "empty file": ("", ["empty"]),
        "unknown top-level key": (_base(modle={"name": "lda"}), ["unknown key 'modle'", "model"]),
        "unknown simulator": (_base(data={**SIM, "simulator": "motor_imagry"}), ["motor_imagery"]),
        "unknown simulator parameter": (
            _base(data={**SIM, "params": {"n_subject": 2}}),
            ["'n_subject'", "Did you mean 'n_subjects'"],
        ),
        "wrong type": (
            _base(data={**SIM, "params": {"n_subjects": "two"}}),
            ["'n_subjects'", "'two'"],
        ),
        "unknown reader parameter": (
            _features_cfg(_file_data(two, label_key="y", labelz="y")),
            ["'labelz'", "Allowed", "label_key"],
        ),
        "unknown sampler": (
            _base(data={**SIM, "to_samples": {"epoch": {"tmin": 0.0}}}),
            ["unknown sampler 'epoch'", "epochs"],
        ),
        "sampler parameter": (
            _base(data={**SIM, "to_samples": {"epochs": {"event_idd": {"a": 0}}}}),
            ["'event_idd'", "event_id"],
        ),
        "missing labels": (_features_cfg(_file_data(two)), ["no labels"]),
        "single-class data": (
            _features_cfg(_file_data(_npz(tmp, "one.npz", np.zeros(30, int)), label_key="y")),
            ["single label value"],
        ),
        "float labels": (
            _features_cfg(
                _file_data(_npz(tmp, "float.npz", np.linspace(0.05, 0.95, 30)), label_key="y")
            ),
            ["continuous", "balanced_accuracy"],
        ),
        "single-class training fold": (
            _features_cfg(
                {
                    "source": "files",
                    "files": [
                        _npz(tmp, "sub-01_x.npz", np.zeros(20, int), n=20),
                        _npz(tmp, "sub-02_x.npz", np.ones(20, int), n=20, seed=1),
                    ],
                    "params": {"axis_order": "epochs_features", "key": "X", "label_key": "y"},
                },
                protocol="leave-one-subject-out",
                protocol_params={},
            ),
            ["one class"],
        ),
        "group_by missing column": (
            _base(
                evaluation={
                    "protocol": "grouped-kfold",
                    "protocol_params": {"group_by": "patient", "n_splits": 2},
                    "n_permutations": 0,
                    "n_boot": 0,
                }
            ),
            ["'patient'", "subject"],
        ),
        "seed -1": (_base(seed=-1), ["'seed'", "-1"]),
        "n_jobs 0": (
            _base(evaluation={"n_jobs": 0, "n_permutations": 0, "n_boot": 0}),
            ["n_jobs", "0"],
        ),
        "no file matches": (
            _features_cfg({"source": "files", "files": [str(tmp / "nothing_*.edf")]}),
            ["no file matches"],
        ),
        "unknown task": (_base(task="decodng"), ["unknown task", "decoding"]),
        "unknown model": (_base(model={"name": "ldaa"}), ["Unknown model 'ldaa'", "lda"]),
        "unknown model parameter": (
            _base(model={"name": "lda", "params": {"shrinkag": "auto"}}),
            ["'shrinkag'", "shrinkage"],
        ),
        "unknown network parameter": (
            _base(model={"name": "shallow", "params": {"n_filter_time": 8}}),
            ["'n_filter_time'", "Did you mean 'n_filters_time'"],
        ),
        "latents held-out fraction leaving no held-in neuron": (
            {
                "name": "broken",
                "task": "latents",
                "data": {
                    "source": "simulate",
                    "simulator": "latent_population",
                    "params": {"n_neurons": 10, "n_trials": 12, "n_bins": 12},
                },
                "options": {"heldout_fraction": 0.95, "forward_bins": 2, "forecast": None},
            },
            ["options.heldout_fraction 0.95", "all 10 neurons", "at most 0.9"],
        ),
    }


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


NAMES = [
    "duplicate key",
    "yaml syntax",
    "empty file",
    "unknown top-level key",
    "unknown simulator",
    "unknown simulator parameter",
    "wrong type",
    "unknown reader parameter",
    "unknown sampler",
    "sampler parameter",
    "missing labels",
    "single-class data",
    "float labels",
    "single-class training fold",
    "group_by missing column",
    "seed -1",
    "n_jobs 0",
    "no file matches",
    "unknown task",
    "unknown model",
    "unknown model parameter",
    "unknown network parameter",
    "latents held-out fraction leaving no held-in neuron",
]


@pytest.mark.parametrize("mode", ["check", "run"])
@pytest.mark.parametrize("case", NAMES)
def test_broken_config_ends_in_one_clear_line(tmp_path, case, mode):
    cfg, words = _cases(tmp_path)[case]
    path = tmp_path / "config.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    extra = ["--check"] if mode == "check" else ["--out", str(tmp_path / "out")]
    code, out, err = _cli(["-q", "run", str(path), *extra])
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("neurodl: error: "), err
    errors = [line for line in lines if line.startswith("neurodl: error")]
    assert len(errors) == 1, err
    for word in words:
        assert word in errors[0], (word, errors[0])
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path, monkeypatch):
    import neurodl.cli.run as cli_run

    def boom(args):
        raise RuntimeError("something broke inside")

    monkeypatch.setattr(cli_run, "_run", boom)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_base()))
    parser_args = ["-q", "run", str(path), "--check"]
    # the parser bound the old function: rebuild through main, which builds a fresh parser
    code, _, err = _cli(parser_args)
    assert code == 1
    assert "Traceback" not in err
    assert "RuntimeError" in err and "something broke inside" in err and "--debug" in err
    code, _, err = _cli(["--debug", *parser_args])
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("neurodl: error: RuntimeError")
