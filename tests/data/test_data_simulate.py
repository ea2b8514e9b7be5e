"""Simulators: determinism, shapes, and planted effects recovered with independent tools."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal, stats
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodl.data import METADATA_COLUMNS, EpochsDataset, Recording, VolumeSeries
from neurodl.data.simulate import (
    LatentPopulation,
    simulate_continuous_seizures,
    simulate_evoked,
    simulate_fmri,
    simulate_latent_population,
    simulate_motor_imagery,
    spikes_to_calcium,
    spm_hrf,
)
from neurodl.exceptions import ConfigError

SMALL = {
    "motor_imagery": (
        simulate_motor_imagery,
        {"n_subjects": 2, "n_sessions": 1, "n_trials": 8, "n_channels": 6},
    ),
    "evoked": (simulate_evoked, {"n_subjects": 1, "n_trials": 8, "n_channels": 5}),
    "seizures": (
        simulate_continuous_seizures,
        {"n_subjects": 1, "duration_hours": 0.1, "n_channels": 4},
    ),
    "fmri": (simulate_fmri, {"n_runs": 2, "n_categories": 2, "shape": (5, 5, 3)}),
    "latent": (simulate_latent_population, {"n_neurons": 5, "n_trials": 4, "n_bins": 10}),
}


def _arrays(out):
    """The random arrays a simulator returned, for equality checks."""
    if isinstance(out, EpochsDataset):
        return [out.X, out.y]
    if isinstance(out, VolumeSeries):
        return [out.data]
    if isinstance(out, LatentPopulation):
        return [out.counts, out.rates, out.latents, out.behavior]
    return [r.data for r in out] + [r.annotations.onset for r in out]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_same_data_other_seed_other_data(name):
    func, kwargs = SMALL[name]
    a, b, c = func(**kwargs, seed=3), func(**kwargs, seed=3), func(**kwargs, seed=4)
    for x, y in zip(_arrays(a), _arrays(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(_arrays(a)[0], _arrays(c)[0])


def test_pink_noise_has_a_one_over_f_spectrum():
    from neurodl.data.simulate._common import pink_noise

    x = pink_noise(np.random.default_rng(0), (4, 8192), 128.0)
    np.testing.assert_allclose(x.std(axis=-1), 1.0)
    f, p = signal.welch(x, fs=128.0, nperseg=1024)
    sel = (f >= 2) & (f <= 40)
    slope = np.polyfit(np.log(f[sel]), np.log(p.mean(0)[sel]), 1)[0]
    assert -1.15 < slope < -0.85


# ---------------------------------------------------------------------- motor imagery
def _log_band_power(ds, band, channels):
    f, p = signal.welch(ds.X, fs=ds.sfreq, nperseg=int(ds.sfreq), axis=-1)
    sel = (f >= band[0]) & (f <= band[1])
    idx = [ds.ch_names.index(c) for c in channels]
    return np.log(p[:, idx][..., sel].mean(-1))  # (n_trials, len(channels))


def _cohen_d(a, b):
    return (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)


def test_motor_imagery_shapes_and_metadata():
    ds = simulate_motor_imagery(n_subjects=2, n_sessions=2, n_trials=10, n_channels=8)
    assert ds.X.shape == (40, 8, 256) and ds.sfreq == 128.0
    assert {"C3", "Cz", "C4"} <= set(ds.ch_names) and len(set(ds.ch_names)) == 8
    assert ds.classes == ["left_hand", "right_hand"]
    assert ds.y.dtype.kind == "i" and set(ds.y) == {0, 1}
    assert set(METADATA_COLUMNS) <= set(ds.metadata.columns)
    assert sorted(ds.metadata["subject"].unique()) == ["01", "02"]
    assert ds.metadata["recording"].nunique() == 4 and ds.metadata["segment"].nunique() == 40
    # classes are balanced within each session; onsets increase within a recording
    for _, part in ds.metadata.groupby("recording"):
        assert np.bincount(ds.y[part.index]).tolist() == [5, 5]
        assert np.all(np.diff(part["onset"]) > 2.0)
    truth = ds.info["ground_truth"]
    assert truth["erd_channels"] == {"left_hand": ["C4"], "right_hand": ["C3"]}
    assert set(truth["subjects"]) == {"01", "02"}
    assert 1e-6 < ds.X.std() < 1e-4  # volts, EEG-sized
    three = simulate_motor_imagery(n_subjects=1, n_sessions=1, n_trials=9, n_classes=3)
    assert three.classes == ["left_hand", "right_hand", "feet"]
    assert np.bincount(three.y).tolist() == [3, 3, 3]


def test_motor_imagery_erd_is_contralateral_and_absent_under_null():
    kwargs = {"n_subjects": 2, "n_sessions": 1, "n_trials": 120, "n_channels": 16, "seed": 1}
    ds = simulate_motor_imagery(effect_size=0.5, **kwargs)
    mu = _log_band_power(ds, (8, 12), ["C3", "C4", "Oz"])
    left, right = ds.y == 0, ds.y == 1
    lat = mu[:, 0] - mu[:, 1]  # C3 - C4: higher when the right hemisphere desynchronises
    assert _cohen_d(lat[left], lat[right]) > 0.8
    assert stats.ttest_ind(lat[left], lat[right], alternative="greater").pvalue < 1e-6
    # C3 alone drops for right-hand imagery, C4 alone for left-hand imagery
    assert _cohen_d(mu[left, 0], mu[right, 0]) > 0.3
    assert _cohen_d(mu[right, 1], mu[left, 1]) > 0.3
    assert abs(_cohen_d(mu[left, 2], mu[right, 2])) < 0.3  # occipital: far from both sources
    beta = _log_band_power(ds, (18, 26), ["C3", "C4"])
    assert _cohen_d(beta[left, 0] - beta[left, 1], beta[right, 0] - beta[right, 1]) > 0.3

    null = simulate_motor_imagery(effect_size=0.0, **kwargs)
    mu0 = _log_band_power(null, (8, 12), ["C3", "C4"])
    lat0 = mu0[:, 0] - mu0[:, 1]
    assert abs(_cohen_d(lat0[null.y == 0], lat0[null.y == 1])) < 0.3
    # same seed: the null differs from the effect data only through the planted ERD
    np.testing.assert_array_equal(null.y, ds.y)


def test_motor_imagery_feet_desynchronise_the_vertex():
    ds = simulate_motor_imagery(
        n_subjects=2, n_sessions=1, n_trials=120, n_classes=3, effect_size=0.6, seed=2
    )
    mu = _log_band_power(ds, (8, 12), ["Cz"])[:, 0]
    assert _cohen_d(mu[ds.y != 2], mu[ds.y == 2]) > 0.5


def test_motor_imagery_save_load_round_trip(tmp_path):
    ds = simulate_motor_imagery(n_subjects=1, n_sessions=1, n_trials=6, n_channels=4)
    back = EpochsDataset.load(ds.save(tmp_path / "mi"), mmap=False)
    np.testing.assert_array_equal(back.X, ds.X)
    assert back.data_hash() == ds.data_hash()
    assert back.info["ground_truth"]["erd_channels"] == ds.info["ground_truth"]["erd_channels"]


def test_motor_imagery_sessions_differ():
    ds = simulate_motor_imagery(n_subjects=1, n_sessions=2, n_trials=60, seed=0)
    sess = ds.info["ground_truth"]["subjects"]["01"]["sessions"]
    assert sess["1"] != sess["2"]
    power = np.log((ds.X**2).mean(axis=2))  # (n_trials, n_channels)
    s1, s2 = ds.metadata["session"] == "1", ds.metadata["session"] == "2"
    # channel-wise power profiles shift between sessions (gains, electrode displacement)
    assert np.abs(power[s1].mean(0) - power[s2].mean(0)).max() > 0.1


# ---------------------------------------------------------------------- evoked
def _window_mean(ds, channel, lo, hi):
    times = ds.info["tmin"] + np.arange(ds.X.shape[-1]) / ds.sfreq
    sel = (times >= lo) & (times <= hi)
    return ds.X[:, ds.ch_names.index(channel)][:, sel].mean(-1)


def test_evoked_p300_at_planted_latency_and_channels():
    ds = simulate_evoked(n_subjects=2, n_trials=120, seed=0)
    assert ds.classes == ["non_target", "target"]
    assert (ds.y == 1).sum() == 2 * 30 and ds.X.shape == (240, 16, 128)
    assert "Pz" in ds.info["ground_truth"]["channels"]
    assert "Fz" not in ds.info["ground_truth"]["channels"]
    target = ds.y == 1
    p3 = _window_mean(ds, "Pz", 0.3, 0.4)
    assert stats.ttest_ind(p3[target], p3[~target], alternative="greater").pvalue < 1e-4
    base = _window_mean(ds, "Pz", -0.2, 0.0)
    assert abs(_cohen_d(base[target], base[~target])) < 0.3
    # the smoothed difference wave peaks near the planted latency
    times = ds.info["tmin"] + np.arange(ds.X.shape[-1]) / ds.sfreq
    diff = (
        ds.X[target, ds.ch_names.index("Pz")].mean(0)
        - ds.X[~target].mean(0)[ds.ch_names.index("Pz")]
    )
    smooth = np.convolve(diff, np.ones(13) / 13, mode="same")
    assert abs(times[np.argmax(smooth)] - 0.35) < 0.08
    null = simulate_evoked(n_subjects=2, n_trials=120, effect_size=0.0, seed=0)
    p30 = _window_mean(null, "Pz", 0.3, 0.4)
    assert abs(_cohen_d(p30[null.y == 1], p30[null.y == 0])) < 0.3


# ---------------------------------------------------------------------- seizures
@pytest.fixture(scope="module")
def seizure_recs():
    return simulate_continuous_seizures(
        n_subjects=2, duration_hours=0.25, seizures_per_hour=8, artifact_rate=3.0, seed=5
    )


def test_seizure_recordings_structure(seizure_recs):
    assert len(seizure_recs) == 2
    for rec in seizure_recs:
        assert isinstance(rec, Recording) and rec.data.dtype == np.float32
        assert rec.n_times == int(0.25 * 3600 * 128) and rec.n_channels == 8
        assert rec.annotations.unique_labels() == ["seizure"]
        sz = rec.info["seizures"]
        np.testing.assert_allclose(rec.annotations.onset, [s["onset"] for s in sz])
        assert all(20 <= s["duration"] <= 120 for s in sz)
        ends = rec.annotations.onset + rec.annotations.duration
        assert np.all(rec.annotations.onset[1:] > ends[:-1]) and ends[-1] < rec.duration
        kinds = {a["kind"] for a in rec.info["artifacts"]}
        assert kinds == {"eye_blink", "muscle", "electrode_pop", "flat"}


def test_seizures_raise_power_and_line_length_inside_annotations(seizure_recs):
    for rec in seizure_recs:
        sf = rec.sfreq
        inside = np.zeros(rec.n_times, bool)
        for s in rec.info["seizures"]:
            inside[int(s["onset"] * sf) : int((s["onset"] + s["duration"]) * sf)] = True
        for s in rec.info["seizures"]:
            ch = rec.ch_names.index(s["focus"])
            x = rec.data[ch].astype(float)
            core = x[
                int((s["onset"] + 0.4 * s["duration"]) * sf) : int(
                    (s["onset"] + 0.8 * s["duration"]) * sf
                )
            ]
            outside = x[~inside]
            ll_in = np.abs(np.diff(core)).mean()
            ll_out = np.abs(np.diff(outside)).mean()
            assert ll_in > 1.3 * ll_out
            f, p_in = signal.welch(core, fs=sf, nperseg=512)
            _, p_out = signal.welch(outside, fs=sf, nperseg=512)
            band = (f >= 2) & (f <= 7)
            assert p_in[band].sum() > 5 * p_out[band].sum()


def test_flat_artifacts_are_flat_and_not_seizures(seizure_recs):
    rec = seizure_recs[0]
    flats = [a for a in rec.info["artifacts"] if a["kind"] == "flat"]
    assert flats
    for a in flats:
        i0 = int(a["onset"] * rec.sfreq)
        seg = rec.data[[rec.ch_names.index(c) for c in a["channels"]], i0 : i0 + 100]
        assert seg.std() < 1e-6 < rec.data.std()
    assert "flat" not in rec.annotations.unique_labels()


def test_seizures_default_size_is_memory_sane():
    recs = simulate_continuous_seizures(n_subjects=1, seed=0)
    assert recs[0].data.nbytes < 20e6 and len(recs[0].annotations) >= 1


# ---------------------------------------------------------------------- fMRI
def test_spm_hrf_shape():
    dt = 2.0 / 50
    h = spm_hrf(2.0, oversampling=50)
    assert h.shape == (round(32.0 / dt),)
    assert h[0] == 0.0 and np.isclose(h.sum(), 1.0)
    assert abs(np.argmax(h) * dt - 5.0) < 0.3
    assert 14.0 < np.argmin(h) * dt < 17.0 and h.min() < 0
    # onset shifts the whole kernel
    shifted = spm_hrf(2.0, oversampling=50, onset=2.0)
    assert abs((np.argmax(shifted) - np.argmax(h)) * dt - 2.0) < 0.05


def _fmri_decoding(vs):
    labels = vs.info["volume_labels"]
    X = vs.masked().T.copy()
    for run in labels["run"].unique():
        i = (labels["run"] == run).to_numpy()
        X[i] = (X[i] - X[i].mean(0)) / X[i].std(0)
    keep = (labels["label_delayed"] != "rest").to_numpy()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return cross_val_score(
        clf,
        X[keep],
        labels["label_delayed"][keep],
        groups=labels["run"][keep],
        cv=LeaveOneGroupOut(),
    ).mean()


def test_fmri_structure_and_decodable_patterns():
    vs = simulate_fmri(seed=0)
    assert vs.data.ndim == 4 and vs.data.shape[:3] == (10, 10, 4) and vs.mask is not None
    labels = vs.info["volume_labels"]
    assert len(labels) == vs.n_volumes and labels["run"].nunique() == 6
    assert list(vs.events.columns) == ["onset", "duration", "trial_type", "run"]
    assert len(vs.events) == 6 * 4 and sorted(vs.events["trial_type"].unique()) == sorted(
        ["face", "house", "cat", "bottle"]
    )
    truth = vs.info["ground_truth"]
    assert truth["patterns"].shape == (4, int(vs.mask.sum()))
    assert 0 < truth["roi"].sum() < vs.mask.sum() and not (truth["roi"] & ~vs.mask).any()
    assert _fmri_decoding(vs) > 0.6  # chance 0.25
    assert _fmri_decoding(simulate_fmri(effect_size=0.0, seed=0)) < 0.4


def test_fmri_glm_recovers_patterns():
    vs = simulate_fmri(seed=1)
    truth = vs.info["ground_truth"]
    labels = vs.info["volume_labels"]
    runs = labels["run"].to_numpy()
    nuisance = [(runs == r).astype(float) for r in np.unique(runs)]
    t = labels["time"].to_numpy()
    nuisance += [
        (runs == r) * np.cos(np.pi * k * t / t[runs == r].max())
        for r in np.unique(runs)
        for k in (1, 2, 3)
    ]
    design = np.column_stack([truth["design"], *nuisance])
    Y = vs.masked().T
    beta = np.linalg.lstsq(design, Y / Y.mean(0) * 100, rcond=None)[0][:4]
    roi = truth["roi"][vs.mask]
    for k in range(4):
        r = np.corrcoef(beta[k, roi], truth["patterns"][k, roi])[0, 1]
        assert r > 0.7


# ---------------------------------------------------------------------- spiking
@pytest.mark.parametrize("dynamics", ["rotational", "lorenz"])
def test_latent_population_shapes_and_recoverable_latents(dynamics):
    pop = simulate_latent_population(dynamics=dynamics, seed=0)
    assert pop.counts.shape == (100, 50, 50) and pop.counts.dtype.kind == "i"
    assert pop.rates.shape == pop.counts.shape and pop.latents.shape == (100, 50, 3)
    assert pop.behavior.shape == (100, 50, 2) and pop.behaviour is pop.behavior
    assert pop.conditions.shape == (100,) and set(pop.conditions) == set(range(8))
    rates = pop.rates.reshape(-1, 50)
    z = pop.latents.reshape(-1, 3)
    assert LinearRegression().fit(rates, z).score(rates, z) > 0.9
    assert (
        LinearRegression().fit(z, pop.behavior.reshape(-1, 2)).score(z, pop.behavior.reshape(-1, 2))
        > 0.9
    )
    # counts are Poisson around the rates: mean matches, rates stay physiological
    np.testing.assert_allclose(pop.counts.mean(), (pop.rates * pop.bin_size).mean(), rtol=0.05)
    assert 5 < pop.rates.mean() < 50 and pop.rates.max() < 500
    # trial-averaged counts per condition carry the latent trajectory
    cond0 = pop.conditions == 0
    psth = pop.counts[cond0].mean(0)
    assert np.corrcoef(psth.ravel(), pop.rates[cond0].mean(0).ravel())[0, 1] > 0.5


def test_latent_population_to_dataset():
    pop = simulate_latent_population(n_neurons=7, n_trials=16, n_bins=20, seed=0)
    ds = pop.to_dataset()
    assert ds.X.shape == (16, 7, 20) and ds.sfreq == 100.0
    np.testing.assert_array_equal(ds.X[3, 2], pop.counts[3, :, 2])
    np.testing.assert_array_equal(ds.y, pop.conditions)
    assert ds.metadata["segment"].nunique() == 16
    assert pop.to_dataset("rates").X.max() == pop.rates.max()


def test_spikes_to_calcium_is_an_ar1_kernel_of_the_spikes():
    pop = simulate_latent_population(seed=0)
    sfreq, tau, amp = 1 / pop.bin_size, 0.4, 0.2
    clean = spikes_to_calcium(pop.counts, sfreq, tau, amp, noise=0.0, axis=1)
    assert clean.shape == pop.counts.shape
    g = np.exp(-1 / (tau * sfreq))
    # deconvolution recovers the spikes exactly
    np.testing.assert_allclose(
        clean[:, 1:] - g * clean[:, :-1], amp * pop.counts[:, 1:], atol=1e-10
    )
    noisy = spikes_to_calcium(pop.counts, sfreq, tau, amp, noise=0.05, axis=1, seed=1)
    r = np.corrcoef(noisy.ravel(), pop.counts.ravel())[0, 1]
    r_shuffled = np.corrcoef(noisy.ravel(), np.roll(pop.counts, 25, axis=1).ravel())[0, 1]
    assert r > 0.15 and r > r_shuffled + 0.1
    assert abs((noisy - clean).std() - 0.05) < 0.005


# ---------------------------------------------------------------------- bad input
BAD = [
    (simulate_motor_imagery, {"n_subjects": 0}, "n_subjects"),
    (simulate_motor_imagery, {"n_trials": 2.5}, "n_trials"),
    (simulate_motor_imagery, {"n_channels": 100}, "n_channels"),
    (simulate_motor_imagery, {"effect_size": 1.0}, "effect_size"),
    (simulate_motor_imagery, {"effect_size": -0.1}, "effect_size"),
    (simulate_motor_imagery, {"n_classes": 4}, "n_classes"),
    (simulate_motor_imagery, {"sfreq": 10.0}, "sfreq"),
    (simulate_motor_imagery, {"trial_duration": 0.05}, "trial_duration"),
    (simulate_motor_imagery, {"seed": -1}, "seed"),
    (simulate_motor_imagery, {"seed": "a"}, "seed"),
    (simulate_evoked, {"tmax": -0.5}, "tmax"),
    (simulate_evoked, {"target_ratio": 1.0}, "target_ratio"),
    (simulate_continuous_seizures, {"duration_hours": 0.01}, "duration_hours"),
    (simulate_continuous_seizures, {"seizures_per_hour": -1}, "seizures_per_hour"),
    (simulate_continuous_seizures, {"n_channels": 1}, "n_channels"),
    (simulate_fmri, {"shape": (10, 10)}, "shape"),
    (simulate_fmri, {"shape": (10, 2, 4)}, "shape"),
    (simulate_fmri, {"n_categories": 1}, "n_categories"),
    (simulate_fmri, {"block_duration": 1.0}, "block_duration"),
    (simulate_latent_population, {"dynamics": "chaos"}, "dynamics"),
    (simulate_latent_population, {"dynamics": "lorenz", "n_latents": 2}, "n_latents"),
    (simulate_latent_population, {"bin_size": 0}, "bin_size"),
    (spm_hrf, {"tr": 0}, "tr"),
]


@pytest.mark.parametrize(
    ("func", "kwargs", "match"), BAD, ids=[f"{f.__name__}-{m}" for f, _, m in BAD]
)
def test_bad_parameters_name_the_parameter(func, kwargs, match):
    args = {"tr": 2.0, **kwargs} if func is spm_hrf else kwargs
    with pytest.raises(ConfigError, match=match) as err:
        func(**args)
    assert isinstance(err.value, ValueError) and "got" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"counts": np.zeros(0), "sfreq": 10.0}, "counts"),
        ({"counts": np.array([np.nan, 1.0]), "sfreq": 10.0}, "counts"),
        ({"counts": np.zeros(5), "sfreq": 0.0}, "sfreq"),
        ({"counts": np.zeros(5), "sfreq": 10.0, "tau_decay": -1}, "tau_decay"),
        ({"counts": np.zeros(5), "sfreq": 10.0, "axis": 1}, "axis"),
    ],
)
def test_spikes_to_calcium_bad_input(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        spikes_to_calcium(**kwargs)
