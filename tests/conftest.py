"""Shared test fixtures.

Real-data tests use the ``shared_data`` fixture: with ``NEURODL_DATA`` set (as in CI), a missing
file is a failure; without it, the test is skipped with a clear reason.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


def _data_root() -> Path | None:
    root = os.environ.get("NEURODL_DATA")
    # absolute, so that links made in temporary folders resolve (the README writes a relative
    # root, ../shared/data)
    return Path(root).resolve() if root else None


@pytest.fixture
def shared_data():
    """Return a function ``get(relpath) -> Path`` under the real-data root."""
    root = _data_root()
    if root is None:
        pytest.skip("real data not available: set NEURODL_DATA (e.g. NEURODL_DATA=../shared/data)")

    def get(relpath: str) -> Path:
        path = root / relpath
        if not path.exists():
            pytest.fail(f"NEURODL_DATA={root} is set but {relpath} is missing under it")
        return path

    return get


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------- headless Chromium helpers
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

_BROKEN_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"  # truncated PNG
_PROBE = """
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
""".replace("__BROKEN__", _BROKEN_PNG)


def run_chromium(
    *args: str, user_data_dir: Path, timeout: float = 90
) -> subprocess.CompletedProcess:
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


def chromium_image_probe(report: Path, tmp_path: Path) -> list[dict]:
    """Load a copy of ``report`` in Chromium; return each image's decoded size.

    A deliberately broken image (id ``negative-control``) is appended, so callers can check that
    the probe does detect images that fail to decode.
    """
    page = report.read_text(encoding="utf-8")
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    proc = run_chromium("--dump-dom", probe_page.as_uri(), user_data_dir=tmp_path / "profile")
    match = re.search(r'<pre id="image-probe">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert match, f"probe missing from Chromium's DOM (rc={proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html_lib.unescape(match.group(1)))
