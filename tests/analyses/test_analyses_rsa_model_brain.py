"""Shape-task stimuli, SmallCNN, training, and per-layer network-vs-brain comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.analyses.rsa import RDMs, compare_rdms, compute_rdm
from neurodl.analyses.rsa.activations import extract_activations
from neurodl.analyses.rsa.model_brain import compare_network_with_brain, layer_rdms
from neurodl.analyses.rsa.stimuli import SHAPES, make_shape_stimuli
from neurodl.analyses.rsa.training import (
    as_image_batch,
    train_network,
    train_shape_network,
    untrained_copy,
)
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models.vision import VISION_MODELS, SmallCNN, build_vision_model

# ----------------------------------------------------------------------------- stimuli


def test_stimuli_deterministic_balanced_in_range():
    a = make_shape_stimuli(6, image_size=20, seed=3)
    b = make_shape_stimuli(6, image_size=20, seed=3)
    c = make_shape_stimuli(6, image_size=20, seed=4)
    assert a.X.shape == (6 * len(SHAPES), 3, 20, 20) and a.X.dtype == np.float32
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert np.bincount(a.y).tolist() == [6] * len(SHAPES)
    assert a.X.min() >= 0.0 and a.X.max() <= 1.0
    assert a.classes == list(SHAPES)
    assert set(a.params) == {"x", "y", "scale", "rotation", "aspect", "textured"}
    assert all(len(v) == len(a) for v in a.params.values())


def test_stimuli_shape_is_where_the_parameters_say():
    # no clutter/noise/texture: the shape's pixels differ from the background around its centre
    s = make_shape_stimuli(
        4, classes=["disk", "square"], image_size=32, n_clutter=0, noise=0.0, texture_prob=0.0
    )
    for i in range(len(s)):
        col = int((s.params["x"][i] + 1) / 2 * 32)
        row = int((s.params["y"][i] + 1) / 2 * 32)
        centre, corner = s.X[i, :, row, col], s.X[i, :, 0, 0]
        assert np.abs(centre - corner).max() > 0.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_class": 0}, "'n_per_class' must be an integer >= 1; got 0"),
        ({"image_size": 4}, "'image_size' must be an integer >= 8; got 4"),
        ({"classes": ["disk", "blob"]}, r"'classes'.*got \['disk', 'blob'\]"),
        ({"classes": ["disk"]}, "at least 2 distinct"),
        ({"scale_range": (0.7, 0.2)}, "'scale_range' must satisfy"),
        ({"scale_range": 3}, "'scale_range' must be a \\(min, max\\) pair"),
        ({"noise": -1.0}, "'noise' must be a finite number >= 0"),
        ({"texture_prob": 2.0}, "'texture_prob' must be in"),
    ],
)
def test_stimuli_bad_input(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_shape_stimuli(**{"n_per_class": 2, **kwargs})


# ----------------------------------------------------------------------------- network


def test_small_cnn_shapes_and_names():
    net = SmallCNN(n_classes=5, image_size=32, channels=(8, 16, 16))
    out = net(torch.rand(3, 3, 32, 32))
    assert out.shape == (3, 5)
    assert net.layer_names == ["conv1", "conv2", "conv3", "fc"]
    acts = extract_activations(
        net, np.random.default_rng(0).random((4, 3, 32, 32)), net.layer_names
    )
    assert acts["conv1"].shape == (4, 8 * 16 * 16) and acts["conv3"].shape == (4, 16 * 4 * 4)
    assert acts["fc"].shape == (4, 5)
    assert "small_cnn" in VISION_MODELS


def test_build_vision_model_seeded_and_leaves_global_rng():
    state = torch.random.get_rng_state()
    a = build_vision_model("small_cnn", n_classes=3, image_size=16, seed=1, channels=(4, 8))
    b = build_vision_model("small_cnn", n_classes=3, image_size=16, seed=1, channels=(4, 8))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: SmallCNN(n_classes=0), ConfigError, "'n_classes' must be a positive integer"),
        (lambda: SmallCNN(channels=()), ConfigError, "'channels' must be a non-empty"),
        (lambda: SmallCNN(kernel_size=4), ConfigError, "'kernel_size' must be an odd"),
        (lambda: SmallCNN(image_size=8, channels=(4, 4, 4, 4)), DataFormatError, "= 16 for 4"),
        (
            lambda: build_vision_model("small_cn", n_classes=2, image_size=16),
            ConfigError,
            "Did you mean 'small_cnn'",
        ),
        (
            lambda: build_vision_model("small_cnn", n_classes=2, image_size=16, width=3),
            ConfigError,
            "Invalid hyperparameters",
        ),
        (
            lambda: SmallCNN(image_size=32)(torch.rand(2, 32, 32, 3)),
            DataFormatError,
            r"expects images of shape \(batch, 3, 32, 32\); got \(2, 32, 32, 3\)",
        ),
    ],
)
def test_network_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_training_lowers_the_loss_and_beats_chance_on_held_out_stimuli():
    model, untrained, res = train_shape_network(
        architecture_params={"channels": (8, 16, 32)},
        classes=["disk", "bar"],
        n_per_class=150,
        n_test_per_class=50,
        image_size=24,
        epochs=6,
        batch_size=32,
        lr=1e-2,
        seed=0,
    )
    assert len(res.losses) == 6 and res.losses[-1] < res.losses[0] - 0.1
    assert res.chance == 0.5 and res.n_test == 100
    # 100 held-out images drawn with another seed: P(acc >= 0.6 | chance 0.5) = 0.028
    assert res.test_accuracy >= 0.6
    # the untrained twin is the network's initial state: same architecture, other weights
    assert untrained.layer_names == model.layer_names
    assert not torch.equal(untrained.fc.weight, model.fc.weight)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": np.array([0, 1])}, DataFormatError, "same number"),
        ({"y": np.array([0.5, 1, 0, 1])}, DataFormatError, "integer class labels"),
        ({"epochs": 0}, ConfigError, "'epochs' must be an integer >= 1; got 0"),
        ({"X_test": np.zeros((2, 3, 16, 16))}, ConfigError, "given together"),
    ],
)
def test_train_network_bad_input(kwargs, error, match):
    net = SmallCNN(n_classes=2, image_size=16, channels=(4,))
    args = {"X": np.zeros((4, 3, 16, 16), np.float32), "y": np.array([0, 1, 0, 1]), **kwargs}
    with pytest.raises(error, match=match):
        train_network(net, args.pop("X"), args.pop("y"), **args)


# ----------------------------------------------------------------------------- comparison


def _tiny_net(seed=0):
    return build_vision_model("small_cnn", n_classes=3, image_size=16, seed=seed, channels=(4, 8))


def _images(n=12, size=20, seed=0):
    return np.random.default_rng(seed).random((n, 3, size, size)).astype(np.float32)


def _brain_from(net, images, layer, n_subjects, noise, seed=0):
    """Subject RDMs = the given layer's RDM plus noise (planted best layer)."""
    rdm = layer_rdms(net, images, [layer], preprocessing={"size": (16, 16)}).dissimilarities[0]
    rng = np.random.default_rng(seed)
    subj = rdm[None] + noise * rng.standard_normal((n_subjects, rdm.size)) * rdm.std()
    return RDMs(subj)


def test_layer_rdms_match_independent_oracle():
    net, X = _tiny_net(), _images()
    rdms = layer_rdms(net, X, ["conv1", "fc"], preprocessing={"size": (16, 16)}, prefix="t:")
    assert rdms.names == ["t:conv1", "t:fc"] and rdms.n_conditions == 12
    acts = extract_activations(net, X, ["fc"], preprocessing={"size": (16, 16)})
    from scipy.spatial.distance import pdist

    np.testing.assert_allclose(rdms.dissimilarities[1], pdist(acts["fc"], "correlation"))


def test_compare_network_with_brain_structure_and_planted_layer():
    net, X = _tiny_net(), _images()
    brain = {
        "hIT": _brain_from(net, X, "conv2", n_subjects=3, noise=0.5),
        "mIT": _brain_from(net, X, "conv2", n_subjects=1, noise=0.2, seed=1),
    }
    res = compare_network_with_brain(
        net, X, brain, preprocessing={"size": (16, 16)}, n_bootstrap=60, seed=0
    )
    assert res.layers == ["conv1", "conv2", "fc"] and res.networks == ["trained", "untrained"]
    assert res.areas == ["hIT", "mIT"]
    for area in res.areas:
        sc = res.scores(area, "trained")
        assert sc.shape == (3,) and int(np.argmax(sc)) == 1  # the planted layer wins
        assert res.ci(area, "trained").shape == (3, 2)
        assert set(res.control_tests[area]) == {"diff", "p", "p_fdr"}
    # oracle: score = mean over subjects of Pearson r(layer RDM, subject RDM)
    expect = compare_rdms(res.rdms["trained"], brain["hIT"]).mean(axis=1)
    np.testing.assert_allclose(res.scores("hIT", "trained"), expect, atol=1e-12)
    # hIT has 3 subjects: finite noise ceiling; mIT has one RDM: ceiling undefined (NaN)
    assert np.isfinite(res.results["hIT"].noise_ceiling.lower)
    assert np.isnan(res.results["mIT"].noise_ceiling.lower)
    d = res.to_dict()
    per = d["areas"]["hIT"]["networks"]["trained"]["per_layer"]
    assert (
        list(per) == res.layers
        and d["areas"]["hIT"]["networks"]["trained"]["best_layer"] == "conv2"
    )
    assert d["areas"]["mIT"]["noise_ceiling"]["lower"] is None
    with pytest.raises(ConfigError, match="Allowed: \\['hIT', 'mIT'\\]"):
        res.scores("V4", "trained")


def test_untrained_copy_reinitialises_and_user_weights_reproduce(tmp_path):
    net, X = _tiny_net(seed=0), _images()
    with torch.no_grad():
        net.fc.weight.add_(1.0)  # pretend it was trained
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a, b = untrained_copy(net, seed=5), untrained_copy(net, seed=5)
    assert torch.equal(a.fc.weight, b.fc.weight) and not torch.equal(a.fc.weight, net.fc.weight)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    # a user's own module + weights file + layer names reproduces the in-memory result
    path = tmp_path / "w.pt"
    torch.save(net.state_dict(), path)
    brain = {"hIT": _brain_from(net, X, "conv1", n_subjects=2, noise=1.0)}
    kw = {"layers": ["conv2", "fc"], "preprocessing": {"size": (16, 16)}, "bootstrap": None}
    direct = compare_network_with_brain(net, X, brain, control=False, **kw)
    loaded = compare_network_with_brain(_tiny_net(seed=9), X, brain, weights=path, **kw)
    np.testing.assert_allclose(
        loaded.scores("hIT", "trained"), direct.scores("hIT", "trained"), atol=1e-12
    )
    assert loaded.networks == ["trained", "untrained"] and direct.networks == ["trained"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"layers": ["conv9"]},
            ConfigError,
            r"'layers'. Allowed: \[.*'conv1'.*\]; got \['conv9'\]",
        ),
        ({"images": np.zeros((12, 20, 20))}, DataFormatError, r"got shape \(12, 20, 20\)"),
        (
            {"images": np.zeros((12, 3, 20, 20)), "preprocessing": None},
            DataFormatError,
            r"expects images of shape \(batch, 3, 16, 16\); got \(12, 3, 20, 20\)",
        ),
        ({"images": np.zeros((10, 3, 16, 16))}, DataFormatError, "12 conditions but 10 images"),
        ({"brain": {}}, ConfigError, "non-empty mapping"),
        ({"brain": {"hIT": np.zeros((2, 66))}}, DataFormatError, "must be an RDMs object"),
        ({"method": {"V4": "pearson"}}, ConfigError, "no comparison method for areas"),
        ({"method": "pearsn"}, ConfigError, "'method'"),
    ],
)
def test_compare_network_with_brain_bad_input(kwargs, error, match):
    net = _tiny_net()
    args = {
        "images": _images(),
        "brain": {"hIT": RDMs(np.random.default_rng(0).random((2, 66)))},
        "preprocessing": {"size": (16, 16)},
        "bootstrap": None,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        compare_network_with_brain(net, args.pop("images"), args.pop("brain"), **args)


def test_model_without_layer_names_needs_layers():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 4))
    brain = {"hIT": RDMs(np.random.default_rng(0).random((2, 66)))}
    with pytest.raises(ConfigError, match=r"'layers' is required.*Available: \['0', '1'\]"):
        compare_network_with_brain(net, _images(size=16), brain, bootstrap=None)
    res = compare_network_with_brain(net, _images(size=16), brain, layers=["1"], bootstrap=None)
    assert res.scores("hIT", "trained").shape == (1,)


def test_as_image_batch():
    u8 = np.full((2, 5, 5, 3), 255, np.uint8)
    out = as_image_batch(u8)
    assert out.shape == (2, 3, 5, 5) and out.dtype == np.float32 and out.max() == 1.0
    assert as_image_batch(np.zeros((2, 3, 5, 5))).shape == (2, 3, 5, 5)
    with pytest.raises(DataFormatError, match="NaN"):
        as_image_batch(np.full((1, 3, 4, 4), np.nan))
    # compute_rdm oracle sanity: the images' own RDM is defined
    assert compute_rdm(out.reshape(2, -1) + np.arange(75)).n_conditions == 2
