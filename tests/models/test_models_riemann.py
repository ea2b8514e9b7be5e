"""TangentSpaceNet ("tangent_mlp"): covariance and tangent-space oracles, shapes, a planted
cross-subject effect after per-subject re-centring, and adaptation that sees only test X."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurodl.data import EpochsDataset
from neurodl.estimators import NeuralClassifier, _neural_base
from neurodl.evaluation import adapt_dataset
from neurodl.exceptions import ConfigError
from neurodl.models import build_model
from neurodl.models.riemann import TangentSpaceNet, oas_covariances, tangent_vectors


def test_covariances_and_tangent_vectors_match_sklearn_and_pyriemann() -> None:
    from pyriemann.tangentspace import TangentSpace
    from sklearn.covariance import oas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 80)) * rng.uniform(0.5, 3.0, size=(1, 5, 1))
    cov = oas_covariances(torch.as_tensor(x)).numpy()
    ref = np.stack([oas(xi.T)[0] for xi in x])
    np.testing.assert_allclose(cov, ref, rtol=1e-10, atol=1e-12)
    vec = tangent_vectors(torch.as_tensor(cov)).numpy()
    ts = TangentSpace(metric="riemann").fit(np.stack([np.eye(5)] * 2))  # reference = identity
    np.testing.assert_allclose(vec, ts.transform(cov), rtol=1e-6, atol=1e-8)


def test_shapes_members_bimap_and_bad_parameters() -> None:
    torch.manual_seed(0)
    net = build_model("tangent_mlp", n_chans=8, n_times=100, n_outputs=3, n_spatial=4, n_members=3)
    assert isinstance(net, TangentSpaceNet)
    assert net.n_features_ == 10 and len(net.heads) == 3
    out = net(torch.randn(7, 8, 100))
    assert out.shape == (7, 3)
    out.sum().backward()  # gradients reach the bilinear map through the eigendecomposition
    assert net.bimap.grad is not None and torch.isfinite(net.bimap.grad).all()
    lin = build_model("tangent_mlp", n_chans=8, n_times=100, n_outputs=2, n_hidden=0)
    assert isinstance(lin.heads[0], torch.nn.Linear) and lin.n_features_ == 36
    with pytest.raises(ConfigError, match="n_spatial"):
        build_model("tangent_mlp", n_chans=8, n_times=100, n_outputs=2, n_spatial=9)
    with pytest.raises(ConfigError, match="n_hidden"):
        build_model("tangent_mlp", n_chans=8, n_times=100, n_outputs=2, n_hidden=-1)


def _subjects(n_subj: int = 5, n_per: int = 40, n_chans: int = 6, n_times: int = 256):
    """Class 1 = more power in one source; every subject mixes the sources differently."""
    rng = np.random.default_rng(1)
    Xs, ys, subj = [], [], []
    for g in range(n_subj):
        mix = np.eye(n_chans) + 0.6 * rng.normal(size=(n_chans, n_chans))
        gain = rng.uniform(0.3, 3.0, size=n_chans)
        y = np.repeat([0, 1], n_per // 2)
        S = rng.normal(size=(n_per, n_chans, n_times))
        S[:, 0] *= np.where(y == 1, 1.7, 1.0)[:, None]
        Xs.append(gain[:, None] * np.einsum("ij,njt->nit", mix, S))
        ys.append(y)
        subj += [f"s{g}"] * n_per
    md = pd.DataFrame({"subject": subj})
    return EpochsDataset(np.concatenate(Xs).astype(np.float32), np.concatenate(ys), md, 128.0)


def _clf(**kw) -> NeuralClassifier:
    return NeuralClassifier(
        "tangent_mlp",
        model_params={"n_hidden": 16, "drop_prob": 0.2},
        max_epochs=25,
        batch_size=32,
        lr=3e-3,
        validation_fraction=None,
        early_stopping=False,
        random_state=0,
        device="cpu",
        num_threads=1,
        **kw,
    )


def test_planted_effect_transfers_to_a_new_subject_after_recentring(monkeypatch) -> None:
    ds = _subjects()
    rec, record = adapt_dataset(
        ds, [{"name": "riemannian_recentring", "by": "subject"}], unlabelled_test_data=True
    )
    assert record["steps"][0]["n_groups"] == 5
    test = (ds.metadata["subject"] == "s4").to_numpy()
    seen = []
    real = _neural_base.adapt_batchnorm

    def spy(net, X, **kw):
        seen.append(np.array(X, copy=True))
        return real(net, X, **kw)

    monkeypatch.setattr(_neural_base, "adapt_batchnorm", spy)
    clf = _clf(adaptive_bn=True).fit(rec.X[~test], rec.y[~test])
    acc = float((clf.predict(rec.X[test]) == rec.y[test]).mean())
    assert acc > 0.85
    # the adaptation saw exactly the test subject's signals, and nothing else (no labels)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], rec.X[test])


def test_recentring_of_the_test_subject_uses_neither_its_labels_nor_touches_training() -> None:
    ds = _subjects(n_subj=3)
    steps = [{"name": "riemannian_recentring", "by": "subject"}]
    rec, _ = adapt_dataset(ds, steps, unlabelled_test_data=True)
    test = (ds.metadata["subject"] == "s2").to_numpy()
    y2 = ds.y.copy()
    y2[test] = 1 - y2[test]  # the test subject's labels flipped
    X2 = np.asarray(ds.X).copy()
    X2[test] *= 5.0  # and its signals changed
    other = EpochsDataset(X2, y2, ds.metadata, ds.sfreq)
    rec2, _ = adapt_dataset(other, steps, unlabelled_test_data=True)
    np.testing.assert_allclose(rec2.X[~test], rec.X[~test], rtol=1e-6)  # training untouched
    np.testing.assert_allclose(rec2.X[test], rec.X[test], rtol=1e-4, atol=1e-6)  # gain removed


def test_tangent_batch_norm_keeps_coordinate_ratios_and_adapts_like_batch_norm():
    import numpy as np

    from neurodl.estimators.torch_engine.adaptation import adapt_batchnorm
    from neurodl.models.riemann import TangentBatchNorm

    torch.manual_seed(0)
    bn = TangentBatchNorm(3)
    train = torch.randn(400, 3) * torch.tensor([1.0, 2.0, 4.0])
    for _ in range(150):  # running statistics converge to the training ones
        bn(train)
    scalar = (train - train.mean(0)).pow(2).mean()
    assert torch.allclose(bn.running_var, scalar.expand(3), rtol=1e-3)
    target = torch.randn(200, 3) * torch.tensor([1.0, 2.0, 4.0]) * 3.0 + 5.0  # one batch
    adapted = adapt_batchnorm(torch.nn.Sequential(bn), target.numpy())[0]
    assert torch.allclose(adapted.running_mean, target.mean(0), atol=1e-4)
    t_scalar = (target - target.mean(0)).pow(2).mean()
    assert torch.allclose(adapted.running_var, t_scalar.expand(3), rtol=1e-4)
    out = adapted(target)  # eval mode: the target standardised by one dispersion
    assert np.isclose(out.pow(2).mean().item(), 1.0, atol=1e-3)
    ratio = (out.std(0) / target.std(0)).detach().numpy()
    assert np.allclose(ratio, ratio[0], rtol=1e-5)  # the same factor on every coordinate


def test_tangent_networks_take_the_scalar_norm_and_refuse_an_unknown_one():
    import pytest

    from neurodl.exceptions import ConfigError
    from neurodl.models import build_model
    from neurodl.models.riemann import TangentBatchNorm

    for name in ("tangent_mlp", "tsmnet"):
        net = build_model(name, n_chans=4, n_times=64, n_outputs=2, norm="scalar")
        assert isinstance(net.bnorm, TangentBatchNorm)
        assert net(torch.randn(5, 4, 64)).shape == (5, 2)
        with pytest.raises(ConfigError, match=r"'norm'\. Allowed: 'feature', 'scalar'; got 'x'"):
            build_model(name, n_chans=4, n_times=64, n_outputs=2, norm="x")
