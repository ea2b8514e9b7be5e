"""Gallery helpers: scrape the figures neurodl's figure functions return.

The functions of :mod:`neurodl.report.figures` build a :class:`matplotlib.figure.Figure`
without pyplot (the library never touches global plotting state), so sphinx-gallery's
matplotlib scraper, which saves pyplot's figures, does not see them. :func:`figure_scraper`
saves every such figure a tutorial binds to a module-level name, once, after the code block
that made it. It must come before ``"matplotlib"`` in ``image_scrapers``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TUTORIAL_ORDER", "figure_scraper", "tutorial_order"]


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


#: Tutorials in the order of the user guide's chapters; others follow, by name.
TUTORIAL_ORDER = (
    "plot_fast_decode_simulated_eeg.py",
    "plot_attribution_sanity.py",
    "plot_seizure_detection_simulated.py",
    "plot_encoding_simulated.py",
    "plot_rsa_fixed_models.py",
    "plot_latents_simulated.py",
    "plot_task_rnn_fixed_points.py",
    "plot_lesion_task_rnn.py",
    "plot_biomarker_simulated_cohort.py",
    "plot_adaptation_site_shift.py",
    "plot_fast_privacy.py",
    "plot_scale_resume.py",
)


def tutorial_order(filename: str) -> tuple[int, str]:
    """Sort key of a tutorial file name (sphinx-gallery's ``within_subsection_order``)."""
    name = str(filename).rsplit("/", 1)[-1]
    rank = TUTORIAL_ORDER.index(name) if name in TUTORIAL_ORDER else len(TUTORIAL_ORDER)
    return rank, name
