"""neurodl.report: one self-contained HTML file per run, with embedded figures.

:class:`Report` collects summary cards, sections, figures, tables, key-value provenance and code
blocks and renders them offline-readable (no network resources); :mod:`neurodl.report.figures`
makes the standard figures from plain NumPy inputs.
"""

from __future__ import annotations

from .figures import (
    plot_brain_slices,
    plot_confusion_matrix,
    plot_data_summary,
    plot_fold_scores,
    plot_null_distribution,
    plot_timecourse,
)
from .report import Report, check_report_offline

__all__ = [
    "Report",
    "check_report_offline",
    "plot_brain_slices",
    "plot_confusion_matrix",
    "plot_data_summary",
    "plot_fold_scores",
    "plot_null_distribution",
    "plot_timecourse",
]
