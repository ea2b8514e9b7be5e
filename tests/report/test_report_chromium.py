"""Render a saved report in headless Chromium, offline: every embedded image decodes, page not blank.

The test injects a small script into a *copy* of the report (the library's page runs no script)
that records, once the page has loaded, each image's ``naturalWidth``/``naturalHeight`` into the
DOM; ``--dump-dom`` returns that DOM. A deliberately broken image is added as a negative control,
so the check is shown to detect images that do not decode.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import CHROMIUM, chromium_image_probe, run_chromium
from neurodl.report import (
    Report,
    check_report_offline,
    plot_confusion_matrix,
    plot_fold_scores,
    plot_null_distribution,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (no 'chromium' or 'chromium-browser' on PATH); "
    "install it with: apt-get install -y chromium",
)


@pytest.fixture(scope="module")
def saved_report(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    rep = Report("Decoding <b>report</b>", subtitle="rendering check")
    rep.add_summary(
        {"balanced accuracy": {"value": 0.78, "ci": (0.7, 0.85)}, "chance": 0.5, "p-value": 0.002}
    )
    rep.add_section("Results", text="Per-fold scores, confusion matrix and permutation null.")
    rep.add_figure(
        plot_fold_scores(
            [0.7, 0.8, 0.75, 0.85, 0.8],
            metric="balanced accuracy",
            chance_level=0.5,
            ci=(0.72, 0.84),
        ),
        title="Fold scores",
    )
    rep.add_figure(
        plot_confusion_matrix(np.array([[40, 10], [12, 38]]), ["rest", "task"]),
        title="Confusion matrix",
        dpi=80,
    )
    rep.add_figure(
        plot_null_distribution(
            rng.normal(0.5, 0.04, 300), 0.78, p_value=0.002, metric="balanced accuracy"
        ),
        title="Null",
        fmt="svg",
    )
    rep.add_key_values({"dataset": "synthetic", "seed": 0}, title="Provenance")
    path = rep.save(tmp_path_factory.mktemp("report") / "report.html")
    assert check_report_offline(path.read_text(encoding="utf-8"), allow_links=False) == []
    return path


def test_all_images_decode_in_chromium(saved_report, tmp_path):
    page = saved_report.read_text(encoding="utf-8")
    n_images = page.count("<img ")
    assert n_images == 3
    images = chromium_image_probe(saved_report, tmp_path)
    report_images = [img for img in images if img["id"] != "negative-control"]
    control = [img for img in images if img["id"] == "negative-control"]
    assert len(report_images) == n_images
    for img in report_images:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
    # the confusion matrix PNG decodes at its real size (figure inches x dpi)
    sizes = {(img["w"], img["h"]) for img in report_images}
    assert len(sizes) == 3
    # negative control: a truncated PNG does not decode, so the check above can fail
    assert control and control[0]["w"] == 0


def test_screenshot_is_not_blank(saved_report, tmp_path):
    shot = tmp_path / "shot.png"
    proc = run_chromium(
        f"--screenshot={shot}",
        "--window-size=1200,1400",
        saved_report.as_uri(),
        user_data_dir=tmp_path / "profile",
    )
    assert shot.exists(), f"no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    img = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"), dtype=float)
    assert img.shape[:2] == (1400, 1200)
    gray = img.mean(axis=2)
    assert gray.std() > 20  # a blank page has variance 0
    assert (gray < 200).mean() > 0.02  # text, header and figures cover part of the page
    # the inline CSS applied: the header band is the dark blue gradient
    r, _, b = img[10, 10]
    assert b > r + 40 and b > 80
    # the embedded figures are painted: the fold-score bars use the accent blue #0072B2 blended
    # at 35% on white, i.e. about (166, 204, 228); many such pixels must be on screen
    bar_blue = (np.abs(img - np.array([166, 204, 228])).max(axis=2) < 12).sum()
    assert bar_blue > 2000
