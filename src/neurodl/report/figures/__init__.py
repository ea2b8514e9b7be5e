"""Report figures: plain NumPy (or a result object) in, a :class:`matplotlib.figure.Figure` out.

Every function builds its figure with :class:`matplotlib.figure.Figure` directly (never
``pyplot``), so no global figure state accumulates and nothing needs closing; the Agg canvas is
attached explicitly, so the figures render headless. Pass the result to
:meth:`neurodl.report.Report.add_figure`.

One module per subject: :mod:`~neurodl.report.figures.statistics` (cross-validation and test
statistics), :mod:`~neurodl.report.figures.eeg` (epochs and channel maps),
:mod:`~neurodl.report.figures.fmri` (voxel maps and encoding scores),
:mod:`~neurodl.report.figures.rsa`, :mod:`~neurodl.report.figures.dynamics` and
:mod:`~neurodl.report.figures.seizure`. Matplotlib, SciPy, MNE and the analyses are imported
when a figure is made, not when this package is imported.
"""

from __future__ import annotations

from ._base import PALETTE
from .dynamics import (
    plot_behavior,
    plot_forecast_scores,
    plot_latent_trajectories,
    plot_raster_rates,
)
from .eeg import (
    channel_positions,
    plot_attribution_profile,
    plot_channel_importance,
    plot_data_summary,
)
from .fmri import plot_brain_slices, plot_ceiling_normalized_scores, plot_encoder_comparison
from .label_efficiency import plot_label_efficiency
from .rsa import (
    CATEGORY_GROUPS,
    category_order,
    plot_layer_curves,
    plot_mds,
    plot_model_comparison,
    plot_rdms,
    plot_stimuli,
    plot_training,
)
from .seizure import plot_event_timeline, plot_probability_trace
from .statistics import (
    plot_confusion_matrix,
    plot_fold_scores,
    plot_learning_curves,
    plot_null_distribution,
    plot_pairwise_matrix,
    plot_timecourse,
)
from .task_models import (
    plot_dose_response,
    plot_fixed_points,
    plot_psychometric,
    plot_state_trajectories,
)

__all__ = [
    "CATEGORY_GROUPS",
    "PALETTE",
    "category_order",
    "channel_positions",
    "plot_attribution_profile",
    "plot_behavior",
    "plot_brain_slices",
    "plot_ceiling_normalized_scores",
    "plot_channel_importance",
    "plot_confusion_matrix",
    "plot_data_summary",
    "plot_dose_response",
    "plot_encoder_comparison",
    "plot_event_timeline",
    "plot_fixed_points",
    "plot_fold_scores",
    "plot_forecast_scores",
    "plot_label_efficiency",
    "plot_latent_trajectories",
    "plot_layer_curves",
    "plot_learning_curves",
    "plot_mds",
    "plot_model_comparison",
    "plot_null_distribution",
    "plot_pairwise_matrix",
    "plot_probability_trace",
    "plot_psychometric",
    "plot_raster_rates",
    "plot_rdms",
    "plot_state_trajectories",
    "plot_stimuli",
    "plot_timecourse",
    "plot_training",
]
