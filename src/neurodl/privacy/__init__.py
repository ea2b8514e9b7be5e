"""Privacy: pseudonymised subject codes and no machine paths in what a run writes.

:func:`pseudonymise_subjects` replaces subject codes in data containers before an analysis sees
them; :func:`redact_paths` keeps absolute machine paths out of results, reports and logs;
:func:`deidentify` writes a de-identified copy of recordings and BIDS sidecars.
"""

from __future__ import annotations

from .deidentify import DeidentificationReport, deidentify
from .pseudonyms import (
    active_pseudonyms,
    pseudonym_map,
    pseudonymise_subjects,
    remember_pseudonyms,
    replace_codes,
    scrub_folder,
)
from .redact import redact_paths

__all__ = [
    "DeidentificationReport",
    "active_pseudonyms",
    "deidentify",
    "pseudonym_map",
    "pseudonymise_subjects",
    "redact_paths",
    "remember_pseudonyms",
    "replace_codes",
    "scrub_folder",
]
