"""Encoding models: fast per-target ridge, banded ridge, FIR/lagged designs, noise ceilings, TRFs.

Functional core first (:func:`ridge_cv_scores`, :func:`fir_design`, :func:`noise_ceiling`);
estimators (:class:`RidgeCVPerTarget`, :class:`BandedRidgeCV`) are thin shells around it.
"""
