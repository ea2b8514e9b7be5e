"""`neurodl init --data PATH` then `neurodl run` on the config exactly as init wrote it (issue 13,
done-when): EEGMMIDB imagery runs, the Haxby image with a labels CSV, an NWB file with a network.
Runtime is kept small with init's own options (--n-permutations, --max-epochs), never by editing
the config. The Haxby and demo reports are rendered by headless Chromium: the screenshots must
not be blank, and the HTML must hold the paired comparison and folds named by what they test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import CHROMIUM, run_chromium
from neurodl.cli.main import main


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _data(sub: str) -> Path:
    root = os.environ.get("NEURODL_DATA")
    if not root or not Path(root, sub).exists():
        pytest.skip(f"NEURODL_DATA with {sub} not available")
    return Path(root, sub)


def _init_then_run(tmp_path: Path, *init_args: str) -> tuple[dict, dict, Path]:
    """Write a config with init and run it unedited; return (config, results, output folder)."""
    cfg = tmp_path / "config.yaml"
    code, _, err = _cli(["init", *init_args, "--out", str(cfg)])
    assert code == 0, err
    before = cfg.read_text()
    out = tmp_path / "out"
    code, _, err = _cli(["-q", "run", str(cfg), "--out", str(out)])
    assert code == 0, err
    assert cfg.read_text() == before  # run as written
    return yaml.safe_load(before), json.loads((out / "results.json").read_text()), out


def _screenshot(page: Path, tmp_path: Path) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / f"{page.parent.name}_{page.stem}.png"
    proc = run_chromium(
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        page.as_uri(),
        user_data_dir=tmp_path / "profile",
    )
    assert shot.exists(), f"no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    return np.asarray(Image.open(shot).convert("RGB"), dtype=float)


def _assert_not_blank(img: np.ndarray) -> None:
    assert img.shape[:2] == (2400, 1280)
    gray = img.mean(axis=2)
    assert gray.std() > 20  # a blank page has none
    # content below the header too: the figures' area is not one flat colour
    assert gray[800:2400].std() > 20


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found; apt-get install chromium"
)


@pytest.mark.realdata
@pytest.mark.slow
def test_init_eegmmidb_imagery_runs_unedited(tmp_path):
    folder = _data("eeg/eegmmidb_S001")
    runs = [str(folder / f"S001R{r:02d}.edf") for r in (4, 8, 12)]  # imagined left/right fist
    cfg, res, out = _init_then_run(tmp_path, "--data", *runs, "--n-permutations", "19")
    assert cfg["data"]["to_samples"]["epochs"]["event_id"] == {"T1": 0, "T2": 1}
    assert res["n_samples"] == 45 and res["n_splits"] == 3
    scores = {k: m["score_mean"] for k, m in res["models"].items()}
    # the covariance model near its CSP baseline, both well above chance (0.5)
    assert scores["tangent_space_lr"] > 0.65 and scores["csp_lda"] > 0.55
    assert abs(scores["tangent_space_lr"] - scores["csp_lda"]) < 0.25
    assert res["models"]["tangent_space_lr"]["p_value"] < 0.1
    assert res["fold_labels"] == ["run 04", "run 08", "run 12"]  # leave-one-run-out
    html = (out / "report.html").read_text()
    assert "<td>run 08</td>" in html  # the error table names each sample's held-out run
    assert "Model comparison" in html and res["comparison"]["model_b"] == "csp_lda"


@pytest.fixture(scope="module")
def haxby_run(tmp_path_factory):
    folder = _data("fmri/haxby2001_pymvpa")
    tmp = tmp_path_factory.mktemp("haxby")
    table = pd.read_csv(
        folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"]
    )
    labels = tmp / "labels.csv"  # the CSV a user would have next to the image
    table.to_csv(labels, index=False)
    args = ["--data", str(folder / "bold.nii.gz"), "--labels", str(labels)]
    return _init_then_run(tmp, *args, "--classes", "face,house", "--n-permutations", "19")


@pytest.mark.realdata
@pytest.mark.slow
def test_init_haxby_face_vs_house_runs_unedited(haxby_run):
    cfg, res, out = haxby_run
    assert cfg["data"]["to_samples"]["fmri_samples"]["labels"] == ["face", "house"]
    assert res["score_mean"] >= 0.95  # per-run detrend + z-score, leave-one-run-out
    assert res["p_value"] == pytest.approx(1 / 20)  # the floor with 19 permutations
    assert res["fold_labels"] == [f"run {r}" for r in range(12)]
    steps = [s["step"] for s in res["preprocessing_steps"]]
    assert steps == ["fMRI samples (volumes)", "detrend", "standardise (z-score)"]
    html = (out / "report.html").read_text()
    assert "p = 1/(19+1): the smallest possible with 19 permutations" in html
    assert "19 permutations cannot give p &lt; 0.05" in html  # not "chance level"
    assert "<td>detrend</td>" in html and "<td>standardise (z-score)</td>" in html


@pytest.mark.realdata
def test_init_without_classes_says_how_to_pick_a_pair(tmp_path):
    folder = _data("fmri/haxby2001_pymvpa")
    table = pd.read_csv(
        folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"]
    )
    table.to_csv(tmp_path / "labels.csv", index=False)
    cfg = tmp_path / "c.yaml"
    args = ["--data", str(folder / "bold.nii.gz"), "--labels", str(tmp_path / "labels.csv")]
    code, _, err = _cli(["init", *args, "--out", str(cfg)])
    assert code == 0, err
    text = cfg.read_text()
    assert "Decoding all 8 labels; for one pair" in text and "--classes A,B" in text


@needs_chromium
@pytest.mark.realdata
@pytest.mark.slow
def test_haxby_report_screenshot_is_not_blank(haxby_run, tmp_path):
    _, _, out = haxby_run
    _assert_not_blank(_screenshot(out / "report.html", tmp_path))
    html = (out / "report.html").read_text()
    assert "balanced accuracy" in html and "Per-split scores" in html
    # the decoder's weights as a brain map: in the report and as a NIfTI beside it
    assert "Brain maps" in html and "Decoder weights on anatomy" in html
    assert (out / "decoder_weights.nii.gz").exists()


@pytest.mark.realdata
@pytest.mark.slow
def test_init_nwb_runs_with_a_network(tmp_path):
    nwb = _data("spikes/pynapple_nwb") / "sub-4_ses-4_ecephys+image.nwb"
    cfg, res, out = _init_then_run(
        tmp_path,
        "--data",
        str(nwb),
        "--model",
        "gru",
        "--max-epochs",
        "3",
        "--n-permutations",
        "0",
    )
    assert cfg["task"] == "spike_trial_decoding"
    assert cfg["model"] == {"name": "gru", "params": {"max_epochs": 3}}
    assert cfg["options"]["bin_size"] > 0  # the network reads each unit's counts over time
    assert res["model"] == "gru" and res["n_trials"] == 180
    assert 0.0 <= res["score_mean"] <= 1.0 and (out / "report.html").exists()


@pytest.mark.realdata
def test_init_eeg_network_standardises_its_inputs(tmp_path):
    edf = _data("eeg/eegmmidb_S001") / "S001R04.edf"
    cfg = tmp_path / "c.yaml"
    code, _, err = _cli(["init", "--data", str(edf), "--model", "eegnet", "--out", str(cfg)])
    assert code == 0, err
    c = yaml.safe_load(cfg.read_text())
    assert c["model"] == {"name": "eegnet"}
    assert c["preprocessing"] == [
        {"bandpass": {"l_freq": 7.0, "h_freq": 30.0}},
        {"standardize": {}},
    ]
    assert c["options"]["baseline"] == {"name": "csp_lda"}  # compared with the classical pipeline
    code, out, err = _cli(["-q", "run", str(cfg), "--check"])
    assert code == 0 and "config OK" in out, err


def test_init_refuses_an_unknown_model(tmp_path):
    code, _, err = _cli(
        [
            "init",
            "--data",
            str(tmp_path / "x.edf"),
            "--model",
            "shalow",
            "--out",
            str(tmp_path / "c"),
        ]
    )
    assert code == 1 and "Did you mean 'shallow'" in err
    assert not (tmp_path / "c").exists()


@needs_chromium
@pytest.mark.slow
def test_demo_report_screenshot_has_the_comparison_and_named_folds(tmp_path):
    out = tmp_path / "demo"
    code, _, err = _cli(["-q", "demo", "--out", str(out), "--n-permutations", "9"])
    assert code == 0, err
    res = json.loads((out / "results.json").read_text())
    html = (out / "report.html").read_text()
    # the paired comparison of the network with its baseline
    comp = res["comparison"]
    assert "Model comparison" in html and f"{comp['model_a']} - {comp['model_b']}" in html
    # folds named by the session each one tests (cross-session), not "01", "01", ...
    assert res["fold_labels"] == [f"subject 0{s}, session {e}" for s in range(1, 5) for e in (1, 2)]
    assert "<th>test fold</th>" in html
    assert sum(f"<td>{lab}</td>" in html for lab in res["fold_labels"]) >= 4
    assert "<td>subject 01</td>" in html  # the per-block table (blocks: subjects)
    _assert_not_blank(_screenshot(out / "report.html", tmp_path))
