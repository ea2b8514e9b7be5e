"""The offline check: what would keep an HTML page from being readable without a network."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["check_report_offline"]

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

    Examples
    --------
    An embedded image passes; a remote stylesheet and a linked image do not:

    >>> from neurodl.report.offline import check_report_offline
    >>> check_report_offline('<img src="data:image/png;base64,iVBORw0KGgo=">')
    []
    >>> page = ('<html><head><link rel="stylesheet" href="https://cdn.example.org/a.css">'
    ...         '</head><body><img src="figure.png"></body></html>')
    >>> for problem in check_report_offline(page):
    ...     print(problem)
    <link> at line 1, column 12 loads 'https://cdn.example.org/a.css' (href)
    <img> at line 1, column 85 has an image that is not embedded as a data:image/ URI: 'figure.png'

    A hyperlink (a citation's DOI) loads nothing, so it passes unless ``allow_links=False``:

    >>> link = '<a href="https://doi.org/10.1000/xyz">paper</a>'
    >>> check_report_offline(link)
    []
    >>> check_report_offline(link, allow_links=False)
    ["<a> at line 1, column 0 links to the external URL 'https://doi.org/10.1000/xyz'"]
    """
    if not isinstance(html, str):
        raise TypeError(f"'html' must be a str; got {type(html).__name__}.")
    checker = _OfflineChecker(allow_links)
    checker.feed(html)
    checker.close()
    return checker.problems
