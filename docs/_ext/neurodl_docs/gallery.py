"""Gallery helpers: scrape the figures neurodl's figure functions return.

The functions of :mod:`neurodl.report.figures` build a :class:`matplotlib.figure.Figure`
without pyplot (the library never touches global plotting state), so sphinx-gallery's
matplotlib scraper, which saves pyplot's figures, does not see them. :func:`figure_scraper`
saves every such figure a tutorial binds to a module-level name, once, after the code block
that made it. It must come before ``"matplotlib"`` in ``image_scrapers``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["figure_scraper"]


_SEEN: dict[str, set[int]] = {}


def figure_scraper(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Save the new pyplot-free figures in the example's globals; return their rst."""
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = _SEEN.setdefault(str(block_vars.get("src_file", "")), set())
    if block_vars.get("image_path_iterator") is None:
        return ""
    figures = [v for v in block_vars["example_globals"].values() if isinstance(v, Figure)]
    # pyplot's figures (they have a manager until its scraper, which runs after this one,
    # closes them) are saved by sphinx-gallery's matplotlib scraper: never by this one
    seen.update(id(f) for f in figures if getattr(f.canvas, "manager", None) is not None)
    new = [f for f in figures if id(f) not in seen]
    paths = []
    for fig, path in zip(new, block_vars["image_path_iterator"]):
        seen.add(id(fig))
        fig.savefig(path, dpi=96)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"]) if paths else ""
