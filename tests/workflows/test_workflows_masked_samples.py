"""The ``masked_samples`` sampler in a config: a labels atlas, per-run cleaning, decoding."""

from __future__ import annotations

import contextlib
import io
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config

SHAPE = (6, 6, 6)
N_PER_RUN = 40
#: Blocks of 2 volumes: rest, face, rest, house, ... (5 face and 5 house blocks per run).
BLOCKS = np.repeat(np.tile(["rest", "face", "rest", "house"], 5), 2)


def _write_inputs(folder, *, effect=3.0, atlas_shape=SHAPE):
    """A 2-run BOLD image whose region 2 answers faces, its events and a 3-region atlas."""
    rng = np.random.default_rng(0)
    atlas = np.zeros(SHAPE, dtype=np.int16)
    atlas[:2], atlas[2:4], atlas[4:] = 1, 2, 3
    labels = np.concatenate([BLOCKS, BLOCKS])
    data = 100.0 + rng.normal(size=(*SHAPE, 2 * N_PER_RUN))
    data += np.linspace(0, 5, 2 * N_PER_RUN)  # a drift the per-run detrend removes
    data[atlas == 2] += effect * (labels == "face")
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    nib.save(img, folder / "sub-01_bold.nii.gz")
    pd.DataFrame({"label": labels, "run": np.repeat([1, 2], N_PER_RUN)}).to_csv(
        folder / "events.tsv", sep="\t", index=False
    )
    grid = np.zeros(atlas_shape, dtype=np.int16)
    grid[...] = atlas[tuple(slice(0, n) for n in atlas_shape)]
    nib.save(nib.Nifti1Image(grid, affine), folder / "atlas.nii.gz")


def _config(**sampler):
    params = {"events": "events.tsv", "mask": "atlas.nii.gz", "masker": "labels",
              "clean": {"detrend": True, "standardize": True}, **sampler}  # fmt: skip
    return {
        "data": {
            "source": "files",
            "files": ["sub-01_bold.nii.gz"],
            "to_samples": {"masked_samples": params},
        },
        "model": {"name": "lda"},
        "evaluation": {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 0},
    }


def _cli(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("block_average", [False, True])
def test_labels_atlas_decodes_the_planted_region(tmp_path, monkeypatch, block_average):
    _write_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)  # relative paths resolve from the working folder
    run_config(parse_config(_config(block_average=block_average)), tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["score_mean"] > 0.8  # chance 0.5
    assert (tmp_path / "out" / "report.html").is_file()
    steps = [s["step"] for s in saved["provenance"]["cleaning_steps"]]
    assert steps == ["detrend", "standardize"]
    assert all(s["per"] == "run" for s in saved["provenance"]["cleaning_steps"])
    assert [s["step"] for s in saved["preprocessing_steps"]] == [
        "fMRI samples (nilearn masker: labels)",
        "detrend",
        "standardise (z-score)",
    ]
    # the region map of the weights: the planted region (2) carries the largest weight
    weights = nib.load(str(tmp_path / "out" / "decoder_weights.nii.gz")).get_fdata()
    atlas = nib.load(str(tmp_path / "atlas.nii.gz")).get_fdata()
    per_region = [abs(float(np.unique(weights[atlas == r])[0])) for r in (1, 2, 3)]
    assert int(np.argmax(per_region)) == 1, per_region


def test_without_the_effect_the_score_stays_near_chance(tmp_path, monkeypatch):
    _write_inputs(tmp_path, effect=0.0)
    monkeypatch.chdir(tmp_path)
    run_config(parse_config(_config()), tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["score_mean"] < 0.75


def test_bad_masker_option_is_refused_when_the_config_is_parsed(tmp_path, monkeypatch):
    _write_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"'masker'.*'voxels' or 'labels'.*got 'atlas'"):
        parse_config(_config(masker="atlas"))
    with pytest.raises(ConfigError, match="Did you mean 'block_average'"):
        parse_config(_config(block_averages=True))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"masker": "atlas"}, ["'masker'", "'atlas'"]),
        ({"mask": "missing.nii.gz"}, ["no such file", "missing.nii.gz"]),
        ({"clean": {"detrnd": True}}, ["'detrnd'", "Did you mean 'detrend'"]),
        ("other grid", ["atlas.nii.gz", "another grid"]),
    ],
)
def test_check_gives_one_clear_line(tmp_path, monkeypatch, change, words):
    grid = (6, 6, 5) if change == "other grid" else SHAPE
    _write_inputs(tmp_path, atlas_shape=grid)
    monkeypatch.chdir(tmp_path)
    cfg = _config(**(change if isinstance(change, dict) else {}))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, out, err = _cli(["-q", "run", str(path), "--check"])
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("neurodl: error")]
    assert len(errors) == 1, err
    for word in words:
        assert word in errors[0], (word, errors[0])
