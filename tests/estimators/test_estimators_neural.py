"""NeuralClassifier / NeuralRegressor: training engine behaviour on tiny planted problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurodl.estimators.neural import NeuralClassifier, NeuralRegressor
from neurodl.estimators.torch_engine import (
    DivergenceError,
    epoch_permutation,
    eval_crop_starts,
)
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models.registry import MODELS, register_model


# ----------------------------------------------------------------------- test-only models
class NaNAfter(nn.Module):
    """Linear read-out whose training forward returns NaN from the ``after``-th call on."""

    def __init__(self, n_chans, n_times, n_outputs, *, sfreq=None, after=10**9):
        super().__init__()
        self.head = nn.Linear(n_chans * n_times, n_outputs)
        self.after = after
        self.calls = 0

    def forward(self, x):
        out = self.head(x.flatten(1))
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                out = out * float("nan")
        return out


class LogVarNet(nn.Module):
    """Spatial filters -> log-variance over time -> linear: a tiny CSP-like network."""

    def __init__(self, n_chans, n_times, n_outputs, *, sfreq=None, n_filters=4):
        super().__init__()
        self.spatial_conv = nn.Conv1d(n_chans, n_filters, kernel_size=1, bias=False)
        self.head = nn.Linear(n_filters, n_outputs)

    def forward(self, x):
        z = self.spatial_conv(x)
        return self.head(torch.log(z.var(dim=-1) + 1e-6))


for _name, _cls in (("test_nan_after", NaNAfter), ("test_logvar", LogVarNet)):
    if _name not in MODELS:
        register_model(_name)(_cls)


def _planted(n=64, n_chans=3, n_times=16, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, n_chans, n_times)).astype(np.float32)
    X[y == 1, 0] += shift
    return X, y


def _weights(est):
    return {k: v.detach().clone() for k, v in est.model_.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


FAST = {
    "max_epochs": 6,
    "batch_size": 16,
    "lr": 0.02,
    "device": "cpu",
    "random_state": 0,
    "num_threads": 1,  # tiny networks: threads only add overhead (and contention under xdist)
}


# ----------------------------------------------------------------------- basic behaviour
def test_classifier_learns_planted_effect_and_sets_attributes():
    X, y = _planted()
    clf = NeuralClassifier("mlp", {"n_hidden": 8}, **FAST).fit(X, np.array(["a", "b"])[y])
    assert clf.score(X, np.array(["a", "b"])[y]) > 0.9
    assert clf.classes_.tolist() == ["a", "b"]
    assert (clf.n_chans_, clf.n_times_, clf.n_features_in_) == (3, 16, 3)
    proba = clf.predict_proba(X)
    assert proba.shape == (64, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-9)
    assert len(clf.history_) == clf.n_epochs_ <= 6
    rec = clf.history_[0]
    assert {"epoch", "train_loss", "valid_loss", "valid_accuracy", "lr"} <= set(rec)
    assert clf.n_valid_ == round(0.2 * 64) and clf.n_train_ == 64 - clf.n_valid_
    # mixed precision and channels-last are GPU-only: off on CPU
    assert clf.device_ == "cpu" and clf.mixed_precision_ is False
    # __init__ only stores parameters; fit leaves them untouched
    assert clf.get_params()["model_params"] == {"n_hidden": 8}


def test_two_d_mode_is_one_channel():
    X, y = _planted(n_chans=1)
    clf = NeuralClassifier("linear", **FAST).fit(X[:, 0], y)
    assert (clf.n_chans_, clf.n_times_, clf.input_ndim_) == (1, 16, 2)
    with pytest.raises(DataFormatError, match="fitted on 2-D"):
        clf.predict(X)


def test_regressor_matches_least_squares_direction():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    coef = np.array([1.0, -2.0, 0.5, 0.0])
    y = X @ coef + 3.0
    reg = NeuralRegressor(
        "linear",
        max_epochs=40,
        batch_size=16,
        lr=0.05,
        device="cpu",
        random_state=0,
        validation_fraction=0.0,
        weight_decay=0.0,
        num_threads=1,
    ).fit(X, y)
    assert reg.score(X, y) > 0.98
    # oracle: the network's effective coefficients equal ordinary least squares (numpy lstsq)
    w = reg.model_.head.weight.detach().numpy().ravel() * reg.y_scale_[0]
    ols = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0][:4]
    np.testing.assert_allclose(w, ols, atol=0.1)
    y2 = np.c_[y, -y]
    reg2 = NeuralRegressor("linear", max_epochs=3, device="cpu", random_state=0, num_threads=1)
    reg2.fit(X, y2)
    assert reg2.predict(X).shape == (120, 2)
    assert {"valid_loss", "valid_r2"} <= set(reg2.history_[-1])
    # the recorded validation R^2 is sklearn's r2_score on the inner validation split
    from sklearn.metrics import r2_score

    _, va = reg2._valid_split(y2[:, 0], None, reg2.seed_)
    # the final weights are the best epoch's (early stopping restores them)
    z = (y2[va] - reg2.y_mean_) / reg2.y_scale_
    z_hat = (reg2.predict(X[va]) - reg2.y_mean_) / reg2.y_scale_
    best = reg2.history_[reg2.best_epoch_]
    np.testing.assert_allclose(best["valid_r2"], r2_score(z, z_hat), rtol=1e-5)


def test_auto_device():
    X, y = _planted()
    clf = NeuralClassifier("linear", **{**FAST, "device": "auto"}).fit(X, y)
    assert clf.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


def test_same_seed_same_weights_and_caller_rng_untouched():
    X, y = _planted()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = NeuralClassifier("mlp", {"dropout": 0.3}, **FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    b = NeuralClassifier("mlp", {"dropout": 0.3}, **FAST).fit(X, y)
    _assert_same_weights(_weights(a), _weights(b))
    c = NeuralClassifier("mlp", {"dropout": 0.3}, **{**FAST, "random_state": 1}).fit(X, y)
    assert not torch.equal(_weights(a)["hidden.weight"], _weights(c)["hidden.weight"])
    assert not torch.are_deterministic_algorithms_enabled()  # restored after fit


def test_num_threads_is_restored():
    X, y = _planted()
    before = torch.get_num_threads()
    clf = NeuralClassifier("linear", **{**FAST, "num_threads": before + 1}).fit(X, y)
    assert torch.get_num_threads() == before
    clf.predict(X)
    assert torch.get_num_threads() == before


def test_inner_validation_split_respects_groups():
    X, y = _planted(n=80)
    groups = np.repeat(np.arange(10), 8)
    est = NeuralClassifier("linear", **FAST)
    tr, va = est._valid_split(y, groups, seed=0)
    assert set(groups[tr]).isdisjoint(groups[va]) and len(va) > 0
    _, va2 = est._valid_split(y, None, seed=0)  # stratified without groups
    assert np.bincount(y[va2]).tolist() == [8, 8]
    est.fit(X, y, groups=groups)
    assert est.n_valid_ == len(va)


def test_early_stopping_restores_best_epoch():
    X, y = _planted(shift=0.3)
    y = np.random.default_rng(5).permutation(y)  # noise labels: validation loss soon rises
    clf = NeuralClassifier(
        "mlp",
        {"n_hidden": 64},
        max_epochs=60,
        patience=3,
        batch_size=16,
        lr=0.05,
        device="cpu",
        random_state=0,
        schedule=None,
    ).fit(X, y)
    assert clf.stopped_reason_ == "early_stopping"
    losses = [r["valid_loss"] for r in clf.history_]
    assert clf.best_epoch_ == int(np.argmin(losses))
    assert clf.n_epochs_ == clf.best_epoch_ + 4
    # the restored weights reproduce the best epoch's validation loss
    _, va = clf._valid_split(y, None, clf.seed_)
    p = clf.predict_proba(X[va])[np.arange(len(va)), y[va]]
    np.testing.assert_allclose(-np.log(p).mean(), min(losses), rtol=1e-5)


def test_balanced_class_weight_changes_the_loss():
    X, y = _planted(n=64)
    keep = np.r_[np.arange(32), np.arange(32, 40)]  # 32 vs 8
    base = {**FAST, "validation_fraction": 0.0}
    a = NeuralClassifier("linear", **base).fit(X[keep], y[keep])
    b = NeuralClassifier("linear", class_weight="balanced", **base).fit(X[keep], y[keep])
    c = NeuralClassifier("linear", class_weight={0: 1.0, 1: 4.0}, **base).fit(X[keep], y[keep])
    assert not torch.equal(_weights(a)["head.weight"], _weights(b)["head.weight"])
    # sklearn's "balanced" weights for 32/8 are 0.625/2.5: the same ratio as {0: 1, 1: 4}
    assert a.history_[0]["train_loss"] != b.history_[0]["train_loss"]
    torch.testing.assert_close(_weights(b)["head.weight"], _weights(c)["head.weight"])


def test_epoch_order_is_what_distributed_sampler_draws():
    from torch.utils.data import DistributedSampler

    s = DistributedSampler(range(10), num_replicas=1, rank=0, shuffle=True, seed=7)
    s.set_epoch(3)
    assert list(s) == epoch_permutation(10, 7, 3).tolist()


# ----------------------------------------------------------------------- cropped training
def test_eval_crop_scheme():
    assert eval_crop_starts(10, 4, 3) == [0, 3, 6]
    assert eval_crop_starts(10, 4, 4) == [0, 4, 6]
    assert eval_crop_starts(4, 4, 2) == [0]


def test_cropped_prediction_averages_crop_probabilities():
    X, y = _planted(n_times=20)
    clf = NeuralClassifier("mlp", cropped=True, crop_len=8, crop_stride=5, **FAST).fit(X, y)
    assert clf.model_.hidden.in_features == 3 * 8
    assert clf.score(X, y) > 0.85
    # oracle: softmax of each crop (starts 0, 5, 10, 12) averaged by hand
    with torch.no_grad():
        xt = torch.as_tensor(X[:5])
        crops = [torch.softmax(clf.model_(xt[..., s : s + 8]).double(), 1) for s in (0, 5, 10, 12)]
    np.testing.assert_allclose(clf.predict_proba(X[:5]), (sum(crops) / 4).numpy(), rtol=1e-6)
    # longer trials are fine in cropped mode; shorter than a crop are not
    assert clf.predict(np.concatenate([X, X], axis=-1)).shape == (64,)
    with pytest.raises(DataFormatError, match="crop_len=8"):
        clf.predict(X[..., :6])


# ----------------------------------------------------------------------- divergence guard
def test_divergence_raises_clear_error():
    X, y = _planted()
    clf = NeuralClassifier("test_nan_after", {"after": 5}, **FAST)
    with pytest.raises(DivergenceError, match="diverged in epoch 1"):
        clf.fit(X, y)


def test_divergence_rollback_keeps_last_good_epoch():
    X, y = _planted()
    common = {**FAST, "validation_fraction": 0.0, "schedule": None, "max_epochs": 5}
    # 64 samples / 16 = 4 steps per epoch: NaN from step 9 on, i.e. in epoch 2 (0-based)
    bad = NeuralClassifier("test_nan_after", {"after": 8}, on_divergence="rollback", **common).fit(
        X, y
    )
    assert bad.stopped_reason_ == "diverged" and bad.n_epochs_ == 2
    good = NeuralClassifier("test_nan_after", **{**common, "max_epochs": 2}).fit(X, y)
    _assert_same_weights(_weights(bad), _weights(good))
    assert np.isfinite(bad.predict_proba(X)).all()


# ----------------------------------------------------------------------- checkpoint / resume
class _Interrupt(Exception):
    pass


def _interrupt_after(k):
    def cb(record):
        if record["epoch"] == k:
            raise _Interrupt

    return cb


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_interrupted_run_resumes_to_identical_weights(tmp_path, schedule):
    X, y = _planted()
    params = {
        **FAST,
        "max_epochs": 5,
        "schedule": schedule,
        "patience": 50,
        "model_params": {"dropout": 0.4, "n_hidden": 16},
    }
    full = NeuralClassifier("mlp", **params).fit(X, y)

    ckdir = tmp_path / "ckpt"
    interrupted = NeuralClassifier(
        "mlp", checkpoint_dir=ckdir, callbacks=[_interrupt_after(2)], **params
    )
    with pytest.raises(_Interrupt):
        interrupted.fit(X, y)
    files = [p for p in ckdir.iterdir() if p.suffix == ".pt"]  # + .sha256, .prev (checkpoint.py)
    assert len(files) == 1 and not [p for p in ckdir.iterdir() if p.suffix == ".tmp"]
    ckpt = torch.load(files[0], weights_only=True)
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 3

    resumed = NeuralClassifier("mlp", checkpoint_dir=ckdir, **params).fit(X, y)
    _assert_same_weights(_weights(full), _weights(resumed))
    assert [r["train_loss"] for r in resumed.history_] == [r["train_loss"] for r in full.history_]

    # a finished checkpoint is restored without training
    again = NeuralClassifier("mlp", checkpoint_dir=ckdir, callbacks=[_interrupt_after(0)], **params)
    again.fit(X, y)
    _assert_same_weights(_weights(full), _weights(again))
    # other data -> another fingerprint -> a fresh run, not a wrong resume
    other = NeuralClassifier("mlp", checkpoint_dir=ckdir, **params).fit(X[::-1].copy(), y[::-1])
    assert other.checkpoint_path_ != resumed.checkpoint_path_
    # resume=False ignores the checkpoint: interrupted again at epoch 0
    with pytest.raises(_Interrupt):
        NeuralClassifier(
            "mlp", checkpoint_dir=ckdir, resume=False, callbacks=[_interrupt_after(0)], **params
        ).fit(X, y)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    from neurodl.estimators.torch_engine import atomic_torch_save, load_checkpoint

    path = tmp_path / "c.pt"
    atomic_torch_save({"a": torch.ones(2)}, path)

    def fail_midway(obj, fh):
        fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        atomic_torch_save({"a": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))  # old one intact
    assert list(tmp_path.iterdir()) == [path]  # temporary file removed
    # a corrupt or foreign checkpoint is never resumed
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="refused: no content hash"):
        assert load_checkpoint(path, "any") is None


# ----------------------------------------------------------------------- evaluation layer
def test_cross_validate_runs_neural_classifier_above_chance():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurodl.data.simulate import simulate_motor_imagery
    from neurodl.evaluation import cross_validate
    from neurodl.preprocessing import LogBandPower

    ds = simulate_motor_imagery(
        n_subjects=1,
        n_sessions=1,
        n_trials=80,
        n_channels=8,
        sfreq=64.0,
        trial_duration=2.0,
        effect_size=0.8,
        seed=0,
    )
    clf = NeuralClassifier(
        "mlp",
        {"n_hidden": 16},
        max_epochs=20,
        batch_size=16,
        lr=0.01,
        validation_fraction=0.0,
        device="cpu",
        num_threads=1,
    )
    # log band power (2-D features, the estimators' 2-D mode) -> standardise -> network
    pipe = make_pipeline(
        LogBandPower(sfreq=64.0, bands=((8.0, 13.0), (18.0, 26.0))), StandardScaler(), clf
    )
    res = cross_validate(pipe, ds, "within-session", "balanced_accuracy", seed=0)
    assert res.n_folds == 5
    assert res.score > 0.7, res.scores  # 0.86 here; chance 0.5
    assert res.y_score is not None and res.y_score.shape == (80, 2)


# ----------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_epochs": 0}, ConfigError, "'max_epochs'. Allowed: an int >= 1; got 0"),
        ({"batch_size": 2.5}, ConfigError, "'batch_size'"),
        ({"lr": -1.0}, ConfigError, "'lr'. Allowed: a float > 0; got -1.0"),
        ({"schedule": "step"}, ConfigError, "'schedule'.*got 'step'"),
        ({"validation_fraction": 1.0}, ConfigError, "'validation_fraction'"),
        ({"on_divergence": "ignore"}, ConfigError, "'on_divergence'.*got 'ignore'"),
        ({"mixed_precision": "yes"}, ConfigError, "'mixed_precision'"),
        ({"class_weight": "auto"}, ConfigError, "'class_weight'.*got 'auto'"),
        ({"class_weight": {7: 2.0}}, ConfigError, r"classes \[7\] are not in"),
        ({"cropped": True}, ConfigError, "needs 'crop_len'"),
        ({"cropped": True, "crop_len": 99}, ConfigError, "'crop_len'. Allowed: <= n_times"),
        ({"device": "tpu"}, ConfigError, "'device'.*got 'tpu'"),
        ({"model": "nope"}, ConfigError, "Unknown model 'nope'"),
        ({"model_params": {"bogus": 1}}, ConfigError, "Invalid hyperparameters"),
        ({"callbacks": [1]}, ConfigError, "'callbacks'"),
        ({"num_threads": 0}, ConfigError, "'num_threads'. Allowed: None or an int >= 1; got 0"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    X, y = _planted()
    params = {"model": "mlp", **FAST, **kwargs}
    with pytest.raises(error, match=match):
        NeuralClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (np.zeros((4, 2, 3, 5)), [0, 1, 0, 1], DataFormatError, "got shape"),
        (np.full((4, 2, 3), np.nan), [0, 1, 0, 1], ValueError, "NaN"),
        (np.zeros((4, 2, 3)), [0, 0, 0, 0], ValueError, "at least 2 classes"),
        (np.zeros((4, 2, 3)), [0.5, 1.5, 0.1, 2.0], ValueError, "Unknown label type"),
    ],
)
def test_bad_data(X, y, error, match):
    with pytest.raises(error, match=match):
        NeuralClassifier("linear", **FAST).fit(X, np.asarray(y))


def test_predict_before_fit_and_wrong_length():
    from sklearn.exceptions import NotFittedError

    X, y = _planted()
    with pytest.raises(NotFittedError):
        NeuralClassifier("linear").predict(X)
    clf = NeuralClassifier("linear", **FAST).fit(X, y)
    with pytest.raises(DataFormatError, match="fitted on n_times=16"):
        clf.predict(X[..., :8])


# ----------------------------------------------------------------------- make_estimator
def test_make_estimator_resolves_classical_and_neural_names():
    from sklearn.pipeline import Pipeline

    from neurodl.estimators import is_neural, make_estimator

    assert isinstance(make_estimator("lda", seed=0, n_chans=3, sfreq=100.0), Pipeline)
    est = make_estimator(
        "mlp",
        seed=4,
        sfreq=128.0,
        n_chans=3,
        max_epochs=3,
        n_hidden=5,
        model_params={"dropout": 0.1},
    )
    assert isinstance(est, NeuralClassifier)
    assert est.get_params()["model_params"] == {"dropout": 0.1, "n_hidden": 5}
    assert (est.random_state, est.sfreq, est.max_epochs) == (4, 128.0, 3)
    reg = make_estimator("linear", seed=0, task="regression")
    assert isinstance(reg, NeuralRegressor)
    assert is_neural("mlp") and not is_neural("lda")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("nope", {}, "Unknown model 'nope'. Classical models: .*neural models: .*mlp"),
        ("mlp", {"task": "ranking"}, "'task'.*got 'ranking'"),
        ("lda", {"bogus": 1}, r"Unknown parameter\(s\) \['bogus'\]"),
    ],
)
def test_make_estimator_bad_input(name, params, match):
    from neurodl.estimators import make_estimator

    with pytest.raises(ConfigError, match=match):
        make_estimator(name, seed=0, **params)


def test_fingerprint_tells_large_array_params_apart():
    # numpy abbreviates reprs over 1000 elements: two masks that differ only in the middle
    # must still give different checkpoint fingerprints (no wrong resume)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2, 16)).astype(np.float32)
    y = np.array([0, 1] * 4)
    a = np.zeros(5000, bool)
    b = a.copy()
    b[2500] = True
    assert repr(a) == repr(b)
    fa = NeuralClassifier("mlp", model_params={"mask": a})._fingerprint(X, y, None, 0)
    fb = NeuralClassifier("mlp", model_params={"mask": b})._fingerprint(X, y, None, 0)
    fa2 = NeuralClassifier("mlp", model_params={"mask": a.copy()})._fingerprint(X, y, None, 0)
    assert fa != fb and fa == fa2


def test_input_in_volts_is_flagged(caplog):
    # EEG in volts (SD ~1e-5) makes networks predict one class: the fit says so, naming the SD
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2, 32)).astype(np.float32)
    y = np.array([0, 1] * 8)
    params = dict(max_epochs=1, validation_fraction=0.0, random_state=0)
    with caplog.at_level("WARNING", logger="neurodl"):
        est = NeuralClassifier("mlp", **params).fit(X * 1e-5, y)
    assert est.input_sd_ == pytest.approx(1e-5, rel=0.2)
    assert f"median per-channel SD of {est.input_sd_:.3g}" in caplog.text
    assert "standardize" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="neurodl"):
        est = NeuralClassifier("mlp", **params).fit(X, y)
    assert est.input_sd_ == pytest.approx(1.0, rel=0.2)
    assert "per-channel SD" not in caplog.text
