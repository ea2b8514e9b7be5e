"""The :class:`Report`: one self-contained, offline-readable HTML file per run.

Everything is embedded: figures as ``data:`` URIs, CSS inline, no scripts, fonts or links to the
network. User strings are escaped by the Jinja2 template (autoescape on); only ``html=`` given to
:meth:`Report.add_section` is inserted as is.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import DataFormatError, OutputExistsError

__all__ = ["Report", "check_report_offline"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Figure formats: MIME type of the embedded data: URI.
_FIGURE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


# --------------------------------------------------------------------------------------------
# Value formatting (numbers read well, everything else becomes an escaped string)
# --------------------------------------------------------------------------------------------


def _format_number(value: float, digits: int = 4) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}g}"


def _format_scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return _format_number(value)
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return "[" + ", ".join(_format_scalar(v) for v in value.ravel().tolist()) + "]"
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _kv_tree(value: Any, depth: int = 0) -> Any:
    """Turn nested mappings/sequences into {"kind": ..., ...} nodes the template walks."""
    if depth > 20:
        return {"kind": "scalar", "text": _format_scalar(value)}
    if isinstance(value, Mapping):
        return {
            "kind": "map",
            "items": [(str(k), _kv_tree(v, depth + 1)) for k, v in value.items()],
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        seq = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if all(not isinstance(v, (Mapping, list, tuple, set, frozenset)) for v in seq):
            return {"kind": "scalar", "text": "[" + ", ".join(_format_scalar(v) for v in seq) + "]"}
        return {"kind": "list", "items": [_kv_tree(v, depth + 1) for v in seq]}
    return {"kind": "scalar", "text": _format_scalar(value)}


def _summary_card(label: str, value: Any) -> dict[str, str]:
    """Return {"label", "value", "detail"} for one summary card."""
    detail = ""
    if isinstance(value, Mapping):
        unknown = set(value) - {"value", "ci", "detail"}
        if "value" not in value or unknown:
            raise ValueError(
                f"Invalid summary entry {label!r}. Allowed: a number, a string, a (low, high) "
                f"pair, or a mapping with keys 'value' and optional 'ci', 'detail'; got keys "
                f"{sorted(map(str, value))}."
            )
        parts = []
        if value.get("ci") is not None:
            low, high = value["ci"]
            parts.append(f"CI [{_format_number(low, 3)}, {_format_number(high, 3)}]")
        if value.get("detail"):
            parts.append(str(value["detail"]))
        detail = " · ".join(parts)
        value = value["value"]
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value)
    ):
        text = f"[{_format_number(value[0], 3)}, {_format_number(value[1], 3)}]"
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = _format_number(value, 3)
    else:
        text = _format_scalar(value)
    return {"label": str(label), "value": text, "detail": detail}


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _figure_to_bytes(fig: Any, fmt: str, dpi: float) -> bytes:
    buf = io.BytesIO()
    # metadata=None-ish: drop the "Software"/date entries that would make files differ per run.
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    return buf.getvalue()


def _close_figure(fig: Any) -> None:
    """Release a figure: also unregister it from pyplot if pyplot made it (never imports it)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()


def _image_uri(fig_or_png: Any, fmt: str, dpi: float) -> str:
    if fmt not in _FIGURE_FORMATS:
        raise ValueError(
            f"Invalid value for 'fmt'. Allowed: {', '.join(map(repr, _FIGURE_FORMATS))}; got {fmt!r}."
        )
    if isinstance(fig_or_png, (bytes, bytearray, memoryview)):
        data = bytes(fig_or_png)
        if not data.startswith(PNG_SIGNATURE):
            raise DataFormatError(
                "'fig_or_png_bytes' given as bytes must be a PNG image (starting with the PNG "
                f"signature); got {len(data)} bytes starting with {data[:8]!r}."
            )
        mime = "image/png"
    elif hasattr(fig_or_png, "savefig"):
        data = _figure_to_bytes(fig_or_png, fmt, dpi)
        mime = _FIGURE_FORMATS[fmt]
        _close_figure(fig_or_png)
    else:
        raise TypeError(
            "'fig_or_png_bytes' must be a matplotlib Figure or PNG bytes; got "
            f"{type(fig_or_png).__name__}."
        )
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _table_rows(data: Any, max_rows: int) -> tuple[list[str], list[list[str]], int]:
    """Return (header, rows, n_total) with every cell already formatted as text."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        df = data
    elif isinstance(data, Mapping):
        df = pd.DataFrame(data)
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        records = list(data)
        if not all(isinstance(r, Mapping) for r in records):
            raise TypeError(
                "'dataframe_or_records' given as a sequence must hold mappings (records); got "
                f"{sorted({type(r).__name__ for r in records})}."
            )
        df = pd.DataFrame.from_records(records)
    else:
        raise TypeError(
            "'dataframe_or_records' must be a pandas DataFrame/Series, a mapping of columns or a "
            f"sequence of mappings; got {type(data).__name__}."
        )
    show_index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    header = [str(c) for c in df.columns]
    if show_index:
        header = [str(df.index.name or ""), *header]
    rows = []
    for idx, row in zip(df.index[:max_rows], df.itertuples(index=False)):
        cells = [_format_scalar(v) for v in row]
        rows.append(([_format_scalar(idx)] if show_index else []) + cells)
    return header, rows, len(df)


# --------------------------------------------------------------------------------------------
# Offline check
# --------------------------------------------------------------------------------------------

# Attributes that make a browser fetch something (vs. <a href>, which only links).
_FETCH_ATTRS = {
    "src",
    "srcset",
    "poster",
    "data",
    "background",
    "action",
    "formaction",
    "xlink:href",
    "manifest",
    "ping",
    "codebase",
    "archive",
    "longdesc",
    "icon",
}
_LINK_TAGS = {"a", "area"}
_CSS_URL = re.compile(r"""url\(\s*['"]?\s*([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""", re.IGNORECASE)
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def _is_external(url: str) -> bool:
    url = url.strip()
    if url.startswith("//"):
        return True
    m = _SCHEME.match(url)
    return bool(m) and m.group(1).lower() not in {"data", "about", "javascript", "mailto"}


class _OfflineChecker(HTMLParser):
    def __init__(self, allow_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.allow_links = allow_links
        self.problems: list[str] = []
        self._in_style = False

    def _where(self, tag: str) -> str:
        line, col = self.getpos()
        return f"<{tag}> at line {line}, column {col}"

    def _check_css(self, css: str, where: str) -> None:
        for url in _CSS_URL.findall(css) + _CSS_IMPORT.findall(css):
            if not url.lower().startswith("data:"):
                self.problems.append(f"CSS in {where} loads {url!r} (not a data: URI)")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = self._where(tag)
        if tag == "style":
            self._in_style = True
        if tag == "base":
            self.problems.append(f"{where} sets a <base> URL, which redirects relative links")
        if tag == "meta" and any(
            k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs
        ):
            self.problems.append(f"{where} is a meta refresh")
        for key, value in attrs:
            value = value or ""
            if key == "style":
                self._check_css(value, where)
            if key == "href":
                if tag in _LINK_TAGS:
                    if not self.allow_links and _is_external(value):
                        self.problems.append(f"{where} links to the external URL {value!r}")
                elif _is_external(value) or (
                    tag == "link" and not value.startswith(("data:", "#"))
                ):
                    self.problems.append(f"{where} loads {value!r} (href)")
            elif key in _FETCH_ATTRS:
                urls = (
                    [u.strip().split(" ")[0] for u in value.split(",")]
                    if key == "srcset"
                    else [value]
                )
                for url in urls:
                    if _is_external(url):
                        self.problems.append(f"{where} loads the external URL {url!r} ({key})")
            if (
                tag == "img"
                and key == "src"
                and not value.strip().lower().startswith("data:image/")
            ):
                self.problems.append(
                    f"{where} has an image that is not embedded as a data:image/ URI: {value[:80]!r}"
                )
        if tag == "img" and not any(k == "src" for k, _ in attrs):
            self.problems.append(f"{where} has no src")
        if tag in {"iframe", "object", "embed"}:
            self.problems.append(f"{where} embeds external content")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "style":
            self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._check_css(data, "<style>")


def check_report_offline(html: str, *, allow_links: bool = True) -> list[str]:
    """List what would keep an HTML page from being fully readable offline.

    Flags every resource the browser would fetch from elsewhere (``src``, ``srcset``,
    ``<link href>``, CSS ``url()``/``@import``, ...) when it is not a ``data:`` URI or an in-page
    anchor, every ``<img>`` that is not a ``data:image/`` URI, ``<iframe>/<object>/<embed>``,
    ``<base>`` and meta refresh.

    Parameters
    ----------
    html : str
        The page.
    allow_links : bool, default=True
        Allow external hyperlinks in ``<a href>`` (e.g. a citation's DOI): they load nothing.
        With ``False`` they are reported too.

    Returns
    -------
    problems : list of str
        Human-readable descriptions with line numbers; empty when the page is self-contained.
    """
    if not isinstance(html, str):
        raise TypeError(f"'html' must be a str; got {type(html).__name__}.")
    checker = _OfflineChecker(allow_links)
    checker.feed(html)
    checker.close()
    return checker.problems


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


@dataclass
class _Section:
    title: str
    anchor: str
    items: list[dict[str, Any]] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("neurodl.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    anchor, k = base, 2
    while anchor in taken:
        anchor, k = f"{base}-{k}", k + 1
    taken.add(anchor)
    return anchor


def _check_str(value: Any, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"{name!r} must be a str{' or None' if optional else ''}; got {type(value).__name__} {value!r:.60}."
        )
    return value


class Report:
    """A self-contained HTML report: summary cards, sections, figures, tables, provenance.

    Items go into sections, listed in a table of contents. Every ``add_*`` method takes
    ``section=``: the title of the section to append to (created if new); ``None`` appends to
    the last section, or starts one named after the item when there is none yet. Each method
    returns the report, so calls can be chained.

    Parameters
    ----------
    title : str
        Page title and heading.
    subtitle : str, optional
        Shown under the title (e.g. data set and model).

    Examples
    --------
    >>> from neurodl.report import Report
    >>> rep = Report("Decoding <demo>", subtitle="synthetic data")
    >>> _ = rep.add_summary({"balanced accuracy": {"value": 0.81, "ci": (0.74, 0.87)},
    ...                      "chance": 0.5, "p-value": 0.001})
    >>> _ = rep.add_section("Results", text="Scores are above chance.")
    >>> _ = rep.add_key_values({"model": {"name": "eegnet", "lr": 1e-3}}, title="Config")
    >>> html = rep.to_html()
    >>> "Decoding &lt;demo&gt;" in html and check_report_offline(html) == []
    True
    """

    def __init__(self, title: str, *, subtitle: str | None = None) -> None:
        self.title = _check_str(title, "title")
        self.subtitle = _check_str(subtitle, "subtitle", optional=True)
        self.created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        self._sections: list[_Section] = []
        self._summary: list[dict[str, str]] = []
        self._summary_title: str | None = None
        self._anchors: set[str] = {"top", "contents", "summary"}
        self._n_figures = 0

    # ---- structure ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        n_items = sum(len(s.items) for s in self._sections)
        return f"<Report {self.title!r}: {len(self._sections)} sections, {n_items} items>"

    @property
    def sections(self) -> list[str]:
        """Titles of the sections, in order."""
        return [s.title for s in self._sections]

    def _section_for(self, section: str | None, fallback_title: str) -> _Section:
        _check_str(section, "section", optional=True)
        if section is None:
            if self._sections:
                return self._sections[-1]
            section = fallback_title
        for sec in self._sections:
            if sec.title == section:
                return sec
        sec = _Section(section, _slug(section, self._anchors))
        self._sections.append(sec)
        return sec

    def add_section(
        self, title: str, *, html: str | None = None, text: str | None = None
    ) -> Report:
        """Start a new section, optionally with content.

        Parameters
        ----------
        title : str
            Section heading (a later ``section=title`` appends to it).
        html : str, optional
            Trusted HTML inserted as is (not escaped). It should load nothing from the network;
            :func:`check_report_offline` problems are logged as warnings.
        text : str, optional
            Plain text (escaped); blank lines separate paragraphs.
        """
        _check_str(title, "title")
        _check_str(html, "html", optional=True)
        _check_str(text, "text", optional=True)
        sec = _Section(title, _slug(title, self._anchors))
        self._sections.append(sec)
        if text:
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
            sec.items.append({"kind": "text", "title": None, "paragraphs": paragraphs})
        if html:
            for problem in check_report_offline(html):
                logger.warning("Report section %r: %s", title, problem)
            import markupsafe

            sec.items.append({"kind": "html", "title": None, "html": markupsafe.Markup(html)})
        return self

    # ---- content -----------------------------------------------------------------------------

    def add_summary(
        self, metrics: Mapping[str, Any], *, title: str | None = "Key result"
    ) -> Report:
        """Show the key numbers as cards in the header block (replaces an earlier summary).

        Parameters
        ----------
        metrics : mapping of str to value
            One card per entry. A value is a number (shown with 3 significant digits), a string,
            a ``(low, high)`` pair (shown as an interval) or a mapping
            ``{"value": ..., "ci": (low, high), "detail": str}`` (CI and detail under the value).
        title : str or None, default="Key result"
        """
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"'metrics' must be a mapping of name to value; got {type(metrics).__name__}."
            )
        _check_str(title, "title", optional=True)
        self._summary = [_summary_card(str(k), v) for k, v in metrics.items()]
        self._summary_title = title
        return self

    def add_figure(
        self,
        fig_or_png_bytes: Any,
        *,
        title: str,
        caption: str | None = None,
        section: str | None = None,
        fmt: str = "png",
        dpi: float = 110,
    ) -> Report:
        """Embed a figure (as a ``data:`` URI); a matplotlib figure is closed afterwards.

        Parameters
        ----------
        fig_or_png_bytes : matplotlib.figure.Figure or bytes
            A figure (e.g. from :mod:`neurodl.report.figures`), or an already encoded PNG.
        title : str
        caption : str, optional
        section : str, optional
            See :class:`Report`.
        fmt : {"png", "svg"}, default="png"
            Encoding of a matplotlib figure (PNG bytes stay PNG).
        dpi : float, default=110
            Resolution of a PNG rendering.
        """
        _check_str(title, "title")
        _check_str(caption, "caption", optional=True)
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float, np.number)) or not dpi > 0:
            raise ValueError(f"'dpi' must be a positive number; got {dpi!r}.")
        uri = _image_uri(fig_or_png_bytes, fmt, dpi)
        self._n_figures += 1
        sec = self._section_for(section, title)
        sec.items.append(
            {
                "kind": "figure",
                "title": title,
                "caption": caption,
                "src": uri,
                "number": self._n_figures,
            }
        )
        return self

    def add_table(
        self,
        dataframe_or_records: Any,
        *,
        title: str,
        section: str | None = None,
        max_rows: int = 500,
    ) -> Report:
        """Add a table (all cells escaped; numbers with 4 significant digits).

        Parameters
        ----------
        dataframe_or_records : DataFrame, Series, mapping of columns, or sequence of mappings
            A non-default index of a DataFrame is shown as the first column.
        title : str
        section : str, optional
            See :class:`Report`.
        max_rows : int, default=500
            Longer tables are cut, with a note giving the total.
        """
        _check_str(title, "title")
        if (
            isinstance(max_rows, bool)
            or not isinstance(max_rows, (int, np.integer))
            or max_rows < 1
        ):
            raise ValueError(f"'max_rows' must be a positive integer; got {max_rows!r}.")
        header, rows, n_total = _table_rows(dataframe_or_records, int(max_rows))
        sec = self._section_for(section, title)
        sec.items.append(
            {"kind": "table", "title": title, "header": header, "rows": rows, "n_total": n_total}
        )
        return self

    def add_key_values(
        self,
        mapping: Mapping[str, Any],
        *,
        title: str,
        section: str | None = None,
    ) -> Report:
        """Add a key-value list (provenance, configuration); nested mappings are indented.

        Parameters
        ----------
        mapping : mapping
            Values may be nested mappings and lists; other values are shown with ``str`` (numbers
            with 4 significant digits, small arrays as lists) and escaped.
        title : str
        section : str, optional
            See :class:`Report`.
        """
        _check_str(title, "title")
        if not isinstance(mapping, Mapping):
            raise TypeError(f"'mapping' must be a mapping; got {type(mapping).__name__}.")
        sec = self._section_for(section, title)
        sec.items.append({"kind": "kv", "title": title, "tree": _kv_tree(mapping)})
        return self

    def add_code(
        self,
        text: str | Mapping[str, Any],
        *,
        title: str,
        language: str = "yaml",
        section: str | None = None,
    ) -> Report:
        """Add a code block shown verbatim (escaped), e.g. the run's YAML configuration.

        Parameters
        ----------
        text : str or mapping
            The code; a mapping is dumped as YAML (``yaml.safe_dump``, keys in given order).
        title : str
        language : str, default="yaml"
            Shown as a label (no highlighting: the page runs no scripts).
        section : str, optional
            See :class:`Report`.
        """
        _check_str(title, "title")
        _check_str(language, "language")
        if isinstance(text, Mapping):
            import yaml

            text = yaml.safe_dump(_plain(text), sort_keys=False, allow_unicode=True)
        _check_str(text, "text")
        sec = self._section_for(section, title)
        sec.items.append({"kind": "code", "title": title, "language": language, "code": text})
        return self

    # ---- output ------------------------------------------------------------------------------

    def to_html(self) -> str:
        """Render the report as one HTML document (str)."""
        from .. import __version__

        template = _environment().get_template("report.html")
        return template.render(
            title=self.title,
            subtitle=self.subtitle,
            created=self.created.strftime("%Y-%m-%d %H:%M UTC"),
            version=__version__,
            summary=self._summary,
            summary_title=self._summary_title,
            sections=self._sections,
        )

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the report to ``path`` atomically (temporary file, then ``os.replace``).

        Parameters
        ----------
        path : path-like
            Target file (parent folders are created).
        overwrite : bool, default=False
            Replace an existing file; otherwise an existing file raises
            :class:`~neurodl.exceptions.OutputExistsError`.

        Returns
        -------
        path : Path
            The written file.
        """
        path = Path(path)
        if path.is_dir():
            raise OutputExistsError(
                f"'path' must be a file path; got the existing folder {str(path)!r}."
            )
        if path.exists() and not overwrite:
            raise OutputExistsError(
                f"The report file {str(path)!r} exists; pass overwrite=True to replace it."
            )
        html = self.to_html()
        for problem in check_report_offline(html):
            logger.warning("Report %r is not self-contained: %s", self.title, problem)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(html)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        logger.info("Report saved to %s", path)
        return path


def _plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and tuples to types ``yaml.safe_dump`` accepts."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
