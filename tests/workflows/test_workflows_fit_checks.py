"""Failed fits caught and shown (issue 13, item 7).

A network on input in volts with a learning rate too small to move it predicts one class and
its training loss stays flat. The run must say so once (not once per fold) in the CLI, put it
in ``results.json["warnings"]`` and at the top of the report, mark its saliency map as not
meaningful, and emit :class:`FailedFitWarning` for Python users. A healthy run has none.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import yaml

from neurodl.cli.main import main
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.fit_checks import FailedFitWarning, failed_fit_warnings, message_key

DATA = {
    "source": "simulate",
    "simulator": "motor_imagery",
    "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 40, "n_channels": 4, "sfreq": 64.0},
}
EVALUATION = {
    "protocol": "within-session",
    "protocol_params": {"n_splits": 4},
    "n_permutations": 0,
    "n_boot": 0,
}
COLLAPSED = {
    "name": "collapse",
    "data": DATA,
    "model": {
        "name": "linear",
        "params": {
            "max_epochs": 4,
            "lr": 1e-6,
            "batch_size": 20,
            "validation_fraction": 0.0,
            "num_threads": 1,
        },
    },
    "options": {"saliency_checks": False},
    "evaluation": EVALUATION,
}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"confusion_matrix": [[23, 0], [22, 0]]}, ["predicted one class"]),
        ({"confusion_matrix": [[20, 3], [5, 17]]}, []),
        ({"confusion_matrix": [[0, 0], [0, 9]]}, []),  # one true class: nothing to compare
        (
            {"learning_curves": [{"train_loss": [0.69, 0.69, 0.69, 0.69]}] * 3},
            ["did not fall in 3 of 3 fits"],
        ),
        ({"learning_curves": [{"train_loss": [0.69, 0.5, 0.3, 0.2]}] * 3}, []),
    ],
)
def test_failed_fit_warnings_table(result, expected):
    found = failed_fit_warnings(result)
    assert len(found) == len(expected)
    for text, word in zip(found, expected):
        assert word in text


def test_message_key_merges_the_same_warning_from_every_fold():
    a = "input has a median per-channel SD of 4.79e-06 (signals in volts?)"
    b = "input has a median per-channel SD of 4.73e-06 (signals in volts?)"
    assert message_key(a) == message_key(b)


def test_collapsed_network_flagged_in_results_and_report(tmp_path):
    run = run_config(parse_config(COLLAPSED), tmp_path / "out")
    res = run.result
    assert [w for w in res.warnings if "predicted one class" in w]
    assert [w for w in res.warnings if "did not fall" in w]
    assert sum("signals in volts" in w for w in res.warnings) == 1  # once, not per fold
    assert res.saliency is not None and res.saliency.sanity_verdict == "fail"
    assert res.saliency.description.startswith("Not meaningful")
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["warnings"] == res.warnings
    page = (tmp_path / "out" / "report.html").read_text()
    flag = page.index('id="failed-fit-flag"')
    assert flag < page.index("<main")  # at the top, before every section
    assert "predicted one class" in page[flag : page.index("</div>", flag)]


def test_cli_shows_each_failed_fit_warning_once(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(COLLAPSED))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-q", "run", str(path), "--out", str(tmp_path / "out")])
    text = out.getvalue() + err.getvalue()
    assert code == 0, text
    assert text.count("signals in volts") == 1
    assert text.count("predicted one class for every test sample") == 1
    assert text.count("did not fall") == 1
    assert "FailedFitWarning" not in text


def test_healthy_run_has_no_warnings(tmp_path, recwarn):
    cfg = parse_config(
        {
            "data": {**DATA, "params": {**DATA["params"], "effect_size": 0.6}},
            "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}}],
            "model": {"name": "lda"},
            "evaluation": EVALUATION,
        }
    )
    res = run_config(cfg, tmp_path / "out").result
    assert res.warnings == []
    assert not [w for w in recwarn if issubclass(w.category, FailedFitWarning)]
    assert 'id="failed-fit-flag"' not in (tmp_path / "out" / "report.html").read_text()


def test_python_users_without_a_log_handler_get_warnings_warn(tmp_path):
    """A plain Python session (no logging set up) sees each problem once as a warning."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from neurodl.workflows import parse_config, run_config\n"
        "res = run_config(parse_config(json.loads(sys.argv[1]))).result\n"
        "print(len(res.warnings))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(COLLAPSED)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONWARNINGS": "default"},
    )
    assert proc.returncode == 0, proc.stderr
    n = int(proc.stdout.strip().splitlines()[-1])
    assert n == 3
    assert proc.stderr.count("FailedFitWarning") == n
    assert proc.stderr.count("signals in volts") == 1
