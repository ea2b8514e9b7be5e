"""Self-supervised pretraining (relative positioning, temporal shuffling, contrastive), fine-tuning,
linear probing, and what may enter pretraining."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from neurodl.estimators.pretext_tasks import contrastive_objective, draw_pairs, draw_triplets
from neurodl.estimators.pretraining import FineTunedClassifier, SSLPretrainer
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models import build_model
from neurodl.models.pretext import FeatureExtractor

#: a small ShallowConvNet for 64-sample windows
SMALL = {
    "n_filters_time": 6,
    "n_filters_spat": 6,
    "filter_time_length": 9,
    "pool_time_length": 16,
    "pool_time_stride": 8,
}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _drifting_recordings(n_rec=4, n_win=40, seed=0):
    """Windows whose channel-0 amplitude drifts slowly along each recording (1 window/s)."""
    rng = np.random.default_rng(seed)
    X, rec, onset = [], [], []
    for r in range(n_rec):
        amp = np.geomspace(0.2, 4.0, n_win)[:: 1 if r % 2 else -1]
        for k in range(n_win):
            w = rng.standard_normal((2, 64)) * 0.3
            w[0] += amp[k] * np.sin(2 * np.pi * 8 * np.arange(64) / 64 + rng.uniform(0, 6.3))
            X.append(w)
            rec.append(r)
            onset.append(float(k))
    return np.asarray(X, np.float32), np.asarray(rec), np.asarray(onset)


@pytest.mark.parametrize(
    ("model", "params", "n_times"), [("shallow", SMALL, 64), ("eegnet", {"F1": 4, "F2": 8}, 64)]
)
def test_feature_extractor_is_the_head_input(model, params, n_times):
    torch.manual_seed(0)
    net = build_model(model, n_chans=3, n_times=n_times, n_outputs=2, sfreq=64.0, **params).eval()
    x = torch.randn(5, 3, n_times)
    feats = FeatureExtractor(net, model)(x)
    logits = net(x)
    if model == "eegnet":  # its head applies a max-norm constraint to the weights
        from neurodl.models._layers import max_norm

        expect = torch.nn.functional.linear(feats, max_norm(net.head.weight, 0.25), net.head.bias)
    else:
        expect = net.head(feats)
    torch.testing.assert_close(expect, logits)


def test_pairs_and_triplets_respect_tau_and_recordings():
    rec = np.repeat([0, 1], 50)
    onset = np.tile(np.arange(50.0), 2)
    rng = np.random.default_rng(0)
    idx, lab = draw_pairs(rec, onset, 200, 5.0, 20.0, rng)
    i, j = idx[:, 0].astype(int), idx[:, 1].astype(int)
    gap = np.abs(onset[i] - onset[j])
    assert (rec[i] == rec[j]).all()
    assert (gap[lab == 1] <= 5).all() and (gap[lab == 0] >= 20).all()
    assert lab.sum() == 100
    idx, lab = draw_triplets(rec, onset, 100, 6.0, rng)
    t = onset[idx.astype(int)]
    ordered = (np.diff(t, axis=1) > 0).all(1)
    assert (ordered == (lab == 1)).all() and 0 < lab.sum() < 100
    assert (t.max(1) - t.min(1) <= 6).all()


def test_contrastive_loss_matches_a_numpy_nt_xent():
    """With identity encoder/head and views x and -x, the loss equals NT-Xent written out."""

    class Views:
        def __init__(self):
            self.k = 0

        def __call__(self, x, y, gen):
            self.k += 1
            return type("B", (), {"x": x if self.k % 2 else -x + 0.5})()

    class Ident(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Flatten()
            self.pretext_head = torch.nn.Identity()

    rng = np.random.default_rng(0)
    W = torch.tensor(rng.standard_normal((4, 1, 3)), dtype=torch.float32)
    obj = contrastive_objective(W, Views(), 0.5, 0)
    ctx = type("C", (), {"step": 0})()
    got = obj(Ident(), torch.arange(4.0)[:, None], torch.zeros(4), ctx).numpy()
    z = np.concatenate([W.numpy().reshape(4, 3), -W.numpy().reshape(4, 3) + 0.5])
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T / 0.5
    loss = np.empty(8)
    for a in range(8):
        pos = (a + 4) % 8
        others = [b for b in range(8) if b != a]
        loss[a] = -sim[a, pos] + np.log(np.exp(sim[a, others]).sum())
    np.testing.assert_allclose(got, 0.5 * (loss[:4] + loss[4:]), rtol=1e-5)


@pytest.mark.parametrize(
    ("objective", "loss_below"), [("relative_positioning", 0.5), ("temporal_shuffling", 0.65)]
)
def test_pretext_task_is_learned_on_a_slow_drift(objective, loss_below):
    """Windows close in time share their amplitude: the pretext loss falls below ln 2 = 0.69
    (temporal order from |differences| is only partly separable: a smaller drop)."""
    X, rec, onset = _drifting_recordings()
    pre = SSLPretrainer(
        "shallow",
        model_params=SMALL,
        objective=objective,
        tau_pos=3.0,
        tau_neg=12.0,
        max_epochs=20,
        lr=3e-3,
        examples_per_window=2.0,
    ).fit(X, recordings=rec, onsets=onset)
    losses = [h["train_loss"] for h in pre.history_]
    assert losses[0] > 0.6 and min(losses[-3:]) < loss_below
    assert pre.encoder_.n_windows == len(X) and pre.n_examples_ == 2 * len(X)


def test_finetune_probe_and_scratch_learn_a_planted_class_effect():
    rng = np.random.default_rng(1)
    X, _, _ = _drifting_recordings(seed=1)
    y = rng.integers(0, 2, len(X))
    t = np.arange(64) / 64
    X[y == 1, 1] += 1.5 * np.sin(2 * np.pi * 16 * t)  # class 1: a 16 Hz rhythm on channel 1
    tr, te = np.arange(120), np.arange(120, 160)
    pre = SSLPretrainer("shallow", model_params=SMALL, objective="contrastive", sfreq=64.0)
    pre.set_params(max_epochs=3, augment=[{"name": "gaussian_noise", "p": 1.0, "std": 0.1}])
    pre.fit(X[tr])
    enc = pre.encoder_
    for clf in (
        FineTunedClassifier(enc, n_steps=60, lr=3e-3),
        FineTunedClassifier(enc, mode="linear_probe"),
        FineTunedClassifier(None, model_params=SMALL, n_steps=60, lr=3e-3),
    ):
        clf.fit(X[tr], y[tr])
        assert clf.score(X[te], y[te]) > 0.8
        assert clf.predict_proba(X[te]).shape == (40, 2)
    # fine-tuning never changes the pretrained encoder it started from
    x = torch.from_numpy(X[:4])
    before = FeatureExtractor(enc.network, "shallow").eval()(x)
    FineTunedClassifier(enc, n_steps=10).fit(X[tr], y[tr])
    torch.testing.assert_close(FeatureExtractor(enc.network, "shallow").eval()(x), before)


def test_clone_keeps_the_pretrained_encoder():
    X, _, _ = _drifting_recordings(n_rec=1, n_win=20)
    pre = SSLPretrainer("shallow", model_params=SMALL, objective="contrastive", max_epochs=1)
    enc = pre.fit(X).encoder_
    copy = clone(FineTunedClassifier(enc, mode="linear_probe"))
    assert copy.pretrained is not None and copy.pretrained.n_windows == 20


def _fitted_encoder(ch_names=None, n_chans=2):
    X = np.random.default_rng(0).standard_normal((20, n_chans, 64)).astype(np.float32)
    pre = SSLPretrainer("shallow", model_params=SMALL, objective="contrastive", max_epochs=1)
    return pre.fit(X, ch_names=ch_names).encoder_


@pytest.mark.parametrize(
    ("X_shape", "ch_names", "match"),
    [
        ((10, 3, 64), None, r"pretrained on 2 channels \['C3', 'C4'\]; got 3 channels"),
        ((10, 2, 64), ["C4", "C3"], r"another channel layout.*\['C3', 'C4'\]"),
        ((10, 2, 80), None, "80 samples.*64-sample"),
    ],
)
def test_finetune_data_with_another_layout_is_refused(X_shape, ch_names, match):
    enc = _fitted_encoder(ch_names=["C3", "C4"])
    X = np.zeros(X_shape, np.float32)
    with pytest.raises(DataFormatError, match=match):
        FineTunedClassifier(enc).fit(X, np.arange(X_shape[0]) % 2, ch_names=ch_names)


@pytest.mark.parametrize(
    ("params", "fit_kw", "err", "match"),
    [
        ({"objective": "jigsaw"}, {}, ConfigError, "'objective'.*'contrastive'.*got 'jigsaw'"),
        ({"model": "deep4"}, {}, ConfigError, "'model'.*'shallow', 'eegnet'; got 'deep4'"),
        ({"tau_neg": 5.0, "tau_pos": 10.0}, {}, ConfigError, "'tau_neg'.*> tau_pos"),
        ({"max_epochs": 0}, {}, ConfigError, "'max_epochs'.*int >= 1"),
        ({}, {}, DataFormatError, "needs 'recordings' and 'onsets'"),
        (
            {"tau_pos": 1.0, "tau_neg": 500.0},
            {"recordings": np.zeros(20), "onsets": np.arange(20.0)},
            DataFormatError,
            "No far window pairs",
        ),
    ],
)
def test_bad_pretraining_input(params, fit_kw, err, match):
    X = np.zeros((20, 2, 64), np.float32)
    with pytest.raises(err, match=match):
        SSLPretrainer(model_params=SMALL, **params).fit(X, **fit_kw)


def test_bad_finetune_input():
    X, y = np.zeros((10, 2, 64), np.float32), np.arange(10) % 2
    with pytest.raises(ConfigError, match="'linear_probe' needs a pretrained encoder"):
        FineTunedClassifier(None, mode="linear_probe").fit(X, y)
    with pytest.raises(ConfigError, match=r"'mode'.*got 'probe'"):
        FineTunedClassifier(None, mode="probe").fit(X, y)
    with pytest.raises(ConfigError, match=r"'pretrained'.*got SSLPretrainer"):
        FineTunedClassifier(SSLPretrainer()).fit(X, y)


def test_eegnet_encoder_pretrains_finetunes_and_probes():
    X, rec, onset = _drifting_recordings(n_rec=2, n_win=20)
    y = np.arange(len(X)) % 2
    pre = SSLPretrainer(
        "eegnet",
        model_params={"F1": 4, "F2": 8},
        objective="relative_positioning",
        sfreq=64.0,
        tau_pos=3.0,
        tau_neg=8.0,
        max_epochs=1,
    ).fit(X, recordings=rec, onsets=onset)
    assert pre.transform(X[:5]).shape == (5, pre.encoder_.network.head.in_features)
    for mode in ("finetune", "linear_probe"):
        clf = FineTunedClassifier(pre.encoder_, mode=mode, n_steps=3).fit(X, y)
        assert clf.predict_proba(X[:3]).shape == (3, 2)


def test_subject_aware_contrastive_batches_hold_one_subject(monkeypatch):
    import neurodl.estimators.pretraining as pretraining

    seen: list[set] = []
    original = pretraining.contrastive_objective

    def recording(windows, aug, temperature, seed):
        inner = original(windows, aug, temperature, seed)

        def objective(model, xb, yb, ctx):
            if ctx.training:
                seen.append(set(subjects[xb[:, 0].long().numpy()].tolist()))
            return inner(model, xb, yb, ctx)

        return objective

    monkeypatch.setattr(pretraining, "contrastive_objective", recording)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((36, 2, 100)).astype("float32")
    subjects = np.repeat(["a", "b", "c"], 12)
    params = {"pool_time_length": 20, "pool_time_stride": 10}
    pre = SSLPretrainer(
        "shallow", model_params=params, objective="contrastive", max_epochs=2, batch_size=8,
        sfreq=100.0, batch_by_group=True,
    ).fit(X, groups=subjects)
    assert len(pre.history_) == 2
    assert len(seen) == 2 * 3 * 2 and all(len(s) == 1 for s in seen)  # 12 = 8 + 4 per subject
    seen.clear()
    SSLPretrainer(
        "shallow", model_params=params, objective="contrastive", max_epochs=2, batch_size=8,
        sfreq=100.0,
    ).fit(X)
    assert any(len(s) > 1 for s in seen)  # without it, negatives come from every subject
    with pytest.raises(DataFormatError, match="batch_by_group=True needs 'groups'"):
        SSLPretrainer(objective="contrastive", batch_by_group=True).fit(X)
