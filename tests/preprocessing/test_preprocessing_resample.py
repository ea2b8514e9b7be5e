from __future__ import annotations

import numpy as np

from neurodl.data import Recording
from neurodl.preprocessing import resample_recording


def test_float32_recording_resamples_like_float64():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 1000))
    r64 = resample_recording(Recording(data, 250.0), 100.0)
    r32 = resample_recording(Recording(data.astype(np.float32), 250.0), 100.0)
    assert r32.data.dtype == np.float32 and r32.n_times == 400
    np.testing.assert_allclose(r32.data, r64.data, atol=1e-5)
