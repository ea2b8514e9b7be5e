"""Render a saved report in headless Chromium, offline: every embedded image decodes, page not blank.

The test injects a small script into a *copy* of the report (the library's page runs no script)
that records, once the page has loaded, each image's ``naturalWidth``/``naturalHeight`` into the
DOM; ``--dump-dom`` returns that DOM. A deliberately broken image is added as a negative control,
so the check is shown to detect images that do not decode.
"""

from __future__ import annotations

import html as html_lib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurodl.report import (
    Report,
    check_report_offline,
    plot_confusion_matrix,
    plot_fold_scores,
    plot_null_distribution,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (no 'chromium' or 'chromium-browser' on PATH); "
    "install it with: apt-get install -y chromium",
)

BROKEN_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"  # truncated PNG

PROBE = """
<img id="negative-control" alt="broken on purpose" src="__BROKEN__">
<script>
window.addEventListener("load", function () {
  var out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify(Array.prototype.map.call(document.images, function (img) {
    return {id: img.id, complete: img.complete, w: img.naturalWidth, h: img.naturalHeight};
  }));
  document.body.appendChild(out);
});
</script>
""".replace("__BROKEN__", BROKEN_PNG)


def _chromium(*args: str, user_data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run headless Chromium cut off from the network (any host lookup fails)."""
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={user_data_dir}",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


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
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _chromium("--dump-dom", probe_page.as_uri(), user_data_dir=tmp_path / "profile")
    match = re.search(r'<pre id="image-probe">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert match, f"probe missing from Chromium's DOM (rc={proc.returncode}): {proc.stderr[-2000:]}"
    images = json.loads(html_lib.unescape(match.group(1)))
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
    proc = _chromium(
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
