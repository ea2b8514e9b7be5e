"""neurodl.report: one self-contained HTML file per run, with embedded figures.

:class:`Report` collects summary cards, sections, figures, tables, key-value provenance and code
blocks and renders them offline-readable (no network resources);
:func:`check_report_offline` (:mod:`neurodl.report.offline`) verifies that a page is; the
:mod:`neurodl.report.figures` package makes the standard figures, one module per subject.
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
from .offline import check_report_offline
from .report import Report

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
