"""Activation extraction: hooks vs manual forward, reductions, cache keys, safe weight loading."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurodl.analyses.rsa.activations import extract_activations, load_weights, weights_hash  # noqa: E402
from neurodl.exceptions import ConfigError, DataFormatError  # noqa: E402


class TinyCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.head = torch.nn.Linear(16, 5)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        h = self.pool(self.relu(self.conv(x)))
        return self.head(h.flatten(1))


@pytest.fixture
def net():
    torch.manual_seed(0)
    return TinyCNN()


@pytest.fixture
def stimuli(rng):
    return rng.standard_normal((10, 3, 8, 8)).astype(np.float32)


def test_hooks_match_manual_forward(net, stimuli):
    acts = extract_activations(net, stimuli, ["conv", "head"], batch_size=3)
    with torch.no_grad():
        x = torch.as_tensor(stimuli)
        conv = net.conv(x).flatten(1).numpy()
        head = net(x).numpy()
    assert acts["conv"].shape == (10, 4 * 6 * 6)
    np.testing.assert_allclose(acts["conv"], conv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["head"], head, rtol=1e-5, atol=1e-6)
    assert not net.conv._forward_hooks  # hooks removed


def test_preprocessing_applied(net, stimuli):
    acts = extract_activations(
        net, stimuli, ["conv"], preprocessing={"size": 12, "mean": [0.5] * 3, "std": [2] * 3}
    )
    with torch.no_grad():
        x = torch.nn.functional.interpolate(
            torch.as_tensor(stimuli), size=12, mode="bilinear", align_corners=False
        )
        ref = net.conv((x - 0.5) / 2).flatten(1).numpy()
    np.testing.assert_allclose(acts["conv"], ref, rtol=1e-5, atol=1e-6)


def test_reductions(net, stimuli):
    full = extract_activations(net, stimuli, ["conv"])["conv"]
    srp = extract_activations(
        net, stimuli, ["conv"], reduction="srp", n_components=20, batch_size=4
    )["conv"]
    assert srp.shape == (10, 20)
    pca = extract_activations(
        net, stimuli, ["conv"], reduction="pca", n_components=5, batch_size=10
    )["conv"]
    from sklearn.decomposition import PCA

    ref = PCA(5).fit_transform(full)
    np.testing.assert_allclose(np.abs(pca), np.abs(ref), rtol=1e-4, atol=1e-4)


def test_cache_hit_and_key_changes(net, stimuli, tmp_path):
    a = extract_activations(net, stimuli, ["conv"], cache_dir=tmp_path, batch_size=5)
    calls = net.calls
    b = extract_activations(net, stimuli, ["conv"], cache_dir=tmp_path, batch_size=5)
    assert net.calls == calls  # served from cache
    np.testing.assert_array_equal(a["conv"], b["conv"])
    extract_activations(net, stimuli, ["conv"], cache_dir=tmp_path, preprocessing={"scale": 2.0})
    h = weights_hash(net)
    with torch.no_grad():
        net.conv.bias += 1.0
    assert weights_hash(net) != h
    c = extract_activations(net, stimuli, ["conv"], cache_dir=tmp_path)
    assert not np.allclose(c["conv"], a["conv"])
    assert len(list(tmp_path.glob("activations_*.npz"))) == 3


def test_load_weights_safe(net, tmp_path):
    other = TinyCNN()
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    load_weights(other, tmp_path / "ckpt.pt")
    assert weights_hash(other) == weights_hash(net)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(DataFormatError, match="weights_only=True"):
        load_weights(other, tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError):
        load_weights(other, tmp_path / "missing.pt")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layers": ["nope"]}, ConfigError, "got \\['nope'\\]"),
        ({"layers": []}, ConfigError, "'layers'"),
        ({"reduction": "umap"}, ConfigError, "got 'umap'"),
        ({"preprocessing": {"resize": 3}}, ConfigError, "\\['resize'\\]"),
        ({"batch_size": 0}, ConfigError, "'batch_size'"),
        ({"stimuli": np.zeros(3)}, DataFormatError, "stimulus axis first"),
    ],
)
def test_bad_inputs(net, stimuli, kwargs, error, match):
    args = {"stimuli": stimuli, "layers": ["conv"], **kwargs}
    with pytest.raises(error, match=match):
        extract_activations(net, args.pop("stimuli"), args.pop("layers"), **args)
