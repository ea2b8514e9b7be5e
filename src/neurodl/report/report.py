"""The :class:`Report`: one self-contained, offline-readable HTML file per run.

Everything is embedded: figures as ``data:`` URIs, CSS inline, no scripts, fonts or links to the
network. User strings are escaped by the Jinja2 template (autoescape on); only ``html=`` given to
:meth:`Report.add_section` is inserted as is.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import OutputExistsError
from ._html import (
    _image_uri,
    _kv_tree,
    _plain,
    _summary_card,
    _table_rows,
)
from .offline import check_report_offline

__all__ = ["Report", "check_report_offline"]


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
        show_rows: int = 10,
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
        show_rows : int, default=10
            Rows shown open; the rest (up to ``max_rows``) sit in a collapsed ``<details>``
            block the reader expands.
        """
        _check_str(title, "title")
        if (
            isinstance(max_rows, bool)
            or not isinstance(max_rows, (int, np.integer))
            or max_rows < 1
        ):
            raise ValueError(f"'max_rows' must be a positive integer; got {max_rows!r}.")
        if isinstance(show_rows, bool) or not isinstance(show_rows, (int, np.integer)):
            raise ValueError(f"'show_rows' must be a positive integer; got {show_rows!r}.")
        if show_rows < 1:
            raise ValueError(f"'show_rows' must be a positive integer; got {show_rows!r}.")
        header, rows, n_total = _table_rows(dataframe_or_records, int(max_rows))
        sec = self._section_for(section, title)
        sec.items.append(
            {
                "kind": "table",
                "title": title,
                "header": header,
                "rows": rows[: int(show_rows)],
                "more_rows": rows[int(show_rows) :],
                "n_total": n_total,
            }
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
