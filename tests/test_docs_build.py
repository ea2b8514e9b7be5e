"""The documentation site builds offline with warnings as errors, and its pages show content.

Runs ``docs/build.sh fast`` (the fast gallery: only ``docs/tutorials/plot_fast_*.py`` run) into
a temporary folder, then checks the landing page, an executed tutorial with its figure, an API
page, the generated config reference and the benchmark pages. Where headless Chromium exists,
it renders the landing page, the tutorial and the API page offline: every image decodes and the
screenshots are not blank.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CHROMIUM, run_chromium

pytest.importorskip("sphinx")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("pydata_sphinx_theme")
pytest.importorskip("numpydoc")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = "auto_tutorials/plot_fast_decode_simulated_eeg.html"
API_PAGE = "generated/api/neurodl.analyses.decoding.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        ["bash", str(REPO / "docs" / "build.sh"), "fast", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, f"docs build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return out / "html"


def test_landing_page_links_every_part(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    for target in (
        "getting_started.html",
        "user_guide/index.html",
        "auto_tutorials/index.html",
        "generated/config/index.html",
        "generated/api/index.html",
        "generated/benchmarks/index.html",
    ):
        assert f'href="{target}' in page, target


def test_fast_tutorial_ran_and_shows_its_figures(site):
    page = (site / TUTORIAL).read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="([^"]*sphx_glr_plot_fast_decode[^"]*\.png)"', page)
    assert len(images) >= 2, "the executed tutorial shows no figure"
    from PIL import Image

    for src in images:
        img = Image.open(site / Path(TUTORIAL).parent / src)
        assert img.width > 200 and img.height > 150
        assert np.asarray(img.convert("L"), dtype=float).std() > 10  # not a blank canvas
    # the printed output of the run is on the page (scores of both models)
    assert "sphx-glr-script-out" in page and "lda:" in page and "mlp:" in page


def test_api_page_documents_the_public_names(site):
    page = (site / API_PAGE).read_text(encoding="utf-8")
    for name in ("decode", "DecodingResult", "pairwise_scores", "saliency"):
        assert f'id="neurodl.analyses.decoding.{name}"' in page, name
    # numpydoc rendered the sections with shapes
    assert "Parameters" in page and "of shape" in page


def test_config_reference_is_generated_from_the_registry(site):
    from neurodl.workflows import TASKS

    index = (site / "generated/config/index.html").read_text(encoding="utf-8")
    for name, spec in TASKS.items():
        assert f"task_{name}.html" in index, name
        task_page = (site / f"generated/config/task_{name}.html").read_text(encoding="utf-8")
        for field in list(spec.options.model_fields)[:3]:
            assert (
                f'<code class="docutils literal notranslate"><span class="pre">{field}</span>'
                in task_page
            ), (name, field)
    assert "protocol_params" in index and "unlabelled_test_data" in index


def test_benchmark_tables_are_rendered(site):
    results = sorted((REPO / "benchmarks" / "results").glob("*.md"))
    assert results
    for md in results:
        page = site / "generated" / "benchmarks" / f"{md.stem}.html"
        assert page.exists(), md.name
        if "\n|---" in md.read_text(encoding="utf-8") or "\n| ---" in md.read_text(
            encoding="utf-8"
        ):
            assert "<table" in page.read_text(encoding="utf-8"), md.name


# ---------------------------------------------------------------- headless Chromium
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (no 'chromium' or 'chromium-browser' on PATH); "
    "install it with: apt-get install -y chromium",
)

_PROBE = """<script>
window.addEventListener("load", function () {
  var out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify(Array.prototype.map.call(document.images, function (img) {
    return {src: img.getAttribute("src"), w: img.naturalWidth, h: img.naturalHeight};
  }));
  document.body.appendChild(out);
});
</script>"""


def _decoded_images(page: Path, tmp_path: Path) -> list[dict]:
    """Each image of ``page`` with its decoded size, as Chromium loaded it (offline)."""
    probe = page.with_name(f"_probe_{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"))
    proc = run_chromium("--dump-dom", probe.as_uri(), user_data_dir=tmp_path / "profile")
    # the theme's script adds attributes (tabindex) to every <pre>
    match = re.search(r'<pre id="image-probe"[^>]*>(.*?)</pre>', proc.stdout, re.DOTALL)
    assert match, f"no probe in Chromium's DOM (rc={proc.returncode}): {proc.stderr[-2000:]}"
    import html

    return json.loads(html.unescape(match.group(1)))


def _screenshot(page: Path, tmp_path: Path) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / f"{page.stem}.png"
    proc = run_chromium(
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        page.as_uri(),
        user_data_dir=tmp_path / "profile",
    )
    assert shot.exists(), f"no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    return np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"), dtype=float)


@needs_chromium
@pytest.mark.parametrize("page", ["index.html", TUTORIAL, API_PAGE])
def test_pages_render_with_content_in_chromium(site, page, tmp_path):
    img = _screenshot(site / page, tmp_path)
    assert img.shape[:2] == (1600, 1280)
    gray = img.mean(axis=2)
    assert gray.std() > 20  # a blank page has none
    assert (gray < 128).mean() > 0.01  # text covers part of the page


@needs_chromium
def test_tutorial_figures_decode_in_chromium(site, tmp_path):
    images = _decoded_images(site / TUTORIAL, tmp_path)
    figures = [i for i in images if "sphx_glr_plot_fast_decode" in (i["src"] or "")]
    assert len(figures) >= 2
    for fig in figures:
        assert fig["w"] > 200 and fig["h"] > 150, fig
    # the tutorial's figures are on screen: colour (the matplotlib lines and bars) in the shot
    img = _screenshot(site / TUTORIAL, tmp_path)
    saturation = img.max(axis=2) - img.min(axis=2)
    assert (saturation > 60).mean() > 0.002
