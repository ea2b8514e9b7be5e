"""Report: HTML content, escaping, embedded images, offline check, save (atomic, no overwrite)."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from neurodl.exceptions import DataFormatError, OutputExistsError
from neurodl.report import Report, check_report_offline

IMG_SRC = re.compile(r'<img[^>]*\bsrc="([^"]*)"')


def _figure(width=3.0, height=2.0):
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 1])
    return fig


def _decode(uri: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:([^;]+);base64,([A-Za-z0-9+/=]+)", uri)
    assert match, uri[:60]
    return match.group(1), base64.b64decode(match.group(2), validate=True)


def _png_bytes(width=20, height=10) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------


def test_sections_items_and_toc_in_order():
    rep = Report("My run", subtitle="EEG, 3 subjects")
    rep.add_section("Data", text="First paragraph.\n\nSecond paragraph.")
    rep.add_table({"a": [1, 2], "b": [0.123456, 3.0]}, title="Counts")
    rep.add_key_values({"seed": 0}, title="Settings", section="Provenance")
    rep.add_code("a: 1\n", title="Config", section="Provenance")
    html = rep.to_html()
    assert rep.sections == ["Data", "Provenance"]
    assert "<title>My run</title>" in html and "EEG, 3 subjects" in html
    assert "<p>First paragraph.</p>" in html and "<p>Second paragraph.</p>" in html
    # TOC links point at existing ids, in document order
    hrefs = re.findall(r'<a href="#([^"]+)"', html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert hrefs and all(h in ids for h in hrefs)
    assert hrefs.index("data") < hrefs.index("provenance")
    assert html.index('id="data"') < html.index('id="provenance"')
    # the table: header + formatted cells
    assert "<th>a</th><th>b</th>" in html
    assert "<td>1</td><td>0.1235</td>" in html
    assert html.index("Settings") < html.index("Config")


def test_section_none_appends_to_last_or_creates_one():
    rep = Report("r")
    rep.add_figure(_png_bytes(), title="First figure")  # no section yet: one named after it
    rep.add_section("Results")
    rep.add_figure(_png_bytes(), title="Second figure")
    rep.add_table([{"x": 1}], title="T", section="Extra")
    rep.add_code("y", title="C", section="Results")  # existing section: appended
    assert rep.sections == ["First figure", "Results", "Extra"]
    html = rep.to_html()
    results = html[html.index('id="results"') : html.index('id="extra"')]
    assert "Second figure" in results and ">C<" in results


def test_duplicate_section_titles_get_unique_anchors():
    rep = Report("r")
    rep.add_section("Results")
    rep.add_section("Results")
    rep.add_section("Summary")  # "summary" is reserved for the cards
    ids = re.findall(r'<section[^>]*id="([^"]+)"', rep.to_html())
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize(
    "method",
    [
        "title",
        "subtitle",
        "section",
        "text",
        "figure",
        "table",
        "kv_key",
        "kv_value",
        "code",
        "summary",
    ],
)
def test_user_strings_are_escaped(method):
    evil = '<script>alert("x")</script>'
    rep = Report(
        evil if method == "title" else "t", subtitle=evil if method == "subtitle" else None
    )
    if method == "section":
        rep.add_section(evil)
    elif method == "text":
        rep.add_section("s", text=evil)
    elif method == "figure":
        rep.add_figure(_png_bytes(), title=evil, caption=evil)
    elif method == "table":
        rep.add_table(pd.DataFrame({evil: [evil]}), title=evil)
    elif method == "kv_key":
        rep.add_key_values({evil: {"nested": 1}}, title="kv")
    elif method == "kv_value":
        rep.add_key_values({"a": {"b": evil}}, title="kv")
    elif method == "code":
        rep.add_code(evil, title="c", language=evil)
    elif method == "summary":
        rep.add_summary({evil: evil})
    html = rep.to_html()
    assert "<script>" not in html.lower()
    assert "&lt;script&gt;" in html


def test_trusted_html_is_inserted_as_is():
    rep = Report("t")
    rep.add_section("s", html="<p class='mine'><b>bold</b></p>")
    assert "<p class='mine'><b>bold</b></p>" in rep.to_html()


def test_trusted_html_with_external_resource_is_logged(caplog):
    rep = Report("t")
    with caplog.at_level("WARNING", logger="neurodl"):
        rep.add_section("s", html='<img src="https://example.org/x.png">')
    assert "example.org" in caplog.text


def test_summary_cards():
    rep = Report("t")
    rep.add_summary(
        {
            "balanced accuracy": {"value": 0.81234, "ci": (0.7411, 0.8799), "detail": "5 folds"},
            "chance": 0.5,
            "p-value": 0.000999,
            "CI": (0.1, 0.2),
            "model": "eegnet",
        }
    )
    html = rep.to_html()
    summary = html[html.index('id="summary"') :]
    values = re.findall(r'<div class="value">([^<]*)</div>', summary)
    assert values == ["0.812", "0.5", "0.000999", "[0.1, 0.2]", "eegnet"]
    assert "CI [0.741, 0.88] · 5 folds" in summary
    assert '<a href="#summary">Key result</a>' in html


def test_key_values_nested_and_numpy_values():
    rep = Report("t")
    rep.add_key_values(
        {
            "dataset": "bonn",
            "model": {"name": "eegnet", "lr": np.float32(1e-3), "layers": [8, 16]},
            "mask": np.array([True, False]),
            "big": np.zeros((100, 3)),
            "runs": [{"id": 1}, {"id": 2}],
            "path": Path("/a/b"),
            "none": None,
        },
        title="Provenance",
    )
    html = rep.to_html()
    kv = html[html.index("<dl") : html.rindex("</dl>")]
    # nested dict is a nested <dl> under its key
    assert re.search(r"<dt>model</dt>\s*<dd>\s*<dl", kv)
    for shown in (
        "eegnet",
        "0.001",
        "[8, 16]",
        "[True, False]",
        "array of shape (100, 3), dtype float64",
        "/a/b",
        "—",
    ):
        assert f'<span class="kv-value">{shown}</span>' in kv, shown
    assert kv.count("<dt>id</dt>") == 2


def test_code_block_verbatim_and_mapping_dumped_as_yaml():
    rep = Report("t")
    rep.add_code("model:\n  name: <eegnet>\n  lr: 0.001\n", title="Config")
    rep.add_code({"cv": {"n_splits": np.int64(5)}, "seeds": (0, 1)}, title="Dumped")
    html = rep.to_html()
    assert "model:\n  name: &lt;eegnet&gt;\n  lr: 0.001\n" in html
    assert "cv:\n  n_splits: 5\nseeds:\n- 0\n- 1\n" in html
    assert 'class="language-yaml"' in html


def test_table_from_records_dataframe_index_and_truncation():
    rep = Report("t")
    df = pd.DataFrame({"score": [0.5, 0.75]}, index=pd.Index(["s01", "s02"], name="subject"))
    rep.add_table(df, title="Indexed")
    rep.add_table([{"a": i} for i in range(30)], title="Long", max_rows=10)
    html = rep.to_html()
    assert "<th>subject</th><th>score</th>" in html
    assert "<td>s01</td><td>0.5</td>" in html
    long_table = html[html.index("<h3>Long</h3>") :]
    assert long_table.count("<tr>") == 11  # header + 10 rows
    assert "Showing 10 of 30 rows." in long_table


# --------------------------------------------------------------------------------------------
# figures embedded
# --------------------------------------------------------------------------------------------


def test_figures_embedded_as_valid_png_and_svg():
    rep = Report("t")
    rep.add_figure(_figure(3.0, 2.0), title="png", caption="cap", dpi=100)
    rep.add_figure(_figure(), title="svg", fmt="svg")
    rep.add_figure(_png_bytes(20, 10), title="bytes")
    html = rep.to_html()
    srcs = IMG_SRC.findall(html)
    assert len(srcs) == 3
    mime, data = _decode(srcs[0])
    assert mime == "image/png" and data.startswith(b"\x89PNG\r\n\x1a\n")
    img = np.asarray(Image.open(io.BytesIO(data)))
    assert img.shape[:2] == (200, 300)  # 2 x 3 inches at 100 dpi
    assert img.std() > 1  # not blank
    mime, data = _decode(srcs[1])
    assert mime == "image/svg+xml" and b"<svg" in data
    mime, data = _decode(srcs[2])
    assert mime == "image/png" and Image.open(io.BytesIO(data)).size == (20, 10)
    assert "Figure 1.</span> cap" in html


def test_png_has_no_run_dependent_metadata():
    rep1, rep2 = Report("a"), Report("b")
    rep1.add_figure(_figure(), title="f")
    rep2.add_figure(_figure(), title="f")
    assert IMG_SRC.findall(rep1.to_html()) == IMG_SRC.findall(rep2.to_html())


def test_add_figure_closes_pyplot_figures():
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.gca().plot([1, 2])
    assert plt.fignum_exists(fig.number)
    Report("t").add_figure(fig, title="f")
    assert not plt.fignum_exists(fig.number)


# --------------------------------------------------------------------------------------------
# offline check
# --------------------------------------------------------------------------------------------


def test_full_report_is_offline():
    rep = Report("t", subtitle="s")
    rep.add_summary({"score": 0.9})
    rep.add_section("s", text="x")
    rep.add_figure(_figure(), title="f")
    rep.add_table([{"a": 1}], title="tab")
    rep.add_key_values({"a": {"b": 1}}, title="kv")
    rep.add_code("x: 1", title="code")
    html = rep.to_html()
    assert check_report_offline(html, allow_links=False) == []
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "@import" not in html and "url(" not in html


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<img src="https://cdn.example.org/a.png">', "https://cdn.example.org/a.png"),
        ('<img src="figure.png">', "not embedded"),
        ("<img alt='x'>", "no src"),
        ('<script src="//cdn.example.org/x.js"></script>', "//cdn.example.org/x.js"),
        ('<link rel="stylesheet" href="style.css">', "style.css"),
        ('<link rel="stylesheet" href="http://x.org/s.css">', "http://x.org/s.css"),
        ("<style>@import url('https://fonts.x.org/f.css');</style>", "fonts.x.org"),
        ("<style>body { background: url(http://x.org/bg.png) }</style>", "x.org/bg.png"),
        ('<div style="background:url(https://x.org/a.png)"></div>', "x.org/a.png"),
        ('<img src="data:image/png;base64,AA" srcset="https://x.org/2x.png 2x">', "2x.png"),
        ('<iframe src="about:blank"></iframe>', "embeds"),
        ('<base href="https://x.org/">', "<base>"),
        ('<video poster="http://x.org/p.jpg"></video>', "p.jpg"),
    ],
)
def test_check_report_offline_flags_external_resources(snippet, expected):
    problems = check_report_offline(f"<html><body>{snippet}</body></html>")
    assert problems and any(expected in p for p in problems), problems


def test_check_report_offline_links():
    html = '<p>Cite <a href="https://doi.org/10.1/x">doi</a>; see <a href="#top">top</a>.</p>'
    assert check_report_offline(html) == []
    problems = check_report_offline(html, allow_links=False)
    assert len(problems) == 1 and "doi.org" in problems[0]
    ok = '<img src="data:image/png;base64,AAAA"><style>a{background:url(data:image/png;base64,AA)}</style>'
    assert check_report_offline(ok) == []


# --------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------


def test_save_writes_and_refuses_to_overwrite(tmp_path):
    rep = Report("first")
    path = rep.save(tmp_path / "sub" / "report.html")
    assert path == tmp_path / "sub" / "report.html"
    assert "<title>first</title>" in path.read_text(encoding="utf-8")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        Report("second").save(path)
    assert "<title>first</title>" in path.read_text(encoding="utf-8")
    Report("second").save(path, overwrite=True)
    assert "<title>second</title>" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temp left
    with pytest.raises(FileExistsError):  # OutputExistsError is also the built-in
        Report("x").save(path)


def test_save_refuses_a_folder(tmp_path):
    with pytest.raises(OutputExistsError, match="folder"):
        Report("x").save(tmp_path, overwrite=True)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    Report("old").save(path)
    calls = []

    def failing_replace(src, dst):
        calls.append((Path(src), Path(dst)))
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        Report("new").save(path, overwrite=True)
    # the temp file was in the same folder (same filesystem: os.replace is atomic) ...
    assert calls and calls[0][0].parent == tmp_path and calls[0][1] == path
    # ... the old file is intact and the temp file is gone
    assert "<title>old</title>" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r: Report(3), TypeError, "'title' must be a str"),
        (lambda r: r.add_section("s", text=5), TypeError, "'text' must be a str"),
        (lambda r: r.add_figure(b"GIF89a....", title="f"), DataFormatError, "PNG signature"),
        (lambda r: r.add_figure("fig.png", title="f"), TypeError, "matplotlib Figure or PNG"),
        (
            lambda r: r.add_figure(_figure(), title="f", fmt="jpg"),
            ValueError,
            "Allowed: 'png', 'svg'; got 'jpg'",
        ),
        (lambda r: r.add_figure(_png_bytes(), title=None), TypeError, "'title' must be a str"),
        (lambda r: r.add_figure(_figure(), title="f", dpi=0), ValueError, "'dpi' must be"),
        (lambda r: r.add_table(42, title="t"), TypeError, "got int"),
        (lambda r: r.add_table([1, 2], title="t"), TypeError, "mappings"),
        (lambda r: r.add_table([{"a": 1}], title="t", max_rows=0), ValueError, "'max_rows'"),
        (lambda r: r.add_key_values([1], title="t"), TypeError, "'mapping' must be a mapping"),
        (lambda r: r.add_code(3, title="t"), TypeError, "'text' must be a str"),
        (lambda r: r.add_summary([0.5]), TypeError, "'metrics' must be a mapping"),
        (lambda r: r.add_summary({"a": {"val": 1}}), ValueError, "keys 'value'"),
        (lambda r: r.add_table([{"a": 1}], title="t", section=3), TypeError, "'section'"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(Report("r"))
