"""A small, strict Markdown -> reStructuredText converter for the repository's own notes.

MyST is not a dependency, so the Markdown files (``docs/architecture.md``, ``docs/scale.md``,
``benchmarks/results/*.md``) are converted when the docs build. Only what those files use is
supported: ATX headings, paragraphs, bullet and numbered lists (flattened), pipe tables, fenced
and indented code blocks, block quotes, and inline code, bold and links. Everything else is
escaped and shown as text, so an unexpected construct never becomes rst markup (the build runs
with warnings as errors).
"""

from __future__ import annotations

import re

__all__ = ["escape_docstring_line", "escape_text", "inline_to_rst", "markdown_to_rst"]

_SPECIAL = re.compile(r"([\\`*_|<>\[\]])")
_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|\*\*(?P<bold>[^*]+?)\*\*"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)\)"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HIGHLIGHT = {"bash": "bash", "sh": "bash", "shell": "bash", "console": "console"}


def escape_text(text: str) -> str:
    """Escape ``text`` so that reStructuredText shows it as written (no markup)."""
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", text)  # undo Markdown escapes
    return _SPECIAL.sub(r"\\\1", text)


#: Inline literals and roles (left alone by :func:`escape_docstring_line`).
_CODE_OR_ROLE = re.compile(r"(``.+?``|(?::[\w:+-]+:)?`[^`]+`_{0,2})")
#: ``(n, *rest)`` in a shape is text, not the start of emphasis.
_SHAPE_STAR = re.compile(r"(?:(?<=\()|(?<=[(,] ))\*(?=[A-Za-z_][\w.\[\]:]*[,)])")
#: ``|x|`` (absolute value, norm): the docstrings define no substitutions.
_BARS = re.compile(r"(?<![\w\\|])\|(?=[^\s|])([^|`]*?[^\s|\\])\|(?![\w|])")
#: ``coef_``, ``n_final_``: fitted attributes, not hyperlink references.
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w`\\])([A-Za-z]\w*?)_(?=[\s.,;:)\]]|$)")


def escape_docstring_line(line: str) -> str:
    """Keep three plain-text idioms of the docstrings from becoming rst markup.

    Outside inline literals and roles: the ``*`` of a shape ``(batch, *rest)`` (emphasis),
    ``|x|`` (a substitution reference) and a trailing underscore ``coef_`` (a hyperlink
    reference) are escaped.
    """
    if not any(c in line for c in "*|_"):
        return line
    parts = _CODE_OR_ROLE.split(line)
    for i in range(0, len(parts), 2):
        part = _SHAPE_STAR.sub(r"\\*", parts[i])
        part = _BARS.sub(r"\\|\1\\|", part)
        parts[i] = _TRAILING_UNDERSCORE.sub(r"\1\\_", part)
    return "".join(parts)


def _literal(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if "``" in text or text.endswith("`"):
        return escape_text(text)
    return "\\ ``" + text + "``\\ "


def inline_to_rst(text: str) -> str:
    """Convert one line of Markdown inline markup (code, bold, links) to reStructuredText."""
    out: list[str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(escape_text(text[pos : match.start()]))
        if match.group("code") is not None:
            out.append(_literal(match.group("code_text")))
        elif match.group("bold") is not None:
            bold = escape_text(match.group("bold").replace("`", "").strip())
            out.append("\\ **" + bold + "**\\ " if bold else "")
        else:
            label = escape_text(match.group("link_text").replace("`", "").strip())
            url = match.group("link_url")
            if re.match(r"^https?://", url) and label:
                out.append(f"\\ `{label} <{url}>`__\\ ")
            else:  # relative links point into the repository, not into the site
                out.append(label)
        pos = match.end()
    out.append(escape_text(text[pos:]))
    line = "".join(out).strip()
    line = line.removeprefix("\\ ").removesuffix("\\").strip()
    if line.startswith(("..", ":", "+ ", "- ", "#")) or re.match(r"^\d+[.)]\s", line):
        line = "\\" + line
    return line


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def _table(rows: list[list[str]]) -> list[str]:
    width = len(rows[0])
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        cells = (row + [""] * width)[:width]
        for i, cell in enumerate(cells):
            text = inline_to_rst(cell)
            out.append(("   * - " if i == 0 else "     - ") + text)
    return [*out, ""]


def _title(text: str, char: str) -> list[str]:
    text = inline_to_rst(text) or "Notes"
    return [text, char * max(len(text), 4), ""]


def markdown_to_rst(md: str, *, title: str) -> str:
    """Convert the Markdown document ``md`` to reStructuredText.

    The first level-1 heading becomes the page title (``title`` when there is none); every other
    heading becomes a second-level section, so headings that skip levels stay consistent.

    Parameters
    ----------
    md : str
        The Markdown text.
    title : str
        Page title used when the document has no level-1 heading first.

    Returns
    -------
    str
        reStructuredText.
    """
    lines = md.splitlines()
    out: list[str] = []
    para: list[str] = []
    item: list[str] | None = None
    list_kind = ""
    have_title = False
    i = 0

    def flush() -> None:
        nonlocal para, item
        if para:
            out.extend([inline_to_rst(" ".join(s.strip() for s in para)), ""])
            para = []
        if item is not None:
            mark = "* " if list_kind == "bullet" else "#. "
            out.append(mark + inline_to_rst(" ".join(s.strip() for s in item)))
            item = None

    def end_list() -> None:
        nonlocal list_kind
        flush()
        if list_kind:
            out.append("")
            list_kind = ""

    while i < len(lines):
        line = lines[i].rstrip()
        fence = _FENCE.match(line)
        heading = _HEADING.match(line)
        if fence:
            end_list()
            marker, lang = fence.group(1), fence.group(2).lower()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            out.extend(_code(body, _HIGHLIGHT.get(lang, "text")))
        elif heading:
            end_list()
            level, text = len(heading.group(1)), heading.group(2)
            if not have_title and level == 1 and not out:
                out.extend(_title(text, "="))
            else:
                if not have_title:
                    out[:0] = _title(title, "=")
                out.extend(_title(text, "-"))
            have_title = True
        elif not line.strip():
            flush()
            if not list_kind:
                pass
        elif (
            line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1])
        ):
            end_list()
            rows = [_split_row(line)]
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_split_row(lines[i]))
                i += 1
            out.extend(_table(rows))
            continue
        elif line.startswith("    ") and not para and not list_kind:
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            out.extend(_code(body, "text"))
            continue
        elif re.match(r"^\s*([-*_])(\s*\1){2,}\s*$", line):
            end_list()
        elif _BULLET.match(line) or _NUMBERED.match(line):
            kind = "bullet" if _BULLET.match(line) else "numbered"
            if para or (list_kind and kind != list_kind):
                end_list()
            flush()
            list_kind = kind
            item = [(_BULLET.match(line) or _NUMBERED.match(line)).group(1)]
        elif item is not None or (list_kind and line.startswith(" ")):
            if item is None:
                item = []
            item.append(line)
        else:
            if list_kind:
                end_list()
            para.append(re.sub(r"^\s*>\s?", "", line))
        i += 1
    end_list()
    if not have_title:
        out[:0] = _title(title, "=")
    return "\n".join(out).rstrip() + "\n"


def _code(body: list[str], lang: str) -> list[str]:
    while body and not body[-1].strip():
        body = body[:-1]
    while body and not body[0].strip():
        body = body[1:]
    if not body:
        return []
    return [f".. code-block:: {lang}", "", *("   " + b if b.strip() else "" for b in body), ""]
