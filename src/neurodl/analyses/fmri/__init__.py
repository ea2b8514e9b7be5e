"""fMRI analyses: scans to samples (per-run cleaning, HRF delay, LSA/LSS betas) and searchlight."""
